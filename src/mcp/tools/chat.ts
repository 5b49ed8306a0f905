/**
 * `chat`: one model call, optionally continuing a conversation the server holds.
 */
import * as z from 'zod';
import { runtimeError } from '../../core/errors.js';
import type { ConversationModel } from '../../ports/conversation-store.js';
import type { ChatMessage } from '../../providers/port.js';
import type { SessionRequest } from '../../runtime/types.js';
import type { Caller } from '../caller.js';
import { logStoreFailure, type McpContext } from '../context.js';
import { keepConversation, keptLine, loadConversation } from '../conversation-scope.js';
import { toolErrorInfo } from '../errors.js';
import { runSession, type SessionOutcome, streams } from '../run-session.js';
import {
  chatMessageSchema,
  continuationIdSchema,
  modelCallFields,
  outcomeFields,
  partialAnswerSchema,
  sessionMetadataSchema,
  systemSchema,
  toolCallSchema,
  toolDefinitionSchema,
} from '../schemas.js';
import { errorOutcome, type ToolOutcome, type TroupeTool } from '../tool.js';
import { answerFields, answerOf, failureOutcome, finishSentences, metadataLine } from './session-result.js';

const input = z
  .strictObject({
    prompt: z
      .string()
      .min(1)
      .optional()
      .describe(
        'The user message; or give `messages` (with both, it goes after them as the last user turn).',
      ),
    messages: z.array(chatMessageSchema).min(1).optional().describe('A whole conversation, OpenAI style.'),
    system: systemSchema,
    continuation_id: continuationIdSchema,
    tools: z
      .array(toolDefinitionSchema)
      .optional()
      .describe('Tool definitions passed to the model as given.'),
    tool_choice: z
      .unknown()
      .optional()
      .describe(
        'How the model may use `tools`: `"auto"`, `"none"`, `"required"` or `{ "type": "function", "function": { "name": "..." } }`; passed to the model as given.',
      ),
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
  forked_from: z
    .string()
    .optional()
    .describe(
      'The conversation this call continued, when another call continued it meanwhile: this answer went on in a new one (continuation_id).',
    ),
  not_kept: z
    .string()
    .optional()
    .describe(
      'Why there is no continuation_id: the call alone is over what a conversation may hold, or the store failed.',
    ),
  session: sessionMetadataSchema.optional(),
  partial_answer: partialAnswerSchema.optional(),
});

export type ChatArgs = z.output<typeof input>;

/** The request fields of every model-calling tool, copied from its arguments when given. */
const MODEL_FIELDS = [
  'provider',
  'model',
  'fallbacks',
  'temperature',
  'max_tokens',
  'thinking',
  'tools',
  'tool_choice',
  'extra',
] as const;

/**
 * The session request of a model-calling tool: `messages` and the model fields the caller gave,
 * in one object built field by field (conditional spreads made a throwaway object per field), and
 * `stream` when the tool knows it (`runSession` sets it otherwise, on a copy).
 */
export function sessionRequest(
  args: Pick<ChatArgs, (typeof MODEL_FIELDS)[number]>,
  messages: readonly ChatMessage[],
  stream?: boolean,
): SessionRequest {
  const request: Record<string, unknown> = { messages };
  // Set here when known, so `runSession` need not copy the request to add it.
  if (stream !== undefined) request.stream = stream;
  for (const key of MODEL_FIELDS) {
    const value = args[key];
    if (value !== undefined) request[key] = value;
  }
  return request as unknown as SessionRequest;
}

/**
 * Earlier turns for `continuation_id` and the model the last was on, or the tool error when
 * it is unknown or expired, or the store failed to read it (`BACKEND_UNAVAILABLE`; its error goes
 * to the log, as a failed save's does: until 2026-12-07 the call ended `INTERNAL` with it).
 */
export async function priorTurns(
  mcp: McpContext,
  continuationId: string | undefined,
  caller: Caller | undefined,
): Promise<
  | { ok: true; messages: readonly ChatMessage[]; model?: ConversationModel | undefined }
  | { ok: false; outcome: ToolOutcome }
> {
  if (continuationId === undefined) return { ok: true, messages: NO_MESSAGES };
  let held: Awaited<ReturnType<typeof loadConversation>>;
  try {
    held = await loadConversation(mcp, caller, continuationId);
  } catch (failure) {
    logStoreFailure(mcp.log, 'conversation store', failure);
    const error = runtimeError(
      'BACKEND_UNAVAILABLE',
      'Expected the conversation store to read `continuation_id`, got a failure (the server log says why); nothing was sent to a model',
    );
    return { ok: false, outcome: errorOutcome(toolErrorInfo(error.toData())) };
  }
  if (held !== undefined) return { ok: true, messages: held.messages, model: held.model };
  const error = runtimeError(
    'INVALID_REQUEST',
    `Expected \`continuation_id\` to name a conversation this server holds, got "${continuationId}": unknown or expired. Start a new conversation without it.`,
  );
  return { ok: false, outcome: errorOutcome(toolErrorInfo(error.toData())) };
}

