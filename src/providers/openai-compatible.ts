/**
 * The OpenAI-compatible adapter: any chat-completions endpoint, on the official `openai` SDK.
 *
 * The SDK's own retries and timeout are off (the session owns both), the call's signal goes to
 * every request, and connections come from a pooled keep-alive agent per origin. Vendor quirks
 * (thinking form, usage in streams, files) are hooks, so Kimi and GLM are presets, not forks.
 */
import OpenAI from 'openai';
import type { TroupeError } from '../core/errors.js';
import { providerError } from '../core/errors.js';
import type { FilesHandler, PreparedFiles } from './files.js';
import { inlineFiles } from './files.js';
import { toProviderError } from './http-errors.js';
import type { ChatDelta, ChatProvider, ChatRequest, ChatResponse, FinishReason } from './port.js';
import type { ModelSpec } from './registry.js';
import { acquireTransport, type TransportOptions } from './transport.js';
import { fromChunk, fromCompletion, type ThinkingMapper, toRequestBody } from './wire.js';

/** Vendor differences, as hooks. Every one has a default that suits plain OpenAI-compatible servers. */
export interface ProviderQuirks {
  /** Sends `stream_options: { include_usage: true }` on streamed calls. @default true */
  readonly streamUsageOption?: boolean;
  /** How the port's `thinking` reaches the body. @default `{ thinking: { type } }` (GLM's form) */
  readonly thinking?: ThinkingMapper;
  /** Turns `request.files` into messages. @default inline each file's text as a system message */
  readonly files?: FilesHandler;
}

export interface OpenAICompatibleOptions extends TransportOptions {
  /** Provider name used in limits, metadata and errors, e.g. `kimi`. */
  readonly name: string;
  /** Base URL including the version path, e.g. `https://api.moonshot.ai/v1`. */
  readonly baseURL: string;
  /** The API key. Never logged, never put in errors. */
  readonly apiKey: string;
  /** Headers sent on every request. @default none */
  readonly defaultHeaders?: Readonly<Record<string, string>>;
  /** Models this provider serves, for the registry. @default [] (any model id is passed through) */
  readonly models?: readonly ModelSpec[];
  readonly capabilities?: ProviderQuirks;
}

export interface OpenAICompatibleProvider extends ChatProvider {
  readonly baseURL: string;
  readonly models: readonly ModelSpec[];
  close(): Promise<void>;
}

/**
 * The SDK's timeout, in ms: effectively none, because deadlines belong to the session. It must
 * stay below 2^31 - 1, past which Node fires timers at once.
 */
const NO_SDK_TIMEOUT_MS = 24 * 60 * 60 * 1000;

