/**
 * The HTTP transport under the OpenAI SDK: one pooled keep-alive undici `Agent` per origin, shared
 * by every provider that talks to that origin, and two `fetch`es on it that cap response bodies:
 * `fetch` (undici's, for streams and uploads) and `fetchWhole` (undici's `request()`, the body read
 * in full, for calls answered whole; `whole-fetch.ts`).
 *
 * Why undici's own `fetch`: Node 20's global `fetch` bundles an older undici whose dispatcher
 * interface differs from undici 7's `Agent`; mixing them fails at runtime (the SDK warns about it).
 *
 * Where the cap is counted: an uncompressed body's bytes are counted as undici hands them to
 * `fetch` (`CappedDispatcher`, a plain function call per chunk), so a stream costs no extra web
 * stream; a compressed body is counted after decoding, by a `TransformStream` (`capBody`).
 */
import { Agent, Dispatcher, FormData as UndiciFormData, fetch as undiciFetch } from 'undici';
import { CrossOriginRedirectError, ResponseTooLargeError } from './response-cap.js';
import { createWholeFetch, type FetchLike } from './whole-fetch.js';

export interface TransportOptions {
  /** Sockets per origin. @default 16 */
  readonly maxSockets?: number;
  /** How long an idle socket stays open for reuse, in ms (the server's `Keep-Alive` hint wins when shorter). @default 30000 */
  readonly keepAliveMs?: number;
  /** Largest response body accepted, in bytes; more is a `BAD_RESPONSE`. @default 67108864 (64 MiB) */
  readonly maxResponseBytes?: number;
}

export interface Transport {
  /** undici's `fetch` on the pooled agent, the body capped: streams, uploads, anything. */
  readonly fetch: FetchLike;
  /**
   * For calls answered whole: the body read in full on the pooled agent (undici's `request()`),
   * capped, before the `Response` resolves; its socket is free by then (`whole-fetch.ts`).
   */
  readonly fetchWhole: FetchLike;
  /** Releases this user's share of the pooled agent; the last release destroys it. */
  release(): Promise<void>;
}

export { ResponseTooLargeError };

interface PooledAgent {
  readonly agent: Agent;
  refs: number;
}

const pool = new Map<string, PooledAgent>();

/** Number of live pooled agents; for tests that check `close()` released them. */
export function pooledAgentCount(): number {
  return pool.size;
}

export function acquireTransport(baseURL: string, options: TransportOptions = {}): Transport {
  const origin = new URL(baseURL).origin;
  let entry = pool.get(origin);
  if (entry === undefined) {
    // The first provider for an origin sets its pool size; later ones share it (documented).
    entry = {
      agent: new Agent({
        connections: options.maxSockets ?? 16,
        keepAliveTimeout: options.keepAliveMs ?? 30_000,
      }),
      refs: 0,
    };
    pool.set(origin, entry);
  }
  entry.refs += 1;
  const held = entry;
  const maxResponseBytes = options.maxResponseBytes ?? 64 * 1024 * 1024;
  const dispatcher = new CappedDispatcher(held.agent, maxResponseBytes, origin);
  let released = false;

  const fetch = async (input: string | URL | Request, init: RequestInit = {}): Promise<Response> => {
    const body = init.body instanceof globalThis.FormData ? toUndiciForm(init.body) : init.body;
    const response = (await undiciFetch(input as Parameters<typeof undiciFetch>[0], {
      ...(init as Parameters<typeof undiciFetch>[1]),
      body: body as never,
      dispatcher,
    })) as unknown as Response;
    return capBody(response, maxResponseBytes);
  };
  // The SDK probes `fetch.Response` to decide whether multipart uploads work; the global class
  // encodes global `FormData` correctly, and `fetch` above converts it for undici.
  Object.assign(fetch, { Response: globalThis.Response });

  const fetchWhole = createWholeFetch(held.agent, origin, maxResponseBytes, fetch);
  Object.assign(fetchWhole, { Response: globalThis.Response });

  return {
    fetch,
    fetchWhole,
    async release() {
      if (released) return;
      released = true;
      held.refs -= 1;
      if (held.refs === 0 && pool.get(origin) === held) {
        pool.delete(origin);
        await held.agent.destroy();
      }
    },
  };
}

function toUndiciForm(form: globalThis.FormData): UndiciFormData {
  const copy = new UndiciFormData();
  form.forEach((value, key) => {
    if (typeof value === 'string') copy.append(key, value);
    else copy.append(key, value, value.name);
  });
  return copy;
}

