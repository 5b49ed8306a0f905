/**
 * The OpenAI-compatible adapter: any chat-completions endpoint, on the official `openai` SDK.
 *
 * The SDK's own retries and timeout are off (the session owns both), the call's signal goes to
 * every request, and connections come from a pooled keep-alive agent per origin. Vendor quirks
 * (thinking form, usage in streams, files) are hooks, so Kimi and GLM are presets, not forks.
 */

import type OpenAI from 'openai';
import type { ProviderErrorCode, TroupeError } from '../core/errors.js';
import { providerError } from '../core/errors.js';
import { checkBaseUrl } from './base-url.js';
import type { FilesHandler, PreparedFiles } from './files.js';
import { inlineFiles } from './files.js';
import { checkedCredentials } from './header-secrets.js';
import { scrubSecrets, toProviderError } from './http-errors.js';
import type {
  CallOptions,
  ChatDelta,
  ChatProvider,
  ChatRequest,
  ChatResponse,
  FinishReason,
} from './port.js';
import type { LearnedWindow, ModelSpec, VendorModel } from './registry.js';
import { lazySdkClients } from './sdk-clients.js';
import { iterateSSE, readSSE } from './sse.js';
import { statedWindows } from './stated-window.js';
import { countedAnswer, notesOf, StreamTally } from './stream-tally.js';
import { acquireTransport, socketReleased, type TransportOptions, wholeInit } from './transport.js';
import type { VendorErrorTable } from './vendor-errors.js';
import { vendorModelOf } from './vendor-models.js';
import {
  type BodyOptions,
  completionAsDeltas,
  fromCompletion,
  type ThinkingMapper,
  toRequestBody,
} from './wire.js';

/** A request as it will be sent, and what was changed on the way (shown in metadata as `notes`). */
export interface PreparedRequest {
  readonly request: ChatRequest;
  readonly notes: readonly string[];
}

/** Vendor differences, as hooks. Every one has a default that suits plain OpenAI-compatible servers. */
export interface ProviderQuirks {
  /** Sends `stream_options: { include_usage: true }` on streamed calls. @default true */
  readonly streamUsageOption?: boolean;
  /** How the port's `thinking` reaches the body. @default `{ thinking: { type } }` (GLM's form) */
  readonly thinking?: ThinkingMapper;
  /** Turns `request.files` into messages. @default inline each file's text as a system message */
  readonly files?: FilesHandler;
  /** The vendor's error table (status and body code to troupe code). @default the generic status table */
  readonly errorTable?: VendorErrorTable;
  /**
   * Finish reasons that mean the answer failed, and the code the call fails with (GLM
   * `network_error`, `sensitive`). @default none: every finish reason is a result
   */
  readonly errorFinishReasons?: Readonly<Record<string, ProviderErrorCode>>;
  /**
   * Checks and completes a request before anything is sent: throws `INVALID_REQUEST` naming the
   * field, the model and the allowed range; returns the request to send and notes on what changed.
   * @default the request as given
   */
  readonly prepare?: (request: ChatRequest, model: ModelSpec | undefined) => PreparedRequest;
  /** The body field for `max_tokens`. @default 'max_tokens' */
  readonly maxTokensField?: 'max_tokens' | 'max_completion_tokens';
  /** The longest API key taken, in characters (`api-key.ts`). @default 16384 (1024 for Kimi and GLM) */
  readonly maxKeyChars?: number;
  /** Sends an assistant tool-call turn with no text without `content` (Moonshot). @default false */
  readonly omitEmptyToolCallContent?: boolean;
  /**
   * The completion budget the vendor's rate limiter counts for a body, when it counts the prompt
   * plus a budget rather than what was generated (Moonshot); usage then carries `rateLimitTokens`.
   * @default none: the limiter counts the usage
   */
  readonly rateLimitBudget?: (body: Readonly<Record<string, unknown>>) => number | undefined;
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
  /** What a 429 pauses (`ChatProvider.cooldownScope`): `'model'` for a vendor that limits each model apart. @default 'provider' */
  readonly cooldownScope?: 'provider' | 'model';
}

