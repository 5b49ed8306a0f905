/**
 * The undici half of the transport (`transport.ts`), loaded on a provider's first request rather
 * than at start: the pooled `Agent`, undici's `fetch` on it with the response cap counted as bytes
 * arrive, and `fetchWhole` (`whole-fetch.ts`) on the same agent. Importing undici (and the SDK) took
 * a few hundred ms of a start with a key set; a server that never calls a provider never pays it.
 */
import { Agent, Dispatcher, FormData as UndiciFormData, fetch as undiciFetch } from 'undici';
import { CrossOriginRedirectError, ResponseTooLargeError, stalledOr } from './response-cap.js';
import { createWholeFetch, type FetchLike, type WholeInit } from './whole-fetch.js';

export function createAgent(maxSockets: number, keepAliveMs: number): Agent {
  return new Agent({ connections: maxSockets, keepAliveTimeout: keepAliveMs });
}

/** `fetch` and `fetchWhole` on `agent`, the body capped at `maxResponseBytes`, redirects kept to `origin`. */
export function agentFetches(
  agent: Agent,
  origin: string,
  maxResponseBytes: number,
): { readonly fetch: FetchLike; readonly fetchWhole: FetchLike } {
  const dispatcher = new CappedDispatcher(agent, maxResponseBytes, origin);
  const fetch = async (input: string | URL | Request, init: RequestInit = {}): Promise<Response> => {
    const body = init.body instanceof globalThis.FormData ? toUndiciForm(init.body) : init.body;
    // A call answered whole that `fetchWhole` handed over (a redirect's second leg): its bound goes
    // with it, on every leg, as on `fetchWhole`'s own (no stream or upload carries one).
    const idleMs = (init as WholeInit).idleTimeoutMs;
    const response = (await undiciFetch(input as Parameters<typeof undiciFetch>[0], {
      ...(init as Parameters<typeof undiciFetch>[1]),
      body: body as never,
      dispatcher:
        idleMs === undefined ? dispatcher : new CappedDispatcher(agent, maxResponseBytes, origin, idleMs),
    })) as unknown as Response;
    return capBody(response, maxResponseBytes);
  };
  return { fetch, fetchWhole: createWholeFetch(agent, origin, maxResponseBytes, fetch) };
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
 * With `idleMs` (a call answered whole, `WholeInit`), each leg's body is held to it between its
 * bytes by undici's own `bodyTimeout`, as on `fetchWhole`, ending as `StalledAnswerError`; and its
 * headers wait for the run deadline alone (`headersTimeout` off), as there.
 */
class CappedDispatcher extends Dispatcher {
  constructor(
    private readonly agent: Agent,
    private readonly maxBytes: number,
    private readonly origin: string,
    private readonly idleMs?: number,
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
    const { idleMs } = this;
    if (idleMs === undefined)
      return this.agent.dispatch(options, new CountingHandler(handler, this.maxBytes));
    return this.agent.dispatch(
      { ...options, bodyTimeout: idleMs, headersTimeout: 0 },
      new CountingHandler(handler, this.maxBytes, idleMs),
    );
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
    /** The bound its body was sent with, if any: undici's body timeout is told as its stall. */
    private readonly idleMs?: number,
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
    const told = this.idleMs === undefined ? error : (stalledOr(error, this.idleMs) as Error);
    if (this.inner.onError === undefined) throw told;
    this.inner.onError(told);
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

function identityEncoded(headers: Headers): boolean {
  const encoding = headers.get('content-encoding');
  return encoding === null || encoding.trim().toLowerCase() === 'identity' || encoding.trim() === '';
}
