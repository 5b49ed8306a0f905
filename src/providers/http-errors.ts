/**
 * Failures at the edge: whatever the SDK, undici or the server threw becomes one provider
 * `TroupeError` with a closed code, a message we build ourselves and a scrubbed `cause`.
 *
 * Why build messages and causes here: SDK errors carry response headers and server text, which a
 * hostile or careless server may fill with the caller's key. Nothing from them is kept verbatim.
 */
import { APIError, APIUserAbortError } from 'openai/core/error';
import { MAX_COOLDOWN_HINT_MS, type ProviderErrorCode, providerError, TroupeError } from '../core/errors.js';
import { StalledAnswerError, UnusableResponseError } from './response-cap.js';
import { explicitRetryAfterMs, resetMs, retryAfterMs, serverSaysRetry } from './retry-after.js';
import { scrubSecrets } from './scrub-secrets.js';
import { overflowAdvice } from './stated-window.js';
import {
  matchRow,
  readErrorBody,
  resetTimeHint,
  secondsHintMs,
  type VendorErrorRow,
  type VendorErrorTable,
} from './vendor-errors.js';

export interface ErrorContext {
  /** Provider name, for messages. */
  readonly provider: string;
  /** The call's signal: an error after it aborted is a cancellation, whatever it looks like. */
  readonly signal?: AbortSignal;
  /** Secrets to cut out of any text taken from the server or the SDK. */
  readonly secrets?: readonly string[];
  /** What was being done, e.g. `chat completion` or `file upload`. @default 'request' */
  readonly operation?: string;
  /** The vendor's error table (Kimi, GLM); rows win over the generic status mapping. @default none */
  readonly errorTable?: VendorErrorTable;
  /** The model called, and its context window when known: named in `CONTEXT_TOO_LONG`. */
  readonly model?: string;
  readonly contextWindow?: number;
  /** Told the window an overflow's message states, and its words (`stated-window.ts`); returns whether it is kept. @default none */
  readonly onStatedWindow?: (tokens: number, words: string) => boolean;
  /** For reset times in bodies. @default Date.now */
  readonly now?: () => number;
  /** The host called (its name and port, never a path or query): named when the connection fails. */
  readonly host?: string;
}

/** The cause we keep: plain data, no headers, no request. */
export interface ScrubbedCause {
  readonly name: string;
  readonly message: string;
  readonly status?: number;
  readonly code?: string;
}

// `string | undefined`: a value without a code is simply not in it.
const NETWORK_CODES: ReadonlySet<string | undefined> = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);

/** Maps any thrown value from a provider call to a provider `TroupeError`. */
export { retryAfterMs, scrubSecrets };