export interface OpenAICompatibleProvider extends ChatProvider {
  readonly baseURL: string;
  readonly models: readonly ModelSpec[];
  streamTo(
    request: ChatRequest,
    options: { signal: AbortSignal },
    onDelta: (delta: ChatDelta) => void,
  ): Promise<void>;
  /** The vendor's live model ids (`GET /models`); errors are mapped like any call's. */
  listModels(options: { signal: AbortSignal }): Promise<string[]>;
  /** The same list with what the vendor says of each model (Moonshot: window, thinking, vision). */
  listModelInfo(options: { signal: AbortSignal }): Promise<VendorModel[]>;
  /** The window the vendor stated for `model` refusing a call for its length, when under the catalogue's: when, and in what words. */
  learnedWindow(model: string): LearnedWindow | undefined;
  close(): Promise<void>;
}

/** The most model ids read from a provider's `/models`, and the longest kept (a client's bound too). */
export const MAX_LISTED_MODELS = 1000;
const MAX_MODEL_ID = 256;

export function createOpenAICompatibleProvider(options: OpenAICompatibleOptions): OpenAICompatibleProvider {
  const { name, baseURL, apiKey } = options;
  // A URL with a user or password: undici refuses it for streams and drops it for whole calls.
  checkBaseUrl(`${name} baseURL`, baseURL);
  const quirks = options.capabilities ?? {};
  // A key undici cannot send failed inside the request, reported as the vendor's bad answer. The
  // key, and any configured header that carries a credential, are bounded and never reach an error.
  const secrets = checkedCredentials(name, apiKey, options.defaultHeaders, quirks.maxKeyChars);
  const transport = acquireTransport(baseURL, options);
  // Made on the first call: the SDK is not loaded at start (`sdk-clients.ts`). The settings as they
  // are now, as `secrets` took them: a caller's later change to its options object reaches neither.
  const clients = lazySdkClients(
    { apiKey, baseURL, defaultHeaders: { ...(options.defaultHeaders ?? {}) } },
    transport,
  );
  const files = quirks.files ?? inlineFiles;
  const models = options.models ?? [];
  // The catalogue, with the windows the vendor stated in overflow refusals where smaller.
  const stated = statedWindows(models);
  const specOf = stated.specOf;
  const host = new URL(baseURL).host;
  const toError = (error: unknown, signal: AbortSignal, operation: string, model?: string): TroupeError =>
    toProviderError(error, {
      provider: name,
      signal,
      secrets,
      operation,
      host,
      ...(quirks.errorTable === undefined ? {} : { errorTable: quirks.errorTable }),
      ...stated.errorContext(model),
    });
  const prepareRequest = (request: ChatRequest): PreparedRequest =>
    quirks.prepare === undefined ? { request, notes: [] } : quirks.prepare(request, specOf(request.model));
  /** The budget the vendor's rate limiter counts for this body, when it counts one. */
  const budgetOf = (body: Readonly<Record<string, unknown>>): number | undefined =>
    quirks.rateLimitBudget?.(body);

  /** A finish reason the vendor uses for a failed answer fails the call. */
  function failedFinish(reason: FinishReason | undefined, chars: number): TroupeError | undefined {
    const code = reason === undefined ? undefined : quirks.errorFinishReasons?.[reason];
    if (code === undefined) return undefined;
    return providerError(
      code,
      `${name}: Expected a finished answer, got finish_reason \`${reason}\` after ${chars} character(s)${
        code === 'CONTENT_FILTERED' ? " (the vendor's safety review stopped it)" : ''
      }`,
    );
  }

  async function prepare(request: ChatRequest, signal: AbortSignal): Promise<PreparedFiles> {
    if (request.files === undefined || request.files.length === 0) return NO_FILES;
    return files(request.files, { client: (await clients(signal)).client, signal, provider: name, toError });
  }

  async function complete(
    request: ChatRequest,
    { signal, idleTimeoutMs }: CallOptions,
  ): Promise<ChatResponse> {
    let prepared = NO_FILES;
    try {
      const checked = prepareRequest(request);
      prepared = await prepare(checked.request, signal);
      const body = toRequestBody(checked.request, {
        stream: false,
        leadingMessages: prepared.messages,
        ...bodyOptions(),
      });
      // `fetchWhole` resolves once the body is read, its socket already free for the next call.
      const { wholeClient } = await clients(signal);
      const { data, response } = await wholeClient.chat.completions
        .create(body as unknown as OpenAI.ChatCompletionCreateParamsNonStreaming, {
          signal,
          fetchOptions: wholeInit(idleTimeoutMs),
        })
        .withResponse();
      expectMediaType(name, response, 'json');
      const answer = countedAnswer(fromCompletion(name, data), budgetOf(body));
      const failed = failedFinish(answer.finishReason, answer.content.length);
      if (failed !== undefined) throw failed;
      const notes = notesOf(answer, checked.notes);
      return notes.length === 0 ? answer : { ...answer, notes };
    } catch (error) {
      throw toError(error, signal, 'chat completion', request.model);
    } finally {
      await prepared.release();
    }
  }

  /** Sends a streamed request: its SSE chunks, or the deltas of a server that answered whole. */
  async function openStream(
    request: ChatRequest,
    signal: AbortSignal,
    held: { prepared: PreparedFiles },
  ): Promise<{
    sse: boolean /* false: a server that answered whole, in `whole` */;
    response: Response;
    whole: readonly ChatDelta[];
    notes: readonly string[];
    budget: number | undefined;
  }> {
    const checked = prepareRequest(request);
    held.prepared = await prepare(checked.request, signal);
    const body = toRequestBody(checked.request, {
      stream: true,
      streamUsageOption: quirks.streamUsageOption ?? true,
      leadingMessages: held.prepared.messages,
      ...bodyOptions(),
    });
    const { client } = await clients(signal);
    const { response } = await client.chat.completions
      .create(body as unknown as OpenAI.ChatCompletionCreateParamsStreaming, { signal })
      .withResponse();
    if (mediaType(response).includes('json')) {
      // Some servers ignore `stream: true` and answer whole; accept that rather than fail.
      const answer = countedAnswer(fromCompletion(name, await response.json()), budgetOf(body));
      const failed = failedFinish(answer.finishReason, answer.content.length);
      if (failed !== undefined) throw failed;
      return {
        sse: false,
        response,
        whole: [...completionAsDeltas({ ...answer, notes: notesOf(answer, checked.notes) })],
        notes: [],
        budget: undefined,
      };
    }
    expectMediaType(name, response, 'event-stream');
    return { sse: true, response, whole: [], notes: checked.notes, budget: budgetOf(body) };
  }

  /** After the last chunk: the call fails, or these deltas end it. */
  async function endStream(
    tally: StreamTally,
    opened: { readonly notes: readonly string[]; readonly budget: number | undefined },
    signal: AbortSignal,
    doneSeen: boolean,
  ): Promise<ChatDelta[]> {
    // The SDK ends an aborted stream quietly; an abort must still end the call as cancelled.
    if (signal.aborted) throw signal.reason ?? new DOMException('aborted', 'AbortError');
    // The body ran out: its socket is free a tick later, for the caller's next request.
    await socketReleased();
    // Whole once a chunk says why it ended, or the server said `[DONE]` (`StreamTally.unfinished`).
    const unfinished = tally.unfinished(doneSeen);
    const failed = failedFinish(tally.finish, tally.chars);
    if (failed !== undefined) throw failed;
    return tally.closing(
      unfinished === undefined ? opened.notes : [...opened.notes, unfinished],
      opened.budget,
    );
  }

  async function* stream(
    request: ChatRequest,
    { signal }: { signal: AbortSignal },
  ): AsyncGenerator<ChatDelta> {
    const held = { prepared: NO_FILES };
    try {
      const opened = await openStream(request, signal, held);
      const { sse, response, whole } = opened;
      for (const delta of whole) yield delta;
      if (!sse) return;
      const tally = new StreamTally(name);
      const seen = { done: false }; // read as `streamTo` reads it, so both know whether `[DONE]` came
      for await (const chunk of iterateSSE(response, seen)) {
        // One `yield` per delta, not `yield*` over the chunk's array: in an async generator that
        // wraps the array in an async iterator, a few promises more per chunk.
        const deltas = tally.add(chunk);
        for (let i = 0; i < deltas.length; i++) yield deltas[i] as ChatDelta;
      }
      for (const delta of await endStream(tally, opened, signal, seen.done)) yield delta;
    } catch (error) {
      throw toError(error, signal, 'chat stream', request.model);
    } finally {
      await held.prepared.release();
    }
  }

  /**
   * `stream` pushed: the same steps, with no generator between the body and `onDelta` (`readSSE`:
   * the SDK's SSE rules, its chunks handed over in the network chunk's turn; `sse.ts` says why).
   */
  async function streamTo(
    request: ChatRequest,
    { signal }: { signal: AbortSignal },
    onDelta: (delta: ChatDelta) => void,
  ): Promise<void> {
    const held = { prepared: NO_FILES };
    try {
      const opened = await openStream(request, signal, held);
      const { sse, response, whole } = opened;
      for (const delta of whole) onDelta(delta);
      if (!sse) return;
      const tally = new StreamTally(name);
      const doneSeen = await readSSE(
        response,
        (chunk) => {
          const deltas = tally.add(chunk);
          for (let i = 0; i < deltas.length; i++) onDelta(deltas[i] as ChatDelta);
        },
        () => signal.aborted,
      );
      for (const delta of await endStream(tally, opened, signal, doneSeen)) onDelta(delta);
    } catch (error) {
      throw toError(error, signal, 'chat stream', request.model);
    } finally {
      await held.prepared.release();
    }
  }

  function bodyOptions(): Pick<BodyOptions, 'thinking' | 'maxTokensField' | 'omitEmptyToolCallContent'> {
    return {
      ...(quirks.thinking === undefined ? {} : { thinking: quirks.thinking }),
      ...(quirks.maxTokensField === undefined ? {} : { maxTokensField: quirks.maxTokensField }),
      omitEmptyToolCallContent: quirks.omitEmptyToolCallContent === true,
    };
  }

  async function listModelInfo({ signal }: { signal: AbortSignal }): Promise<VendorModel[]> {
    try {
      const listed: VendorModel[] = [];
      const { wholeClient } = await clients(signal);
      for await (const model of wholeClient.models.list({ signal })) {
        // The list goes to every client (`list_models`): an id that carries the key is left out.
        const id = model.id;
        if (typeof id === 'string' && id.length <= MAX_MODEL_ID && scrubSecrets(id, secrets) === id)
          listed.push(vendorModelOf(id, model));
        // A server paging without end is read no further.
        if (listed.length >= MAX_LISTED_MODELS) break;
      }
      return listed;
    } catch (error) {
      throw toError(error, signal, 'model list');
    }
  }

  return {
    name,
    baseURL,
    models,
    complete,
    stream,
    streamTo,
    listModels: async (options) => (await listModelInfo(options)).map((m) => m.id),
    listModelInfo,
    learnedWindow: stated.learned,
    close: () => transport.release(),
    ...(options.cooldownScope === undefined ? {} : { cooldownScope: options.cooldownScope }),
    ...(quirks.rateLimitBudget === undefined ? {} : { rateLimitCompletion }),
  };

  /** The budget the vendor's limiter counts for a request without `max_tokens`: what `prepare` sets, else its default. */
  function rateLimitCompletion(request: ChatRequest): number | undefined {
    let sent: ChatRequest;
    try {
      sent = prepareRequest(request).request;
    } catch {
      return undefined; // refused before anything is sent: the call fails with that error
    }
    return budgetOf({ model: sent.model, max_tokens: sent.max_tokens });
  }
}

const NO_FILES: PreparedFiles = { messages: [], release: async () => {} };

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