function capBody(response: Response, maxBytes: number): Response {
  const declared = Number(response.headers.get('content-length') ?? Number.NaN);
  if (Number.isFinite(declared) && declared > maxBytes) {
    response.body?.cancel().catch(() => {});
    throw new ResponseTooLargeError(maxBytes);
  }
  // Null-body statuses cannot be rebuilt with a stream; they carry nothing to cap.
  if (response.body === null || response.status === 204 || response.status === 304) return response;
  // An uncompressed body, with a length or without (a stream): `CappedDispatcher` counts its bytes
  // as they arrive, so it needs no counting stream here, which cost a web-stream hop per chunk, a
  // second Response and a macrotask per call. A compressed body can decode to far more than it
  // weighs on the wire: it is counted after decoding.
  if (identityEncoded(response.headers)) return response;
  let seen = 0;
  const counter = new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      seen += chunk.byteLength;
      if (seen > maxBytes) controller.error(new ResponseTooLargeError(maxBytes));
      else controller.enqueue(chunk);
    },
    // undici frees the socket a tick after the body's last byte; closing the body one macrotask
    // later lets the caller's next request find that socket idle instead of opening another.
    flush: () => new Promise<void>((resolve) => setImmediate(resolve)),
  });
  return new Response(response.body.pipeThrough(counter), {
    status: response.status,
    statusText: response.statusText,
    headers: response.headers,
  });
}

/**
 * The pooled agent, with the cap counted on the way: each request's handler is wrapped in a
 * `CountingHandler`. Only `dispatch` is used by `fetch`; closing and destroying stay with the agent.
 */
class CappedDispatcher extends Dispatcher {
  constructor(
    private readonly agent: Agent,
    private readonly maxBytes: number,
    private readonly origin: string,
  ) {
    super();
  }

  override dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    // Every leg of a request `fetch` sends comes here, so a redirect to another origin is refused
    // before a byte goes there; `fetch` rejects with this error as the cause.
    const to = String(options.origin);
    const other = to === this.origin ? undefined : new URL(to).origin;
    if (other !== undefined && other !== this.origin) {
      const refused = new CrossOriginRedirectError(this.origin, other);
      queueMicrotask(() => handler.onError?.(refused));
      return true;
    }
    return this.agent.dispatch(options, new CountingHandler(handler, this.maxBytes));
  }
}

/**
 * Forwards undici's handler calls to `fetch`'s handler (undici 7's `fetch` implements the
 * `onHeaders`/`onData` form; `tests/integration/providers/transport-cap.test.ts` fails if that
 * changes), counting an uncompressed body's bytes; past the cap it throws, and undici aborts the
 * request with that error, which the body's reader gets.
 */
class CountingHandler implements Dispatcher.DispatchHandler {
  private seen = 0;
  /** Counting this response: it is not compressed (a compressed one is counted after decoding). */
  private counting = false;

  constructor(
    private readonly inner: Dispatcher.DispatchHandler,
    private readonly maxBytes: number,
  ) {}

  onConnect(abort: (err?: Error) => void): void {
    this.inner.onConnect?.(abort);
  }

  onResponseStarted(): void {
    this.inner.onResponseStarted?.();
  }

  onHeaders(status: number, headers: Buffer[], resume: () => void, statusText: string): boolean {
    this.counting = !rawEncoded(headers);
    return this.inner.onHeaders?.(status, headers, resume, statusText) ?? true;
  }

  onData(chunk: Buffer): boolean {
    if (this.counting) {
      this.seen += chunk.length;
      if (this.seen > this.maxBytes) throw new ResponseTooLargeError(this.maxBytes);
    }
    return this.inner.onData?.(chunk) ?? true;
  }

  onComplete(trailers: string[] | null): void {
    this.inner.onComplete?.(trailers);
  }

  onError(error: Error): void {
    if (this.inner.onError === undefined) throw error;
    this.inner.onError(error);
  }

  onUpgrade(status: number, headers: Buffer[] | string[] | null, socket: import('node:stream').Duplex): void {
    this.inner.onUpgrade?.(status, headers, socket);
  }
}

/** Whether raw response headers name a content coding other than `identity`. */
function rawEncoded(headers: readonly (Buffer | string)[]): boolean {
  for (let i = 0; i + 1 < headers.length; i += 2) {
    const name = headers[i] as Buffer | string;
    if (name.length !== 16 || name.toString().toLowerCase() !== 'content-encoding') continue;
    const value = String(headers[i + 1])
      .trim()
      .toLowerCase();
    if (value !== '' && value !== 'identity') return true;
  }
  return false;
}

/**
 * Resolves one macrotask later. undici frees a socket a tick after a body's last byte: a caller that
 * read a whole response and sends its next request at once should wait for this first, or the
 * request finds no idle socket and opens another. Bodies `capBody` counts wait in the stream's
 * `flush`; a body it passes untouched (not compressed) is read by the SDK, so the provider waits.
 */
export function socketReleased(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function identityEncoded(headers: Headers): boolean {
  const encoding = headers.get('content-encoding');
  return encoding === null || encoding.trim().toLowerCase() === 'identity' || encoding.trim() === '';
}
