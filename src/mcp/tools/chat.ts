/**
 * `chat`: one model call, optionally continuing a conversation the server holds.
 */
import * as z from 'zod';
import { runtimeError } from '../../core/errors.js';
import type { ChatMessage } from '../../providers/port.js';
import type { SessionRequest, SubmitOptions } from '../../runtime/types.js';
import type { McpContext } from '../context.js';
import { toolErrorInfo } from '../errors.js';
import { runSession } from '../run-session.js';
import {
  chatMessageSchema,
  modelCallFields,
  outcomeFields,
  sessionMetadataSchema,
  toolCallSchema,
  toolDefinitionSchema,
} from '../schemas.js';
import { errorOutcome, type ToolOutcome, type TroupeTool } from '../tool.js';
import { answerFields, finishSentences, metadataLine } from './session-result.js';

const input = z
  .object({
    prompt: z.string().min(1).optional().describe('The user message; or give `messages`.'),
    messages: z.array(chatMessageSchema).min(1).optional().describe('A whole conversation, OpenAI style.'),
    system: z.string().optional().describe('A system message put first.'),
    continuation_id: z
      .string()
      .optional()
      .describe('Continue a conversation this server holds (returned by an earlier call).'),
    tools: z
      .array(toolDefinitionSchema)
      .optional()
      .describe('Tool definitions passed to the model as given.'),
    tool_choice: z.unknown().optional(),
    ...modelCallFields,
  })
  .refine((args) => args.prompt !== undefined || args.messages !== undefined, {
    message: 'Expected `prompt` or `messages`, got neither',
  });

const output = z.object({
  ...outcomeFields,
  content: z.string().optional(),
  reasoning: z.string().optional(),
  tool_calls: z.array(toolCallSchema).optional(),
  finish_reason: z.string().optional(),
  web_search: z
    .array(z.record(z.string(), z.unknown()))
    .optional()
    .describe('GLM web-search results (title, link, content, ...) as the vendor sent them.'),
  continuation_id: z.string().optional().describe('Pass it back to continue this conversation.'),
  session: sessionMetadataSchema.optional(),
});

export type ChatArgs = z.output<typeof input>;

/** Scheduling options shared by every model-calling tool. */
export function submitOptions(
  args: { priority?: number; timeout_ms?: number },
  label: string,
): SubmitOptions {
  return {
    label,
    ...(args.priority === undefined ? {} : { priority: args.priority }),
    ...(args.timeout_ms === undefined ? {} : { timeoutMs: args.timeout_ms }),
  };
}

/** The request fields shared by every model-calling tool. */
export function modelFields(args: Omit<ChatArgs, 'prompt' | 'messages'>): Omit<SessionRequest, 'messages'> {
  return {
    ...(args.provider === undefined ? {} : { provider: args.provider }),
    ...(args.model === undefined ? {} : { model: args.model }),
    ...(args.fallbacks === undefined ? {} : { fallbacks: args.fallbacks }),
    ...(args.temperature === undefined ? {} : { temperature: args.temperature }),
    ...(args.max_tokens === undefined ? {} : { max_tokens: args.max_tokens }),
    ...(args.thinking === undefined ? {} : { thinking: args.thinking }),
    ...(args.tools === undefined ? {} : { tools: args.tools }),
    ...(args.tool_choice === undefined ? {} : { tool_choice: args.tool_choice }),
    ...(args.extra === undefined ? {} : { extra: args.extra }),
  };
}

/** Earlier turns for `continuation_id`, or the tool error when it is unknown or expired. */
export async function priorTurns(
  mcp: McpContext,
  continuationId: string | undefined,
): Promise<{ ok: true; messages: readonly ChatMessage[] } | { ok: false; outcome: ToolOutcome }> {
  if (continuationId === undefined) return { ok: true, messages: [] };
  const messages = await mcp.conversations.get(continuationId);
  if (messages !== undefined) return { ok: true, messages };
  const error = runtimeError(
    'INVALID_REQUEST',
    `Expected \`continuation_id\` to name a conversation this server holds, got "${continuationId}": unknown or expired. Start a new conversation without it.`,
  );
  return { ok: false, outcome: errorOutcome(toolErrorInfo(error.toData())) };
}

export const chatTool: TroupeTool<typeof input, typeof output> = {
  name: 'chat',
  title: 'Chat with a model',
  description:
    'One model call, run as a troupe session (queued, limited, retried, cancellable). Give `prompt` or ' +
    '`messages`; pick `provider`/`model` (see list_models) or use the defaults. Returns the answer, the ' +
    'session metadata and a `continuation_id` to continue the conversation.',
  input,
  output,
  longRunning: true,
  readOnly: false,
  async run(args, mcp, call) {
    const prior = await priorTurns(mcp, args.continuation_id);
    if (!prior.ok) return prior.outcome;
    const turn: ChatMessage[] = [
      ...(args.system === undefined || prior.messages.some((m) => m.role === 'system')
        ? []
        : [{ role: 'system' as const, content: args.system }]),
      ...(args.messages ?? []),
      ...(args.prompt === undefined ? [] : [{ role: 'user' as const, content: args.prompt }]),
    ];
    const oversized = mcp.conversations.check(prior.messages, turn);
    if (oversized !== undefined) return errorOutcome(toolErrorInfo(oversized.toData()));
    const messages = [...prior.messages, ...turn];
    const outcome = await runSession(
      mcp,
      call,
      { ...modelFields(args), messages },
      submitOptions(args, 'chat'),
    );
    const fields = answerFields(outcome);
    if (!fields.ok)
      return errorOutcome(fields.error!, { ...(fields.session ? { session: fields.session } : {}) });
    const reply: ChatMessage = {
      role: 'assistant',
      content: fields.content ?? '',
      ...(fields.tool_calls === undefined
        ? {}
        : { tool_calls: fields.tool_calls as ChatMessage['tool_calls'] }),
      // Kimi thinking models refuse a tool-call turn that comes back without its reasoning.
      ...(fields.reasoning === undefined ? {} : { reasoning_content: fields.reasoning }),
    };
    const continuationId = await mcp.conversations.save([...messages, reply], args.continuation_id);
    return {
      structured: { ...fields, continuation_id: continuationId },
      text: `${fields.content ?? ''}${finishSentences(fields)}${metadataLine(fields.session)}\n[continuation_id ${continuationId}]`,
    };
  },
};
