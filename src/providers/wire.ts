/**
 * The OpenAI chat-completions wire format, both ways: port requests to request bodies, and
 * response bodies and stream chunks to port responses and deltas. Pure; validation failures are
 * `BAD_RESPONSE`s because they mean the server sent something that is not a chat completion.
 */
import { providerError } from '../core/errors.js';
import type {
  ChatDelta,
  ChatMessage,
  ChatRequest,
  ChatResponse,
  FinishReason,
  ThinkingMode,
  TokenUsage,
  ToolCall,
} from './port.js';

/** How `thinking` reaches the body. @default GLM's form, `{ thinking: { type } }` */
export type ThinkingMapper = (mode: ThinkingMode, model: string) => Readonly<Record<string, unknown>>;

export const glmThinking: ThinkingMapper = (mode) => ({ thinking: { type: mode } });

export interface BodyOptions {
  readonly stream: boolean;
  /** Adds `stream_options: { include_usage: true }` when streaming. @default true */
  readonly streamUsageOption?: boolean;
  readonly thinking?: ThinkingMapper;
  /** Messages placed before the first non-system message (prepared files). */
  readonly leadingMessages?: readonly ChatMessage[];
  /** The body field that carries `max_tokens` (Kimi documents `max_completion_tokens`). @default 'max_tokens' */
  readonly maxTokensField?: 'max_tokens' | 'max_completion_tokens';
  /**
   * An assistant message with `tool_calls` and no text (`null`, blank, or blank text parts) goes
   * without `content` (Moonshot answers 400 "text content is empty" to one). @default false
   */
  readonly omitEmptyToolCallContent?: boolean;
}

/**
 * The request body. `extra` goes first so that typed fields win over it, and `model`, `messages`
 * and `stream` cannot be overridden at all (they decide what the adapter parses).
 */
export function toRequestBody(request: ChatRequest, options: BodyOptions): Record<string, unknown> {
  const body: Record<string, unknown> = { ...(request.extra ?? {}) };
  if (request.tools !== undefined) body.tools = request.tools;
  if (request.tool_choice !== undefined) body.tool_choice = request.tool_choice;
  if (request.temperature !== undefined) body.temperature = request.temperature;
  if (request.top_p !== undefined) body.top_p = request.top_p;
  if (request.max_tokens !== undefined) {
    // It wins over `extra.max_tokens` under whichever name it goes (Kimi's `max_completion_tokens`).
    delete body.max_tokens;
    body[options.maxTokensField ?? 'max_tokens'] = request.max_tokens;
  }
  if (request.stop !== undefined) body.stop = request.stop;
  if (request.thinking !== undefined)
    Object.assign(body, (options.thinking ?? glmThinking)(request.thinking, request.model));
  body.model = request.model;
  const omitEmpty = options.omitEmptyToolCallContent === true;
  body.messages = withLeading(request.messages, options.leadingMessages ?? []).map((m) =>
    toWireMessage(m, omitEmpty),
  );
  if (options.stream) {
    body.stream = true;
    if (options.streamUsageOption ?? true) body.stream_options = { include_usage: true };
  } else {
    delete body.stream;
    delete body.stream_options;
  }
  return body;
}

function withLeading(messages: readonly ChatMessage[], leading: readonly ChatMessage[]): ChatMessage[] {
  if (leading.length === 0) return [...messages];
  const at = messages.findIndex((m) => m.role !== 'system');
  const split = at === -1 ? messages.length : at;
  return [...messages.slice(0, split), ...leading, ...messages.slice(split)];
}

function toWireMessage(message: ChatMessage, omitEmptyToolCallContent: boolean): Record<string, unknown> {
  const wire: Record<string, unknown> = { role: message.role, content: message.content };
  if (omitEmptyToolCallContent && isEmptyToolCallTurn(message)) delete wire.content;
  if (message.name !== undefined) wire.name = message.name;
  if (message.tool_call_id !== undefined) wire.tool_call_id = message.tool_call_id;
  if (message.tool_calls !== undefined) wire.tool_calls = message.tool_calls;
  if (message.reasoning_content !== undefined) wire.reasoning_content = message.reasoning_content;
  if (message.partial !== undefined) wire.partial = message.partial;
  return wire;
}

/**
 * An assistant turn that carries tool calls and no text: `content` null, blank, or a list of text
 * parts that are all blank (MoonshotAI/kimi-cli, `packages/kosong/src/kosong/chat_provider/kimi.py`,
 * `_is_effectively_empty_content_parts`, sends such a turn without `content`).
 */