export function toProviderError(value: unknown, context: ErrorContext): TroupeError {
  const where = `${context.provider} ${context.operation ?? 'request'}`;
  const secrets = context.secrets;
  // Without secrets there is nothing to cut.
  const scrub =
    secrets === undefined ? (text: string) => text : (text: string) => scrubSecrets(text, secrets);
  if (value instanceof TroupeError) return scrubbedError(value, scrub);
  if (context.signal?.aborted || value instanceof APIUserAbortError || isAbortLike(value)) {
    return providerError('CANCELLED', `Expected the ${where} to finish, got an abort`, {
      cause: scrubCause(value, scrub),
    });
  }
  const unusable = findInChain(value, (e) => e instanceof UnusableResponseError);
  if (unusable !== undefined) {
    return providerError('BAD_RESPONSE', `${where}: ${scrub((unusable as Error).message)}`, {
      cause: scrubCause(unusable, scrub),
    });
  }
  const stalled = findInChain(value, (e) => e instanceof StalledAnswerError) as Error | undefined;
  // The runtime's idle timeout, as a stream with no delta for `idleTimeoutMs` ends: not retried.
  if (stalled !== undefined) {
    const options = { cause: scrubCause(stalled, scrub), timeout: 'idle' as const, stalled: 'body' as const };
    return new TroupeError('runtime', 'TIMED_OUT', `${where}: ${stalled.message}`, options);
  }
  if (value instanceof APIError && typeof value.status === 'number') {
    return fromStatus(value, where, scrub, context);
  }
  if (value instanceof APIError && value.error !== undefined) {
    // An `error` object inside a 200 stream: the server failed after it began answering.
    const detail = serverMessage(value.error, scrub);
    const row =
      context.errorTable === undefined
        ? undefined
        : matchRow(context.errorTable, undefined, readErrorBody(value.error));
    if (row !== undefined) {
      return providerError(
        row.troupe,
        `${where}: the stream carried an error${detail}${advice(row, context, detail, undefined)}`,
        {
          cause: scrubCause(value, scrub),
          ...(row.modelScoped === true ? { modelScoped: true } : {}),
        },
      );
    }
    return providerError('PROVIDER_UNAVAILABLE', `${where}: the stream carried an error${detail}`, {
      cause: scrubCause(value, scrub),
    });
  }
  // A streamed body `fetch` could not decode: undici ends it as `terminated`, zlib's error its cause.
  const undecodable = findInChain(value, isDecodingError) as Error | undefined;
  if (undecodable !== undefined) {
    return providerError(
      'BAD_RESPONSE',
      `${where}: Expected a body that decodes as its Content-Encoding, got bytes that do not (${scrub(undecodable.message)})`,
      { cause: scrubCause(undecodable, scrub) },
    );
  }
  const network = findInChain(value, isNetworkError);
  if (network !== undefined) {
    const code = errorCode(network as Error);
    // The host: "connection failed (ENOTFOUND)" named neither which nor where (newcomer audit).
    const to = context.host === undefined ? '' : ` to ${context.host}`;
    return providerError('NETWORK', `${where}: connection failed${to} (${code ?? 'socket closed'})`, {
      cause: scrubCause(network, scrub),
    });
  }
  const redirect = findInChain(value, isRedirectFailure) as Error | undefined;
  if (redirect !== undefined) {
    // Sending it again meets the same redirects: not a network fault to retry.
    return providerError(
      'BAD_RESPONSE',
      `${where}: Expected an answer, got a redirect fetch refuses to follow (${redirect.message}); point baseURL at where the provider answers`,
      { cause: scrubCause(redirect, scrub) },
    );
  }
  if (value instanceof SyntaxError) {
    return providerError('BAD_RESPONSE', `${where}: Expected a JSON body, got unparseable text`, {
      cause: scrubCause(value, scrub),
    });
  }
  if (value instanceof APIError) {
    // A connection error the chain walk did not classify (e.g. a TLS failure): still the network.
    return providerError('NETWORK', `${where}: connection failed`, { cause: scrubCause(value, scrub) });
  }
  const name = value instanceof Error ? value.name : typeof value;
  return providerError('BAD_RESPONSE', `${where}: unexpected failure (${name})`, {
    cause: scrubCause(value, scrub),
  });
}

function fromStatus(
  error: APIError,
  where: string,
  scrub: (text: string) => string,
  context: ErrorContext,
): TroupeError {
  const status = error.status as number;
  const detail = serverMessage(error.error, scrub);
  const cause = scrubCause(error, scrub);
  const body = readErrorBody(error.error);
  const row = context.errorTable === undefined ? undefined : matchRow(context.errorTable, status, body);
  const found = row?.troupe ?? statusCode(status, error);
  // A resource missing to another operation (a Moonshot file, a server without `/models`) is no
  // missing model: as MODEL_NOT_FOUND a fallback chain would move on as if the model were gone.
  const code = found === 'MODEL_NOT_FOUND' && !callsModel(context.operation) ? 'INVALID_REQUEST' : found;
  const headers = error.headers;
  // The server's `x-should-retry` overrides the code's own answer, as the SDKs obey it ([O1]).
  const told = serverSaysRetry(headers);
  const toldText = told === undefined ? '' : ` (the server's x-should-retry: ${told})`;
  // An undefined `retryAfterMs` is no hint: the error keeps it undefined. A rate limit's or an
  // outage's is held to 10 minutes (`MAX_COOLDOWN_HINT_MS`): a rate limit's by the error itself.
  // `retryable` undefined: the code's own answer (`TroupeError`).
  const options: { cause: unknown; status: number; retryAfterMs?: number | undefined; retryable?: boolean } =
    { cause, status, retryable: told };
  const held = (ms: number | undefined) =>
    // Stryker disable next-line ConditionalExpression: without the check, `Math.min(undefined, ...)` is NaN, which the error drops as no hint: the same undefined.
    code === 'PROVIDER_UNAVAILABLE' && ms !== undefined ? Math.min(ms, MAX_COOLDOWN_HINT_MS) : ms;
  if (row === undefined) {
    if (code === 'RATE_LIMITED' || code === 'PROVIDER_UNAVAILABLE')
      options.retryAfterMs = held(headers === undefined ? undefined : retryAfterMs(headers));
    return providerError(code, `${where}: HTTP ${status}${detail}${toldText}`, options);
  }
  options.retryAfterMs = held(rowHint(row, headers, body.message, context));
  // A row read as another code for this operation (a missing file, not a model) gives no advice of its own.
  const said = code === row.troupe ? advice(row, context, detail, told) : '';
  return providerError(code, `${where}: HTTP ${status}${detail}${said}${toldText}`, {
    ...options,
    ...(row.modelScoped === true ? { modelScoped: true } : {}),
  });
}

