/**
 * The provider port: the narrow interface every LLM adapter implements. Sessions call it; nothing
 * else does. Adapters turn their vendor's failures into `TroupeError`s (provider family) at the edge.
 */

export type ChatRole = 'system' | 'user' | 'assistant' | 'tool';

export interface ChatMessage {
  readonly role: ChatRole;
  readonly content: string | null;
  readonly name?: string;
  /** For `role: 'tool'`: the call this message answers. */
  readonly tool_call_id?: string;
  /** For `role: 'assistant'`: calls the model made. */
  readonly tool_calls?: readonly ToolCall[];
  /** Thinking models (Kimi, GLM) may return it; Kimi requires it echoed back on tool-call turns. */
  readonly reasoning_content?: string;
  /** Kimi partial mode: on the last `assistant` message, the model continues its `content`. */
  readonly partial?: boolean;
}

export interface ToolDefinition {
  readonly type: string;
  readonly function?: {
    readonly name: string;
    readonly description?: string;
    readonly parameters?: Record<string, unknown>;
  };
  /** Vendor tool kinds (e.g. GLM `web_search`) pass through as given. */
  readonly [extra: string]: unknown;
}

export interface ToolCall {
  readonly id: string;
  /** `function`, or a vendor kind kept as sent (Kimi's `$web_search` is `builtin_function`). */
  readonly type: 'function' | 'builtin_function' | (string & {});
  readonly function: { readonly name: string; readonly arguments: string };
}

export type ThinkingMode = 'enabled' | 'disabled';

export interface ChatRequest {
  readonly model: string;
  readonly messages: readonly ChatMessage[];
  readonly tools?: readonly ToolDefinition[];
  readonly tool_choice?: unknown;
  readonly temperature?: number;
  readonly top_p?: number;
  readonly max_tokens?: number;
  readonly stop?: string | readonly string[];
  /** Thinking models: GLM's `thinking: { type }`; other adapters map or ignore it. */
  readonly thinking?: ThinkingMode;
  /** Vendor-specific body fields, sent unchanged. */
  readonly extra?: Readonly<Record<string, unknown>>;
  /**
   * Files to chat over. Adapters with a files API (Kimi) upload them within the call, so the
   * session's deadline and signal apply, and delete them however the call ends; others inline text.
   */
  readonly files?: readonly ChatFile[];
}

export interface ChatFile {
  readonly name: string;
  readonly data: string | Uint8Array;
  readonly mimeType?: string;
}

export interface TokenUsage {
  readonly promptTokens: number;
  readonly completionTokens: number;
  readonly totalTokens: number;
  /** Prompt tokens served from the vendor's context cache (billed at the cached-input price), when reported. */
  readonly cachedTokens?: number;
  /**
   * Completion tokens the model spent reasoning, when reported (GLM's and OpenAI's
   * `usage.completion_tokens_details.reasoning_tokens`): part of `completionTokens`, billed as output.
   */
  readonly reasoningTokens?: number;
  /**
   * What the vendor's rate limiter counted for the call, when it counts other than `totalTokens`:
   * Moonshot counts the prompt plus the `max_completion_tokens` sent, whatever was generated.
   * troupe's tokens-per-minute and tokens-per-day windows are reconciled to it.
   */
  readonly rateLimitTokens?: number;
}

export type FinishReason = 'stop' | 'length' | 'tool_calls' | 'content_filter' | (string & {});

export interface ChatResponse {
  readonly content: string;
  readonly reasoning?: string;
  readonly toolCalls?: readonly ToolCall[];
  readonly usage?: TokenUsage;
  /** Why the model stopped, as the server said; absent when it said nothing (a `note` says so). */
  readonly finishReason?: FinishReason;
  /** The model that actually answered, when the provider says. */
  readonly model?: string;
  /** GLM `web_search` results (the response's top-level `web_search` array), as sent. */
  readonly webSearch?: readonly WebSearchResult[];
  /** What troupe changed in the request before sending it (a dropped or adjusted field), and why. */
  readonly notes?: readonly string[];
}