function isEmptyToolCallTurn(message: ChatMessage): boolean {
  if (message.role !== 'assistant' || (message.tool_calls?.length ?? 0) === 0) return false;
  const content: unknown = message.content;
  if (content === null || content === undefined) return true;
  if (typeof content === 'string') return content.trim() === '';
  return (
    Array.isArray(content) &&
    content.every(
      (part: unknown) =>
        (part as { type?: unknown } | null)?.type === 'text' &&
        String((part as { text?: unknown }).text ?? '').trim() === '',
    )
  );
}

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Names only the shape of what came, never its text: a body may quote the caller's key, and a
 * quoted excerpt would be cut before any scrubbing could see the whole key.
 */
function bad(provider: string, what: string, got: unknown): never {
  throw providerError('BAD_RESPONSE', `${provider}: Expected ${what}, got ${shapeOf(got)}`);
}

function shapeOf(value: unknown): string {
  if (value === null || value === undefined) return `\`${value}\``;
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (typeof value === 'string') return `a string of ${value.length} characters`;
  if (typeof value === 'object') return `an object with ${Object.keys(value).length} field(s)`;
  return `a ${typeof value}`;
}

/** A whole (non-streamed) chat completion. */
export function fromCompletion(provider: string, body: unknown): ChatResponse {
  if (!isObject(body) || !Array.isArray(body.choices))
    bad(provider, 'a chat completion with `choices`', body);
  const choice = body.choices[0];
  if (!isObject(choice) || !isObject(choice.message))
    bad(provider, '`choices[0].message` to be an object', choice);
  const message = choice.message as Json;
  const response: { -readonly [K in keyof ChatResponse]: ChatResponse[K] } = {
    content: typeof message.content === 'string' ? message.content : '',
  };
  // An empty `reasoning_content` is kept: "reasoned but empty" is not "no reasoning", and Kimi's
  // preserved thinking wants the field back on the assistant turn (docs/providers.md).
  if (typeof message.reasoning_content === 'string') {
    response.reasoning = message.reasoning_content;
  }
  if (Array.isArray(message.tool_calls) && message.tool_calls.length > 0) {
    response.toolCalls = message.tool_calls.map((call, i) => toToolCall(provider, call, i));
  }
  const usage = toUsage(body.usage ?? choice.usage);
  if (usage !== undefined) response.usage = usage;
  const finishReason = finishReasonOf(choice.finish_reason);
  if (finishReason !== undefined) response.finishReason = finishReason;
  if (typeof body.model === 'string') response.model = body.model;
  const webSearch = toWebSearch(body.web_search);
  if (webSearch !== undefined) response.webSearch = webSearch;
  return response;
}

/**
 * A finish reason as sent when it has the shape of one (`stop`, `tool_calls`, GLM's `sensitive`: a
 * word of letters and underscores); otherwise none. It goes into the session's metadata, its
 * summary and the tool result, so a server that put anything else there (its echo of the
 * `Authorization` header, a megabyte of text) was shown as is.
 */
export function finishReasonOf(value: unknown): FinishReason | undefined {
  return typeof value === 'string' && /^[A-Za-z_]{1,64}$/.test(value) ? value : undefined;
}

/** GLM's top-level `web_search` array; entries kept as sent (objects only). */
export function toWebSearch(value: unknown): Json[] | undefined {
  if (!Array.isArray(value)) return undefined;
  const results = value.filter(isObject);
  return results.length === 0 ? undefined : results;
}

function toToolCall(provider: string, value: unknown, index: number): ToolCall {
  if (!isObject(value) || !isObject(value.function) || typeof value.function.name !== 'string') {
    bad(provider, `\`tool_calls[${index}]\` to be a function call`, value);
  }
  const fn = value.function as Json;
  return {
    id: typeof value.id === 'string' ? value.id : `call_${index}`,
    // Kept as sent: Kimi's `$web_search` must go back as `builtin_function`.
    type: typeof value.type === 'string' && value.type !== '' ? value.type : 'function',
    function: {
      name: fn.name as string,
      arguments: typeof fn.arguments === 'string' ? fn.arguments : JSON.stringify(fn.arguments ?? {}),
    },
  };
}

/** Usage in OpenAI's shape; `undefined` when absent or malformed (usage is optional). */
export function toUsage(value: unknown): TokenUsage | undefined {
  if (!isObject(value)) return undefined;
  const prompt = value.prompt_tokens;
  const completion = value.completion_tokens;
  if (typeof prompt !== 'number' || typeof completion !== 'number') return undefined;
  const total = typeof value.total_tokens === 'number' ? value.total_tokens : prompt + completion;
  const usage = { promptTokens: prompt, completionTokens: completion, totalTokens: total };
  // Moonshot reports `cached_tokens` at the top of `usage`; OpenAI and GLM under `prompt_tokens_details`.
  const details = isObject(value.prompt_tokens_details)
    ? value.prompt_tokens_details.cached_tokens
    : undefined;
  const cached = typeof value.cached_tokens === 'number' ? value.cached_tokens : details;
  const withCached = typeof cached === 'number' && cached > 0 ? { ...usage, cachedTokens: cached } : usage;
  // GLM (its SDKs' `CompletionTokensDetails`) and OpenAI: the reasoning part of the completion.
  const reasoning = isObject(value.completion_tokens_details)
    ? value.completion_tokens_details.reasoning_tokens
    : undefined;
  return typeof reasoning === 'number' && reasoning > 0
    ? { ...withCached, reasoningTokens: reasoning }
    : withCached;
}

