/**
 * `multi_file_chat`: a model call over files named by path, read only from the root folders.
 */
import * as z from 'zod';
import type { ChatMessage } from '../../providers/port.js';
import { DEFAULT_FILE_LIMITS, type FileLimits } from '../context.js';
import { keepConversation, keptLine } from '../conversation-scope.js';
import { toolErrorInfo } from '../errors.js';
import { MAX_PATH_CHARS, readFilesUnderRoots } from '../files.js';
import { runSession } from '../run-session.js';
import {
  continuationIdSchema,
  modelCallFields,
  outcomeFields,
  partialAnswerSchema,
  sessionMetadataSchema,
  systemSchema,
} from '../schemas.js';
import { errorOutcome, type TroupeTool } from '../tool.js';
import { askedOf, priorTurns, runOnHeldModel, sessionRequest } from './chat.js';
import { answerFields, failureOutcome, finishSentences, metadataLine } from './session-result.js';

const input = z.strictObject({
  files: z
    .array(z.string().min(1))
    .min(1)
    .describe(
      'File paths, absolute or relative to the first root folder; each must be inside a root folder.',
    ),
  prompt: z.string().min(1).describe('What to ask about the files.'),
  system: systemSchema,
  continuation_id: continuationIdSchema.describe(
    'Continue a conversation this server holds (the `continuation_id` of an earlier answer): it keeps the prompts and answers, not the files, so name the files again.',
  ),
  ...modelCallFields,
});

const output = z.object({
  ...outcomeFields,
  content: z.string().optional(),
  reasoning: z.string().optional(),
  finish_reason: z.string().optional(),
  files: z.array(z.string()).optional().describe('The files that were read.'),
  bytes: z.number().optional(),
  continuation_id: z
    .string()
    .optional()
    .describe(
      'Pass it back (with the files again) to continue: it keeps the prompts and answers, not the files.',
    ),
  forked_from: z
    .string()
    .optional()
    .describe('The conversation continued, when another call continued it meanwhile (this one forked).'),
  not_kept: z.string().optional().describe('Why there is no continuation_id.'),
  session: sessionMetadataSchema.optional(),
  partial_answer: partialAnswerSchema.optional(),
});

/**
 * What the model reads before calling: where files may be, and every cap the call is refused past,
 * this server's. Until 2026-12-07 it said only "Files are capped in size", and a model learnt the
 * 20-file cap by being refused.
 */
function describeFiles(limits: Required<FileLimits>): string {
  return (
    'A model call over files given by path. Only files inside the root folders configured on the server ' +
    '(TROUPE_ROOTS) are read; a path outside them (also through `..` or a symlink) refuses the call and ' +
    'nothing is read. Hidden files (a path part starting with a dot, such as .env or .git/config) are never read. ' +
    `At most ${limits.maxFiles} files a call, ${MAX_PATH_CHARS} characters a path, ${sizeOf(limits.maxFileBytes)} a file ` +
    `and ${sizeOf(limits.maxTotalBytes)} for all the files of a call; past any of them the call is refused and nothing is sent.`
  );
}

/** `262144 bytes (256 KiB)`: the exact bound, and its size in KiB or MiB when whole. */
function sizeOf(bytes: number): string {
  const unit =
    bytes % 1048576 === 0 ? `${bytes / 1048576} MiB` : bytes % 1024 === 0 ? `${bytes / 1024} KiB` : '';
  return `${bytes} bytes${unit === '' ? '' : ` (${unit})`}`;
}

export const multiFileChatTool: TroupeTool<typeof input, typeof output> = {
  name: 'multi_file_chat',
  title: 'Chat over files',
  description: describeFiles(DEFAULT_FILE_LIMITS),
  describe: (mcp) => describeFiles(mcp.files),
  input,
  output,
  longRunning: true,
  readOnly: true,
  async run(args, mcp, call) {
    const prior = await priorTurns(mcp, args.continuation_id, call.caller);
    if (!prior.ok) return prior.outcome;
    const read = await readFilesUnderRoots(args.files, mcp.roots, mcp.files);
    if (!read.ok) return errorOutcome(toolErrorInfo(read.error.toData()));
    const turn: ChatMessage[] = [
      ...(args.system === undefined ? [] : [{ role: 'system' as const, content: args.system }]),
      { role: 'user', content: args.prompt },
    ];
    // As `chat`: over the conversation cap, a continued conversation is refused, a call alone keeps none.
    const oversized = mcp.conversations.check(prior.messages, turn);
    if (oversized !== undefined && args.continuation_id !== undefined)
      return errorOutcome(toolErrorInfo(oversized.toData()));
    const messages: ChatMessage[] = [...prior.messages, ...turn];
    const outcome = await runOnHeldModel(args, prior.model, mcp, (on) =>
      runSession(mcp, call, { ...sessionRequest(on, messages), files: read.files }, 'multi_file_chat', args),
    );
    const fields = answerFields(outcome);
    if (!fields.ok) return failureOutcome(fields);
    const { tool_calls: _ignored, ...answer } = fields;
    const said = `${fields.content ?? ''}${finishSentences(fields)}${metadataLine(fields.session)}`;
    const kept = await keepConversation(
      mcp,
      call.caller,
      [...messages, { role: 'assistant', content: fields.content ?? '' }],
      fields.session === undefined ? undefined : askedOf(fields.session),
      args.continuation_id,
      oversized,
      prior.messages,
    );
    return {
      structured: { ...answer, files: args.files, bytes: read.bytes, ...kept },
      text: `${said}\n${keptLine(kept)}`,
    };
  },
};