/**
 * The arguments of a call continuing a conversation: when they name neither `provider` nor
 * `model`, the provider and model its last turn was on (`held`, `askedOf`), as long as this server
 * still has that provider (a conversation kept in Redis may be continued by an instance configured
 * otherwise); else as given, so the call goes to the default as any other.
 */
function onHeldModel<A extends { readonly provider?: string; readonly model?: string }>(
  args: A,
  held: ConversationModel | undefined,
  mcp: McpContext,
): A {
  if (held === undefined || args.provider !== undefined || args.model !== undefined) return args;
  if (!mcp.runtime.providers.includes(held.provider)) return args;
  // A model the catalogue no longer has goes to the default without a refused submission first.
  if (mcp.catalog.lacks?.(held.provider, held.model) === true) return args;
  return { ...args, provider: held.provider, model: held.model };
}

/**
 * Runs a model-calling tool's session on the conversation's held model (`onHeldModel`); one the
 * runtime refuses as unknown (a catalogue changed since) runs again as given, on the default, as
 * for a provider this server lacks. troupe's catalog tells such a model first (`lacks`), so the
 * retry is for catalogs that cannot, whose refusal counts in `metrics().rejected`.
 */
export function runOnHeldModel<A extends { readonly provider?: string; readonly model?: string }>(
  args: A,
  held: ConversationModel | undefined,
  mcp: McpContext,
  run: (args: A) => Promise<SessionOutcome>,
): Promise<SessionOutcome> {
  const on = onHeldModel(args, held, mcp);
  // Not moved (a new conversation, or one naming its model): nothing to run again, so its promise
  // as it is, without a frame of this function waiting on it (every plain `chat` call).
  if (on === args) return run(args);
  return run(on).then((outcome) =>
    outcome.kind !== 'refused' || outcome.error.code !== 'MODEL_NOT_FOUND' ? outcome : run(args),
  );
}

/**
 * The model a conversation stays on after a turn: the one the turn asked for (its route's first
 * target), not a fallback that answered while it was down, so one outage does not move the
 * conversation off it for good (and its own fallbacks, from the providers file, still apply).
 */
export function askedOf(metadata: {
  readonly provider: string;
  readonly model: string;
  readonly route?: readonly { readonly provider: string; readonly model: string; readonly outcome: string }[];
}): ConversationModel {
  // Not a target whose window the conversation did not fit: it only grows, and would be refused there.
  const first = metadata.route?.find((hop) => hop.outcome !== 'CONTEXT_TOO_LONG') ?? metadata;
  return { provider: first.provider, model: first.model };
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
    let prior: readonly ChatMessage[] = NO_MESSAGES;
    let held: ConversationModel | undefined;
    if (args.continuation_id !== undefined) {
      const found = await priorTurns(mcp, args.continuation_id, call.caller);
      if (!found.ok) return found.outcome;
      prior = found.messages;
      held = found.model;
    }
    const turn: ChatMessage[] = [];
    if (args.system !== undefined && !prior.some((m) => m.role === 'system'))
      turn.push({ role: 'system', content: args.system });
    if (args.messages !== undefined) for (const message of args.messages) turn.push(message);
    if (args.prompt !== undefined) turn.push({ role: 'user', content: args.prompt });
    // A turn over the conversation cap can never be kept. A conversation continued is refused; a
    // call on its own runs, with no conversation to continue (it was refused, whatever the model's window).
    const oversized = mcp.conversations.check(prior, turn);
    if (oversized !== undefined && args.continuation_id !== undefined)
      return errorOutcome(toolErrorInfo(oversized.toData()));
    const messages = prior.length === 0 ? turn : [...prior, ...turn];
    // Streamed with progress or as a task (`streams`); otherwise one whole answer is enough.
    const outcome = await runOnHeldModel(args, held, mcp, (on) =>
      runSession(mcp, call, sessionRequest(on, messages, streams(call)), 'chat', args),
    );
    if (outcome.kind === 'refused') return errorOutcome(toolErrorInfo(outcome.error));
    const { result } = outcome;
    if (!result.ok) return failureOutcome(answerFields(outcome));
    const answer = answerOf(result);
    const reply: { -readonly [K in keyof ChatMessage]: ChatMessage[K] } = {
      role: 'assistant',
      content: result.content,
    };
    if (result.toolCalls !== undefined) reply.tool_calls = result.toolCalls as ChatMessage['tool_calls'];
    // Kimi thinking models refuse a tool-call turn that comes back without its reasoning.
    if (result.reasoning !== undefined) reply.reasoning_content = result.reasoning;
    const kept = await keepConversation(
      mcp,
      call.caller,
      messages.concat(reply),
      askedOf(result.metadata),
      args.continuation_id,
      oversized,
      prior,
    );
    Object.assign(answer, kept);
    return {
      structured: answer,
      text: `${result.content}${finishSentences(answer)}${metadataLine(result.metadata)}\n${keptLine(kept)}`,
    };
  },
};

const NO_MESSAGES: readonly ChatMessage[] = Object.freeze([]);
