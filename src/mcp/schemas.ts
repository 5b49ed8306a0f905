/**
 * Zod schemas shared by the tools: chat messages in, session metadata and errors out.
 * Output objects are loose (`z.looseObject`) so fields the runtime adds later still validate.
 */
import * as z from 'zod';
import { MAX_FALLBACKS, MAX_NAME_CHARS } from '../core/metadata.js';
import { answersToolCall, contentFits } from '../runtime/request-check.js';

export const toolCallSchema = z.object({
  id: z.string(),
  type: z.string().describe('`function`, or a vendor kind such as Kimi `builtin_function`, kept as sent.'),
  function: z.object({ name: z.string(), arguments: z.string() }),
});

export const chatMessageSchema = z
  .object({
    role: z.enum(['system', 'user', 'assistant', 'tool']),
    content: z.string().nullable(),
    name: z.string().optional(),
    tool_call_id: z.string().optional(),
    tool_calls: z.array(toolCallSchema).optional(),
    reasoning_content: z.string().optional(),
    partial: z
      .boolean()
      .optional()
      .describe('Kimi partial mode: the model continues this last assistant message.'),
  })
  // As the runtime checks them (`src/runtime/request-check.ts`), here so the error names the
  // client's own message, before `system` or a continuation's history is put in front.
  .superRefine((message, ctx) => {
    if (!contentFits(message.content, message.role)) {
      ctx.addIssue({
        // Stryker disable next-line StringLiteral: the code is read by nobody; `parseArgs` words this issue by its message, which it keeps.
        code: 'custom',
        path: ['content'],
        message: 'Expected a string (null only on an assistant message)',
      });
    }
    if (!answersToolCall(message.role, message.tool_call_id)) {
      ctx.addIssue({
        // Stryker disable next-line StringLiteral: as above.
        code: 'custom',
        path: ['tool_call_id'],
        message: 'Expected the id of the tool call this tool message answers',
      });
    }
  });

/** Tool definitions for the model pass through as given (OpenAI shape or vendor kinds). */
export const toolDefinitionSchema = z.looseObject({ type: z.string() });

/**
 * Longest model id a tool takes. Some providers pass any id through (Kimi, OpenAI-compatible
 * servers), and a session keeps its model in its metadata, the ended-session history and the
 * event stream: 150 calls with 3.9 MB ids held 780 MB (of a history of 1,000). The runtime's own
 * bound on names (`MAX_NAME_CHARS`), said in the tools' schemas.
 */
export const MAX_MODEL_ID_LENGTH = MAX_NAME_CHARS;

/** A model id as the tools take it. */
export const modelIdSchema = z.string().min(1).max(MAX_MODEL_ID_LENGTH);

/**
 * A provider name as the tools take it, bounded as the runtime bounds it (`MAX_NAME_CHARS`). Until
 * 2026-12-07 only the runtime refused a longer one: in `consensus` that was one model's failure, so
 * the others were called and the answer echoed the name whole, twice (a 3 MB name: a 6 MB answer).
 */
export const providerNameSchema = z.string().min(1).max(MAX_NAME_CHARS);

/**
 * A session id a client names (`sessions`, `cancel_session`): the runtime's are 36-character UUIDs,
 * so 128 is room to spare, and a longer one is refused by the schema instead of echoed whole in
 * the tool's "not a live or recent session" error (an audit sent 100 KB and got it back).
 */
export const sessionIdSchema = z.string().min(1).max(128);

/** Where a session goes when its model cannot serve it (docs/routing.md). */
export const fallbacksSchema = z
  .array(
    z.object({
      provider: providerNameSchema.optional().describe('Provider name; default: whichever serves the model.'),
      model: modelIdSchema.describe('Model id (see list_models).'),
    }),
  )
  .max(MAX_FALLBACKS)
  .optional()
  .describe(
    `Up to ${MAX_FALLBACKS} models to try in order when the model is out of quota, down, unreachable, ` +
      'silent before its first delta, or its context window is too small. Never used once text has ' +
      "streamed. Default: the model's fallbacks in the providers file.",
  );

/** A system message for the model-calling tools. */
export const systemSchema = z.string().optional().describe('A system message put first.');

/**
 * `continuation_id` as `chat` and `multi_file_chat` take it: troupe's stores name a conversation
 * with a UUID (36 characters), and 256 leaves a store of one's own room. A longer one is refused by
 * the schema instead of sent to the store and echoed whole in the "unknown or expired" error, as
 * `sessionIdSchema`'s bound does (until 2026-12-07 any length was taken).
 */
