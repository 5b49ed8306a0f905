/**
 * The HTTP transport under the OpenAI SDK: one pooled keep-alive undici `Agent` per origin, shared
 * by every provider that talks to that origin, and a `fetch` that caps response bodies.
 *
 * Why undici's own `fetch`: Node 20's global `fetch` bundles an older undici whose dispatcher
 * interface differs from undici 7's `Agent`; mixing them fails at runtime (the SDK warns about it).
 */
import { Agent, FormData as UndiciFormData, fetch as undiciFetch } from 'undici';

export interface TransportOptions {
  /** Sockets per origin. @default 16 */
  readonly maxSockets?: number;
  /** How long an idle socket stays open for reuse, in ms (the server's `Keep-Alive` hint wins when shorter). @default 30000 */
  readonly keepAliveMs?: number;
  /** Largest response body accepted, in bytes; more is a `BAD_RESPONSE`. @default 67108864 (64 MiB) */
  readonly maxResponseBytes?: number;
}

export interface Transport {
  readonly fetch: (input: string | URL | Request, init?: RequestInit) => Promise<Response>;
  /** Releases this user's share of the pooled agent; the last release destroys it. */
  release(): Promise<void>;
}

/** Thrown inside the body stream when a response passes `maxResponseBytes`; mapped to `BAD_RESPONSE`. */
export class ResponseTooLargeError extends Error {
  readonly limitBytes: number;
  constructor(limitBytes: number) {
    super(`Expected a response body of at most ${limitBytes} bytes, got more`);
    this.name = 'ResponseTooLargeError';
    this.limitBytes = limitBytes;
  }
}

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
  let released = false;

  const fetch = async (input: string | URL | Request, init: RequestInit = {}): Promise<Response> => {
    const body = init.body instanceof globalThis.FormData ? toUndiciForm(init.body) : init.body;
    const response = (await undiciFetch(input as Parameters<typeof undiciFetch>[0], {
      ...(init as Parameters<typeof undiciFetch>[1]),
      body: body as never,
      dispatcher: held.agent,
    })) as unknown as Response;
    return capBody(response, maxResponseBytes);
  };
  // The SDK probes `fetch.Response` to decide whether multipart uploads work; the global class
  // encodes global `FormData` correctly, and `fetch` above converts it for undici.
  Object.assign(fetch, { Response: globalThis.Response });

  return {
    fetch,
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
  // A declared length within the cap, not decoded: undici delivers exactly that many bytes (more is
  // a framing error), so the body is already bounded and needs no counting stream, which cost a
  // web-stream hop, a second Response and a macrotask per non-streaming call. A compressed body
  // can decode to far more than its length, and a stream has no length: both are still counted.
  if (Number.isFinite(declared) && identityEncoded(response.headers)) return response;
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
 * Resolves one macrotask later. undici frees a socket a tick after a body's last byte: a caller that
 * read a whole response and sends its next request at once should wait for this first, or the
 * request finds no idle socket and opens another. Bodies `capBody` counts wait in the stream's
 * `flush`; a body it passes untouched (declared length) is read by the SDK, so the provider waits.
 */
export function socketReleased(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function identityEncoded(headers: Headers): boolean {
  const encoding = headers.get('content-encoding');
  return encoding === null || encoding.trim().toLowerCase() === 'identity' || encoding.trim() === '';
}
