/**
 * A provider adapter as a user writes one on the official `openai` SDK (v6): the port's request
 * mapped field by field to the SDK's typed params, `client.chat.completions.create` with the
 * signal, the SDK's own retries off (retries are the runtime's), its errors mapped to troupe's
 * codes. Correct as written, in each of the spellings the chat-completions format allows
 * (`variant`), so the contract can be shown to raise no false alarm on any of them
 * (tests/integration/testing/sdk-adapter.test.ts).
 */
import OpenAI, { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from 'openai';
import type {
  ChatCompletionChunk,
  ChatCompletionCreateParamsBase,
  ChatCompletionMessageParam,
} from 'openai/resources/chat/completions';
import { type ProviderErrorCode, providerError, TroupeError } from '../../src/core/errors.js';
import type {
  ChatDelta,
  ChatMessage,
  ChatProvider,
  ChatRequest,
  ChatResponse,
  TokenUsage,
} from '../../src/providers/port.js';
import { bounded, withStall } from './idle-body.js';
import { retryAfterHeaderMs } from './retry-hint.js';

/** Spellings the chat-completions format (and Moonshot's and Z.ai's docs) allow. */
export interface SdkVariant {
  /** Sends the budget as `max_completion_tokens`, OpenAI's current name. */
  readonly budgetName?: 'max_tokens' | 'max_completion_tokens';
  /** Sends `stop` always as an array. */
  readonly stopAsArray?: boolean;
  /** Leaves `content` out of an assistant turn whose content is null (it has tool calls). */
  readonly omitNullContent?: boolean;
  /** Sends `tool_choice` only beside tools (OpenAI refuses it without them). */
  readonly toolChoiceOnlyWithTools?: boolean;
  /** Sends text content as an array of text parts. */
  readonly textParts?: boolean;
}

export interface SdkAdapterOptions {
  readonly baseURL: string;
  readonly apiKey: string;
  readonly variant?: SdkVariant;
}

export function createSdkAdapter(options: SdkAdapterOptions): ChatProvider & { close(): Promise<void> } {
  const variant = options.variant ?? {};
  const name = 'openai-sdk';
  // `idleTimeoutMs` reaches the fetch through the SDK's per-request `fetchOptions` (spread into its
  // init): the body of an answer read whole is held to it between its bytes (`idle-body.ts`).
  const idleFetch = async (url: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const idleMs = (init as { idleTimeoutMs?: number } | undefined)?.idleTimeoutMs;
    if (idleMs === undefined) return fetch(url, init);
    const call = withStall(init?.signal ?? new AbortController().signal);
    return bounded(await fetch(url, { ...init, signal: call.signal }), idleMs, call.stalled, name);
  };
  const client = new OpenAI({
    baseURL: options.baseURL,
    apiKey: options.apiKey,
    maxRetries: 0,
    fetch: idleFetch,
  });

  function params(request: ChatRequest): ChatCompletionCreateParamsBase {
    const hasTools = request.tools !== undefined && request.tools.length > 0;
    const base: Record<string, unknown> = {
      ...request.extra,
      model: request.model,
      messages: request.messages.map((m) => toMessage(m, variant)),
    };
    if (request.temperature !== undefined) base.temperature = request.temperature;
    if (request.top_p !== undefined) base.top_p = request.top_p;
    if (request.max_tokens !== undefined) {
      delete base.max_tokens; // the typed budget wins over an `extra` one
      base[variant.budgetName ?? 'max_tokens'] = request.max_tokens;
    }
    if (request.stop !== undefined)
      base.stop = variant.stopAsArray && typeof request.stop === 'string' ? [request.stop] : request.stop;
    if (request.tools !== undefined) base.tools = request.tools;
    if (request.tool_choice !== undefined && (hasTools || !variant.toolChoiceOnlyWithTools))
      base.tool_choice = request.tool_choice;
    if (request.thinking !== undefined) base.thinking = { type: request.thinking };
    return base as unknown as ChatCompletionCreateParamsBase;
  }

  async function complete(
    request: ChatRequest,
    { signal, idleTimeoutMs }: { signal: AbortSignal; idleTimeoutMs?: number },
  ): Promise<ChatResponse> {
    try {
      const completion = await client.chat.completions.create(
        { ...params(request), stream: false },
        {
          signal,
          ...(idleTimeoutMs === undefined
            ? {}
            : { fetchOptions: { idleTimeoutMs } as OpenAI.RequestOptions['fetchOptions'] }),
        },
      );
      const choice = completion?.choices?.[0];
      if (choice?.message === undefined)
        throw providerError('BAD_RESPONSE', `${name}: Expected choices[0].message, got none`);
      const message = choice.message as typeof choice.message & { reasoning_content?: string };
      const response: { -readonly [K in keyof ChatResponse]: ChatResponse[K] } = {
        content: message.content ?? '',
      };
      if (message.reasoning_content) response.reasoning = message.reasoning_content;
      if (message.tool_calls?.length)
        response.toolCalls = message.tool_calls.flatMap((call) =>
          call.type === 'function'
            ? [{ id: call.id, type: 'function' as const, function: { ...call.function } }]
            : [],
        );
      if (completion.usage) response.usage = toUsage(completion.usage);
      if (choice.finish_reason) response.finishReason = choice.finish_reason;
      return response;
    } catch (error) {
      throw mapError(error, signal);
    }
  }

  async function* stream(
    request: ChatRequest,
    { signal }: { signal: AbortSignal },
  ): AsyncGenerator<ChatDelta> {
    let finish: string | undefined;
    try {
      const { data: chunks, response } = await client.chat.completions
        .create({ ...params(request), stream: true, stream_options: { include_usage: true } }, { signal })
        .withResponse();
      // The SDK reads any body as SSE: a JSON body (a proxy's, a truncated one) would end as no events.
      const type = response.headers.get('content-type') ?? '';
      if (!type.includes('text/event-stream'))
        throw providerError(
          'BAD_RESPONSE',
          `${name}: Expected an event stream, got ${type || 'no content type'}`,
        );
      for await (const chunk of chunks as AsyncIterable<ChatCompletionChunk>) {
        if (signal.aborted) break;
        const choice = chunk.choices?.[0];
        const delta = (choice?.delta ?? {}) as ChatCompletionChunk.Choice.Delta & {
          reasoning_content?: string;
        };
        if (delta.reasoning_content) yield { type: 'reasoning', text: delta.reasoning_content };
        if (delta.content) yield { type: 'content', text: delta.content };
        for (const call of delta.tool_calls ?? []) {
          const fragment: { -readonly [K in keyof Extract<ChatDelta, { type: 'tool_call' }>]: unknown } = {
            type: 'tool_call',
            index: call.index,
          };
          if (call.id !== undefined) fragment.id = call.id;
          if (call.function?.name !== undefined) fragment.name = call.function.name;
          if (call.function?.arguments !== undefined) fragment.arguments = call.function.arguments;
          yield fragment as ChatDelta;
        }
        if (choice?.finish_reason) finish = choice.finish_reason;
        if (chunk.usage) yield { type: 'usage', usage: toUsage(chunk.usage) };
      }
    } catch (error) {
      throw mapError(error, signal);
    }
    // The SDK's iterator ends quietly on an abort it did not see, and on a body cut before `[DONE]`.
    if (signal.aborted)
      throw providerError('CANCELLED', `${name}: Expected the stream to finish, got an abort`);
    if (finish === undefined)
      throw providerError(
        'NETWORK',
        `${name}: Expected a finish_reason before the end of the stream, got none`,
      );
    yield { type: 'finish', reason: finish };
  }

  function mapError(error: unknown, signal: AbortSignal): Error {
    if (error instanceof TroupeError) return error;
    if (signal.aborted || error instanceof APIUserAbortError)
      return providerError('CANCELLED', `${name}: Expected the call to finish, got an abort`);
    if (error instanceof APIConnectionTimeoutError || error instanceof APIConnectionError)
      return providerError('NETWORK', `${name}: connection failed`);
    if (error instanceof APIError && error.status !== undefined) {
      const code = codeOf(error.status);
      const retryAfterMs = retryAfterHeaderMs(error.headers?.get('retry-after'));
      const retryable = code === 'RATE_LIMITED' || code === 'PROVIDER_UNAVAILABLE';
      return providerError(code, `${name}: HTTP ${error.status}`, {
        retryable,
        ...(retryable && retryAfterMs !== undefined && retryAfterMs > 0 ? { retryAfterMs } : {}),
      });
    }
    if (error instanceof TypeError && !(error instanceof SyntaxError))
      return providerError('NETWORK', `${name}: connection failed`);
    return providerError('BAD_RESPONSE', `${name}: Expected a chat-completions answer, got something else`);
  }

  return { name, complete, stream, close: async () => {} };
}

function codeOf(status: number): ProviderErrorCode {
  if (status === 429) return 'RATE_LIMITED';
  if (status === 401 || status === 403) return 'AUTH_FAILED';
  if (status === 404) return 'MODEL_NOT_FOUND';
  // 408 and 409 (a lock timeout) are the server's, as the SDK's own retries count them.
  if (status >= 500 || status === 408 || status === 409) return 'PROVIDER_UNAVAILABLE';
  return 'INVALID_REQUEST';
}

function toUsage(usage: OpenAI.CompletionUsage & { cached_tokens?: number }): TokenUsage {
  const cachedTokens = usage.prompt_tokens_details?.cached_tokens ?? usage.cached_tokens ?? 0;
  return {
    promptTokens: usage.prompt_tokens,
    completionTokens: usage.completion_tokens,
    totalTokens: usage.total_tokens ?? usage.prompt_tokens + usage.completion_tokens,
    cachedTokens,
  };
}

/** The port's message as the SDK types it, role by role (`reasoning_content` rides along for Kimi). */
function toMessage(message: ChatMessage, variant: SdkVariant): ChatCompletionMessageParam {
  const text = (content: string) =>
    variant.textParts ? [{ type: 'text' as const, text: content }] : content;
  const named = message.name === undefined ? {} : { name: message.name };
  switch (message.role) {
    case 'system':
      return { role: 'system', content: text(message.content ?? ''), ...named };
    case 'user':
      return { role: 'user', content: text(message.content ?? ''), ...named };
    case 'tool':
      // OpenAI's type for a tool message has no `name`; Moonshot's tool-call guide sends one, and
      // the SDK sends what it is given.
      return {
        role: 'tool',
        tool_call_id: message.tool_call_id ?? '',
        content: text(message.content ?? ''),
        ...named,
      } as ChatCompletionMessageParam;
    case 'assistant': {
      const calls = message.tool_calls?.map((call) => ({
        id: call.id,
        type: 'function' as const,
        function: { name: call.function.name, arguments: call.function.arguments },
      }));
      return {
        role: 'assistant',
        ...(message.content === null
          ? variant.omitNullContent
            ? {}
            : { content: null }
          : { content: text(message.content) }),
        ...named,
        ...(calls === undefined ? {} : { tool_calls: calls }),
        ...(message.reasoning_content === undefined ? {} : { reasoning_content: message.reasoning_content }),
      } as ChatCompletionMessageParam;
    }
  }
}