export interface ChunkParts {
  readonly deltas: ChatDelta[];
  readonly finishReason?: FinishReason;
  /** The chunk gave a finish reason, kept or not (one of another shape is dropped, but ends the answer). */
  readonly ended?: true;
  readonly usage?: TokenUsage;
  readonly webSearch?: readonly Json[];
}

/** One SSE chunk. Usage may sit at the top (OpenAI) or in the choice (Kimi). */
export function fromChunk(provider: string, chunk: unknown): ChunkParts {
  if (!isObject(chunk)) bad(provider, 'a stream chunk object', chunk);
  const choices = chunk.choices ?? [];
  if (!Array.isArray(choices)) bad(provider, '`choices` in a stream chunk to be an array', choices);
  const deltas: ChatDelta[] = [];
  const choice = choices[0];
  let finishReason: FinishReason | undefined;
  let ended = false;
  let usage = toUsage(chunk.usage);
  if (isObject(choice)) {
    const delta = isObject(choice.delta) ? choice.delta : {};
    // Empty too (see `fromCompletion`): the answer keeps `reasoning: ''`; subscribers hear nothing of it.
    if (typeof delta.reasoning_content === 'string') {
      deltas.push({ type: 'reasoning', text: delta.reasoning_content });
    }
    if (typeof delta.content === 'string' && delta.content !== '') {
      deltas.push({ type: 'content', text: delta.content });
    }
    if (Array.isArray(delta.tool_calls)) {
      delta.tool_calls.forEach((call: unknown, i: number) => {
        deltas.push(toToolCallDelta(provider, call, i));
      });
    }
    finishReason = finishReasonOf(choice.finish_reason);
    ended = typeof choice.finish_reason === 'string' && choice.finish_reason !== '';
    usage ??= toUsage(choice.usage);
  }
  const parts: { -readonly [K in keyof ChunkParts]: ChunkParts[K] } = { deltas };
  if (finishReason !== undefined) parts.finishReason = finishReason;
  if (ended) parts.ended = true;
  if (usage !== undefined) parts.usage = usage;
  const webSearch = toWebSearch(chunk.web_search);
  if (webSearch !== undefined) parts.webSearch = webSearch;
  return parts;
}

function toToolCallDelta(provider: string, value: unknown, position: number): ChatDelta {
  if (!isObject(value)) bad(provider, '`tool_calls` fragments to be objects', value);
  const fn = isObject(value.function) ? value.function : {};
  const delta: {
    type: 'tool_call';
    index: number;
    id?: string;
    name?: string;
    arguments?: string;
    callType?: string;
  } = {
    type: 'tool_call',
    index: typeof value.index === 'number' ? value.index : position,
  };
  if (typeof value.id === 'string') delta.id = value.id;
  if (typeof fn.name === 'string') delta.name = fn.name;
  // Zhipu's and Z.ai's references type `function.arguments` as an object: one sent so is taken as
  // its JSON text, as `toToolCall` takes it in a whole answer (it was dropped: a call without arguments).
  if (typeof fn.arguments === 'string') delta.arguments = fn.arguments;
  else if (isObject(fn.arguments)) delta.arguments = JSON.stringify(fn.arguments);
  if (typeof value.type === 'string' && value.type !== '' && value.type !== 'function')
    delta.callType = value.type;
  return delta;
}

/** A whole answer as the deltas a stream of it would carry (for `stream()` on a call answered whole). */
export function* completionAsDeltas(response: ChatResponse): Generator<ChatDelta> {
  if (response.reasoning !== undefined) yield { type: 'reasoning', text: response.reasoning };
  if (response.content !== '') yield { type: 'content', text: response.content };
  for (const [index, call] of (response.toolCalls ?? []).entries()) {
    yield {
      type: 'tool_call',
      index,
      id: call.id,
      name: call.function.name,
      arguments: call.function.arguments,
      ...(call.type === 'function' ? {} : { callType: call.type }),
    };
  }
  if (response.usage !== undefined) yield { type: 'usage', usage: response.usage };
  if (response.webSearch !== undefined) yield { type: 'web_search', results: response.webSearch };
  for (const text of response.notes ?? []) yield { type: 'note', text };
  if (response.finishReason !== undefined) yield { type: 'finish', reason: response.finishReason };
}