/**
 * The retry hint a row allows (never the key: numbers only). With the body's seconds, the order is
 * `Retry-After` (or `retry-after-ms`), then the seconds the message names, then `x-ratelimit-reset*`:
 * Moonshot documents its `X-RateLimit-Reset` without saying which of its four limits it describes
 * or in what form, where its 429 message names the limit that tripped and its wait.
 */
function rowHint(
  row: VendorErrorRow,
  headers: Headers | undefined,
  message: string,
  context: ErrorContext,
): number | undefined {
  switch (row.hint) {
    case 'header':
      return headers === undefined ? undefined : retryAfterMs(headers);
    case 'header-or-body-seconds': {
      if (headers === undefined) return secondsHintMs(message);
      const now = (context.now ?? Date.now)();
      return explicitRetryAfterMs(headers, now) ?? secondsHintMs(message) ?? resetMs(headers, now);
    }
    case 'body-reset-time':
      return resetTimeHint(message, (context.now ?? Date.now)())?.inMs;
  }
  // `none`: the row allows no hint.
  return undefined;
}

/**
 * What the user does next, for the codes where it differs from "call again". "troupe does not retry
 * this" only where it does not: until 2026-12-07 a quota's or a filter's refusal with the server's
 * `x-should-retry: true` (so `retryable: true`, and retried) said it all the same.
 */
function advice(
  row: VendorErrorRow,
  context: ErrorContext,
  detail: string,
  told: boolean | undefined,
): string {
  const notRetried = told === true ? '' : '; troupe does not retry this';
  const elsewhere = row.keyRefused === true ? otherHost(context) : undefined;
  if (elsewhere !== undefined) {
    // A proxy's 401 said to mind Moonshot's two platforms, which the proxy may not even use (audit).
    return `. The key was refused by ${elsewhere}, the base URL's host, not by the vendor's own API: check the key that host expects (a proxy may want a key of its own, or pass the vendor's on)`;
  }
  if (row.troupe === 'QUOTA_EXHAUSTED') {
    // Stryker disable next-line LogicalOperator: the advice quotes only the reset's text; `now` only sets the wait it does not use
    const reset = resetTimeHint(detail, (context.now ?? Date.now)());
    const when = reset === undefined ? '' : ` (the vendor says it resets at ${reset.text})`;
    return `. ${row.why} Top up or wait for the quota to reset${when}${notRetried}.`;
  }
  if (row.troupe === 'CONTEXT_TOO_LONG') return overflowAdvice(context, detail);
  if (row.troupe === 'CONTENT_FILTERED') return `. ${row.why} Rephrase${notRetried}.`;
  return row.advice === undefined ? '' : `. ${row.advice}`;
}

/**
 * The host called when it is none of the vendor's own, else `undefined`. Its port does not count;
 * it comes from a base URL `checkBaseUrl` took (no user, password, query or path), and the key
 * is cut out of it all the same (a key pasted as the host).
 */
function otherHost(context: ErrorContext): string | undefined {
  const { host, errorTable } = context;
  // Stryker disable next-line OptionalChaining: asked only for a row that matched, so of a table.
  const own = errorTable?.hosts;
  if (host === undefined || own === undefined || own.includes(host.replace(/:\d+$/, ''))) return undefined;
  return context.secrets === undefined ? host : scrubSecrets(host, context.secrets);
}

/** Whether the operation calls the model itself (a chat, whole or streamed, or one not named). */
function callsModel(operation: string | undefined): boolean {
  return operation === undefined || operation.startsWith('chat');
}