/** One web-search result as the vendor sent it (GLM: `title`, `link`, `content`, `media`, ...). */
export type WebSearchResult = Readonly<Record<string, unknown>>;

/**
 * One piece of a streamed answer. A stream that ends normally ends with one `finish`, last; or,
 * when the server gave no reason (`[DONE]` without any `finish_reason`), with no `finish` and a
 * `note` last saying so: an adapter does not invent a reason (`stop` would claim the model
 * stopped on its own), and the session's result then has no `finishReason`.
 */
export type ChatDelta =
  | { readonly type: 'content'; readonly text: string }
  | { readonly type: 'reasoning'; readonly text: string }
  | {
      readonly type: 'tool_call';
      /** Position of the call in the answer; fragments with the same index belong together. */
      readonly index: number;
      readonly id?: string;
      readonly name?: string;
      readonly arguments?: string;
      /** The call's `type` when the vendor sent one other than `function` (Kimi `builtin_function`). */
      readonly callType?: string;
    }
  | { readonly type: 'usage'; readonly usage: TokenUsage }
  /** Sent just before `finish`, so it never stops a session from retrying a failed first attempt. */
  | { readonly type: 'web_search'; readonly results: readonly WebSearchResult[] }
  /** Sent just before `finish` (or last, when there is none): what troupe changed in the request, or why the answer has no finish reason (see `ChatResponse.notes`). */
  | { readonly type: 'note'; readonly text: string }
  | { readonly type: 'finish'; readonly reason: FinishReason };

export interface CallOptions {
  /** Aborted when the session leaves `running` for any reason. Adapters must pass it to I/O. */
  readonly signal: AbortSignal;
  /**
   * The session's `idleTimeoutMs`: the longest silence of a call's answer, in ms. A stream's is
   * the runtime's to watch (between deltas); an adapter that reads an answer whole ends the call
   * when its body, once the headers came, sends nothing for this long, with `TIMED_OUT` (`timeout:
   * 'idle'`). Absent: no such bound (the run deadline still ends the call).
   */
  readonly idleTimeoutMs?: number;
}

export interface ChatProvider {
  /** Stable name used in limits, metadata and metrics (e.g. `kimi`, `glm`, `simulated`). */
  readonly name: string;
  complete(request: ChatRequest, options: CallOptions): Promise<ChatResponse>;
  stream(request: ChatRequest, options: CallOptions): AsyncIterable<ChatDelta>;
  /**
   * Optional: the same stream as `stream`, pushed: `onDelta` gets each delta, in order, as it
   * arrives, and the promise settles when the stream has ended (it rejects with the error `stream`
   * would throw). No async iteration between the socket and the caller: the runtime uses it when
   * present. The stream stops when `options.signal` aborts; it reads as fast as the vendor sends.
   */
  streamTo?(request: ChatRequest, options: CallOptions, onDelta: (delta: ChatDelta) => void): Promise<void>;
  /** Optional: releases pooled connections. */
  close?(): Promise<void>;
  /**
   * Optional: how the vendor counts its rate limits. `'model'`: each model has its own (Z.ai and
   * Zhipu), so a `RATE_LIMITED` answer pauses only the model it came for; `'provider'` (the
   * default): they are the account's, shared by its models (Moonshot), so it pauses them all.
   * `limits.providers.<name>.cooldownScope` overrides it.
   */
  readonly cooldownScope?: 'provider' | 'model';
  /**
   * Optional: the completion tokens the vendor's rate limiter counts for `request` when it sets no
   * `max_tokens`, where the vendor counts a budget rather than what was generated (Moonshot): the
   * budget this adapter sends, or the vendor's own stated default; `undefined` when neither. What
   * admission charges in place of `limits.defaultCompletionTokens` (docs/providers.md, "Token
   * estimates").
   */
  readonly rateLimitCompletion?: (request: ChatRequest) => number | undefined;
}