export function createOpenAICompatibleProvider(options: OpenAICompatibleOptions): OpenAICompatibleProvider {
  const { name, baseURL, apiKey } = options;
  const quirks = options.capabilities ?? {};
  const transport = acquireTransport(baseURL, options);
  const client = new OpenAI({
    apiKey,
    baseURL,
    // Explicit nulls: otherwise the SDK reads OPENAI_ORG_ID / OPENAI_PROJECT_ID from the environment
    // and would send OpenAI account headers to other vendors.
    organization: null,
    project: null,
    adminAPIKey: null,
    maxRetries: 0,
    timeout: NO_SDK_TIMEOUT_MS,
    defaultHeaders: { ...(options.defaultHeaders ?? {}) },
    fetch: transport.fetch,
    // The SDK logs unparseable SSE chunks to the console; troupe reports them as errors instead.
    logLevel: 'off',
  });
  const files = quirks.files ?? inlineFiles;
  const toError = (error: unknown, signal: AbortSignal, operation: string): TroupeError =>
    toProviderError(error, { provider: name, signal, secrets: [apiKey], operation });

  async function prepare(request: ChatRequest, signal: AbortSignal): Promise<PreparedFiles> {
    if (request.files === undefined || request.files.length === 0) return NO_FILES;
    return files(request.files, { client, signal, provider: name, toError });
  }

  async function complete(request: ChatRequest, { signal }: { signal: AbortSignal }): Promise<ChatResponse> {
    let prepared = NO_FILES;
    try {
      prepared = await prepare(request, signal);
      const body = toRequestBody(request, {
        stream: false,
        leadingMessages: prepared.messages,
        ...thinking(),
      });
      const { data, response } = await client.chat.completions
        .create(body as unknown as OpenAI.ChatCompletionCreateParamsNonStreaming, { signal })
        .withResponse();
      expectMediaType(name, response, 'json');
      return fromCompletion(name, data);
    } catch (error) {
      throw toError(error, signal, 'chat completion');
    } finally {
      await prepared.release();
    }
  }

  async function* stream(
    request: ChatRequest,
    { signal }: { signal: AbortSignal },
  ): AsyncGenerator<ChatDelta> {
    let prepared = NO_FILES;
    try {
      prepared = await prepare(request, signal);
      const body = toRequestBody(request, {
        stream: true,
        streamUsageOption: quirks.streamUsageOption ?? true,
        leadingMessages: prepared.messages,
        ...thinking(),
      });
      const { data: chunks, response } = await client.chat.completions
        .create(body as unknown as OpenAI.ChatCompletionCreateParamsStreaming, { signal })
        .withResponse();
      if (mediaType(response).includes('json')) {
        // Some servers ignore `stream: true` and answer whole; accept that rather than fail.
        yield* completionAsDeltas(fromCompletion(name, await response.json()));
        return;
      }
      expectMediaType(name, response, 'event-stream');
      let count = 0;
      let finish: FinishReason | undefined;
      for await (const chunk of chunks) {
        count += 1;
        const parts = fromChunk(name, chunk);
        yield* parts.deltas;
        if (parts.usage !== undefined) yield { type: 'usage', usage: parts.usage };
        finish ??= parts.finishReason;
      }
      // The SDK ends an aborted stream quietly; an abort must still end the call as cancelled.
      if (signal.aborted) throw signal.reason ?? new DOMException('aborted', 'AbortError');
      if (count === 0) throw providerError('BAD_RESPONSE', `${name}: Expected stream chunks, got none`);
      if (finish !== undefined) yield { type: 'finish', reason: finish };
    } catch (error) {
      throw toError(error, signal, 'chat stream');
    } finally {
      await prepared.release();
    }
  }

  function thinking(): { thinking?: ThinkingMapper } {
    return quirks.thinking === undefined ? {} : { thinking: quirks.thinking };
  }

  return {
    name,
    baseURL,
    models: options.models ?? [],
    complete,
    stream,
    close: () => transport.release(),
  };
}

const NO_FILES: PreparedFiles = { messages: [], release: async () => {} };

function* completionAsDeltas(response: ChatResponse): Generator<ChatDelta> {
  if (response.reasoning !== undefined) yield { type: 'reasoning', text: response.reasoning };
  if (response.content !== '') yield { type: 'content', text: response.content };
  for (const [index, call] of (response.toolCalls ?? []).entries()) {
    yield {
      type: 'tool_call',
      index,
      id: call.id,
      name: call.function.name,
      arguments: call.function.arguments,
    };
  }
  if (response.usage !== undefined) yield { type: 'usage', usage: response.usage };
  if (response.finishReason !== undefined) yield { type: 'finish', reason: response.finishReason };
}

function mediaType(response: Response): string {
  return (response.headers.get('content-type') ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
}

function expectMediaType(provider: string, response: Response, kind: 'json' | 'event-stream'): void {
  const type = mediaType(response);
  if (!type.includes(kind)) {
    response.body?.cancel().catch(() => {});
    const expected = kind === 'json' ? 'application/json' : 'text/event-stream';
    throw providerError(
      'BAD_RESPONSE',
      `${provider}: Expected content type \`${expected}\`, got \`${type === '' ? '(none)' : type}\``,
    );
  }
}