function statusCode(status: number, error: APIError): ProviderErrorCode {
  if (status === 401 || status === 403) return 'AUTH_FAILED';
  if (status === 404 || mentionsUnknownModel(error)) return 'MODEL_NOT_FOUND';
  if (status === 429) return 'RATE_LIMITED';
  // 408: the server gave up waiting; 409: a lock timeout, which the openai SDK (and Z.ai's, a copy
  // of its client) retries. The request itself was fine either time, so it may be retried.
  if (status === 408 || status === 409 || status >= 500) return 'PROVIDER_UNAVAILABLE';
  return 'INVALID_REQUEST';
}

function mentionsUnknownModel(error: APIError): boolean {
  // Stryker disable next-line StringLiteral: no code, or any other text, is neither `model_not_found` nor `1211`
  const code = String(error.code ?? '');
  // `model_not_found`: OpenAI and most compatibles; `1211`: ZhipuAI's "model does not exist".
  if (code === 'model_not_found' || code === '1211') return true;
  const body = error.error as { message?: unknown } | undefined;
  // Only a text message is read (a list or an object is not a sentence about the model).
  if (typeof body?.message !== 'string') return false;
  return /model\b.*\b(not found|does not exist|not exist|unknown)/i.test(body.message);
}

/**
 * A `TroupeError` thrown on the way (a check of the response's headers or body) keeps its code;
 * its message is scrubbed like every other. Before, it went out as thrown: a `Content-Type` that
 * echoed the key reached the caller in a `BAD_RESPONSE` message.
 */
function scrubbedError(error: TroupeError, scrub: (text: string) => string): TroupeError {
  const message = scrub(error.message);
  if (message === error.message) return error;
  const cause = error.cause === undefined ? {} : { cause: scrubCause(error.cause, scrub) };
  return new TroupeError(error.family, error.code, message, { ...error.toData(), ...cause });
}

function serverMessage(body: unknown, scrub: (text: string) => string): string {
  const message =
    typeof body === 'object' && body !== null && typeof (body as { message?: unknown }).message === 'string'
      ? (body as { message: string }).message
      : undefined;
  if (message === undefined || message.trim() === '') return '';
  // Scrub first, then cut: a key that straddled the cut would otherwise survive in part.
  const clean = scrub(message);
  const short = clean.length > 300 ? `${clean.slice(0, 299)}…` : clean;
  return `: ${short}`;
}

function scrubCause(value: unknown, scrub: (text: string) => string): ScrubbedCause {
  if (!(value instanceof Error)) return { name: typeof value, message: scrub(String(value)).slice(0, 300) };
  const cause: { -readonly [K in keyof ScrubbedCause]: ScrubbedCause[K] } = {
    name: value.name,
    message: scrub(value.message).slice(0, 300),
  };
  if (value instanceof APIError && typeof value.status === 'number') cause.status = value.status;
  const code = errorCode(value);
  if (code !== undefined) cause.code = scrub(code);
  return cause;
}

function errorCode(value: Error): string | undefined {
  const code = (value as { code?: unknown }).code;
  return typeof code === 'string' || typeof code === 'number' ? String(code) : undefined;
}

function isNetworkError(value: unknown): boolean {
  if (!(value instanceof Error)) return false;
  if (NETWORK_CODES.has(errorCode(value))) return true;
  // undici: a body cut off mid-read surfaces as `TypeError: terminated`; `fetch failed` wraps connect errors.
  return value.name === 'SocketError' || (value instanceof TypeError && value.message === 'terminated');
}

/** undici `fetch`'s network errors for a redirect it will not follow (its `makeNetworkError` reasons). */
const REDIRECT_FAILURES = new Set(['redirect count exceeded', 'URL scheme must be a HTTP(S) scheme']);

function isRedirectFailure(value: unknown): boolean {
  return value instanceof Error && REDIRECT_FAILURES.has(value.message);
}

/** zlib's errors (`Z_DATA_ERROR`, ...) and brotli's (`ERR__ERROR_FORMAT_...`). */
function isDecodingError(value: unknown): boolean {
  return value instanceof Error && /^(Z_|ERR__ERROR_)/.test(String(errorCode(value)));
}

function isAbortLike(value: unknown): boolean {
  const name = (value as { name?: unknown } | null)?.name;
  return name === 'AbortError';
}

function findInChain(value: unknown, test: (e: unknown) => boolean): unknown {
  let current: unknown = value;
  for (let depth = 0; depth < 8 && current !== undefined && current !== null; depth += 1) {
    if (test(current)) return current;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}