export const continuationIdSchema = z
  .string()
  .max(MAX_NAME_CHARS)
  .optional()
  .describe(
    'Continue a conversation this server holds (the `continuation_id` of an earlier answer). It keeps the messages and the model the last turn was on (the one it asked for, when a fallback answered): a call naming neither `provider` nor `model` stays on it.',
  );

/** Options every model-calling tool accepts: which model, how it samples, how it is scheduled. */
export const modelCallFields = {
  provider: providerNameSchema
    .optional()
    .describe("Provider name (see list_models); default: the server's default provider."),
  model: modelIdSchema
    .optional()
    .describe(
      "Model id (see list_models); default: the server's default model, or with `provider` that provider's.",
    ),
  fallbacks: fallbacksSchema,
  temperature: z
    .number()
    .min(0)
    .max(2)
    .optional()
    .describe("Sampling temperature, 0 to 2 (higher: more varied); default: the model's own."),
  max_tokens: z
    .number()
    .int()
    .positive()
    .optional()
    .describe("Most tokens the model may generate (thinking included); default: the model's own."),
  thinking: z.enum(['enabled', 'disabled']).optional().describe('Thinking mode for models that have one.'),
  priority: z
    .number()
    .int()
    .min(0)
    .max(9)
    .optional()
    .describe(
      "Queue priority, 0 (lowest) to 9 (highest); default: the server's, which the tool's description states. Higher runs first when calls wait.",
    ),
  timeout_ms: z
    .number()
    .int()
    .positive()
    .max(3_600_000)
    .optional()
    .describe(
      "Run deadline in milliseconds, from when the call starts running (the wait in the queue has its own), at most 3600000 (1 hour); default: the server's, which the tool's description states.",
    ),
  extra: z
    .record(z.string(), z.unknown())
    .optional()
    .describe('Vendor-specific request body fields, sent to the provider unchanged.'),
};

export const usageSchema = z.looseObject({
  promptTokens: z.number(),
  completionTokens: z.number(),
  totalTokens: z.number(),
});

export const sessionMetadataSchema = z.looseObject({
  sessionId: z.string(),
  requestId: z.string(),
  provider: z.string(),
  model: z.string(),
  priority: z.number(),
  state: z.string(),
  queuedMs: z.number(),
  runMs: z.number(),
  totalMs: z.number(),
  attempts: z.number(),
  usage: usageSchema.optional(),
  cost: z
    .looseObject({ amount: z.number(), currency: z.string() })
    .optional()
    .describe(
      "What the usage cost at the model's price, in the price's currency; absent for a model without a price.",
    ),
  code: z.string().optional(),
  label: z.string().optional(),
  caller: z.record(z.string(), z.unknown()).optional(),
  truncated: z.boolean().optional(),
  finishReason: z.string().optional(),
  notes: z
    .array(z.string())
    .optional()
    .describe('What the provider adapter changed in the request (a dropped or adjusted parameter), and why.'),
  waitingFor: z
    .string()
    .optional()
    .describe(
      'On a session that timed out waiting: the limit that held it back (`requestsPerMinute`, `tokensPerMinute`, `tokensPerDay`, `cooldown`, `maxConcurrent`, `maxRunningPerCaller`).',
    ),
  route: z
    .array(z.looseObject({ provider: z.string(), model: z.string(), outcome: z.string(), ms: z.number() }))
    .optional()
    .describe('With fallbacks: every model called or skipped, in order, and how its turn ended.'),
});

export const toolErrorSchema = z.looseObject({
  code: z.string(),
  message: z.string(),
  hint: z.string(),
  retryable: z.boolean(),
  retry_after_ms: z.number().optional(),
  timeout: z.string().optional(),
});

export const sessionSummarySchema = z.looseObject({
  sessionId: z.string(),
  requestId: z.string(),
  provider: z.string(),
  model: z.string(),
  priority: z.number(),
  state: z.string(),
  label: z.string().optional(),
  createdAt: z.number(),
  startedAt: z.number().optional(),
  endedAt: z.number().optional(),
  attempts: z.number(),
  code: z.string().optional(),
});

/** What a streamed answer had written when its session ended without finishing (`SessionResult.partial`). */
export const partialAnswerSchema = z
  .object({ content: z.string(), reasoning: z.string().optional() })
  .describe(
    'On a failed, timed-out or cancelled call whose answer had begun streaming: the text (and reasoning) written so far. Not a whole answer.',
  );

/** The fields every tool's `structuredContent` has: `ok`, and `error` when it is not. */
export const outcomeFields = {
  ok: z.boolean(),
  error: toolErrorSchema.optional(),
};
