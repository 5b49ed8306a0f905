/**
 * A `fetch` for calls answered whole (non-streaming chat completions, model lists): undici's
 * `request()` on the pooled agent, the body read in full and counted, then one `Response` built
 * from its bytes for the `openai` SDK, which parses it as it would any fetch response.
 *
 * Why not undici's WHATWG `fetch` here: at one call in flight it cost the SDK about twice the CPU
 * of this path (request clone, header lists, a web stream per body and the promise hops through
 * it); see docs/performance-log.md, "Issue 19, fourth pass". Streams keep `fetch` (SSE wants a web
 * body, and their per-chunk work is already at the baseline's).
 *
 * What it keeps of `fetch`, because callers relied on it: `accept-encoding` asked as `fetch` asks
 * it and the body decoded (gzip, deflate, br; an unknown coding passes undecoded, as in `fetch`);
 * a redirect followed (sent again through `fetch`, which follows it, with the call's body bound on
 * every leg: `undici-fetch.ts`); the signal aborting the
 * request and closing its connection; the socket free for the caller's next request as soon as
 * the promise resolves. The cap: a declared length over it is refused before reading, every body
 * is counted on the wire as it arrives, and a compressed one again once decoded. A failure after
 * the headers (a cut connection, the cap, a corrupt encoding) reaches the caller where `fetch`
 * put it: in the body, which errors when read.
 *
 * A body that stops coming: with `idleTimeoutMs` on the init (the SDK passes its `fetchOptions`
 * through), the call ends once no byte of the body came for that long after the headers
 * (`StalledAnswerError`, the socket destroyed). It is undici's own `bodyTimeout`, set per request:
 * the timer undici arms for every body anyway (300 s by default), refreshed by its parser as bytes
 * arrive, so the bound costs no timer of ours. Never before the headers: a whole answer's headers
 * come when the model is done, which may take minutes; that wait is the run deadline's alone (undici's
 * own `headersTimeout` is off for such a call).
 */
import type { Readable } from 'node:stream';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import type { Dispatcher } from 'undici';
import { BadEncodingError, ResponseTooLargeError, stalledOr } from './response-cap.js';

export type FetchLike = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

/** What `fetchWhole` reads of its init beyond `RequestInit` (a field `fetch` ignores). */
export interface WholeInit extends RequestInit {
  /**
   * The longest silence of the body once the headers came, in ms; past it the call ends with
   * `StalledAnswerError`. @default undici's `bodyTimeout` (300 s), which ends it as a network error
   */
  readonly idleTimeoutMs?: number;
}

/** Statuses whose response has no body (Fetch standard, "null body status"). */
const NULL_BODY = new Set([101, 103, 204, 205, 304]);
const REDIRECTS = new Set([301, 302, 303, 307, 308]);
/** `fetch` refuses more codings than this (a decompression-bomb guard, as in undici). */
const MAX_CODINGS = 5;

type Decoder = (bytes: Buffer, options: zlib.ZlibOptions | zlib.BrotliOptions) => Promise<Buffer>;
const gunzip = promisify(zlib.gunzip) as Decoder;
const inflate = promisify(zlib.inflate) as Decoder;
const inflateRaw = promisify(zlib.inflateRaw) as Decoder;
const brotli = promisify(zlib.brotliDecompress) as Decoder;

/**
 * `fallback` takes what this path does not: a `Request` object, a body other than a string (uploads,
 * streams), a redirect mode other than `follow`, the second leg of a redirect, and a URL on another
 * origin than `origin` (the transport's, whose dispatcher refuses it: one rule for both paths).
 */
export function createWholeFetch(
  dispatcher: Dispatcher,
  origin: string,
  maxBytes: number,
  fallback: FetchLike,
): FetchLike {
  return async (input, init = {}) => {
    const body = init.body;
    const plain = typeof input === 'string' || input instanceof URL;
    if (!plain || (body != null && typeof body !== 'string') || (init.redirect ?? 'follow') !== 'follow') {
      return fallback(input, init);
    }
    const url = typeof input === 'string' ? new URL(input) : input;
    if (url.origin !== origin) return fallback(input, init);
    const method = (init.method ?? 'GET').toUpperCase();
    const idleMs = (init as WholeInit).idleTimeoutMs;
    const answer = await dispatcher.request({
      origin: url.origin,
      path: `${url.pathname}${url.search}`,
      method: method as Dispatcher.HttpMethod,
      headers: requestHeaders(init.headers, url, typeof body === 'string'),
      body: body ?? null,
      signal: init.signal ?? null,
      // Armed by undici when the headers came, refreshed by each read of the body (null: the agent's).
      bodyTimeout: idleMs ?? null,
      // A session's call (it gives a bound) waits for its headers as long as its run deadline lets
      // it, its signal the end: undici's own 300 s ended a longer wait as a retried NETWORK error.
      headersTimeout: idleMs === undefined ? null : 0,
    });
    const { statusCode: status, headers } = answer;
    // A body nobody reads (a redirect's, a null-body status's) is drained (up to 128 KiB, then the
    // socket is closed) for the socket's reuse; the request's signal still ends it, as it ends
    // every body of `request()`.
    if (REDIRECTS.has(status) && headers.location !== undefined) {
      await answer.body.dump();
      return fallback(input, init);
    }
    const responseInit = { status, statusText: answer.statusText, headers: responseHeaders(headers) };
    if (method === 'HEAD' || NULL_BODY.has(status)) {
      await answer.body.dump();
      return new Response(null, responseInit);
    }
    const declared = Number(headers['content-length'] ?? Number.NaN);
    if (declared > maxBytes) {
      // `dump` with a limit below the declared length closes the connection without reading on,
      // and swallows the abort error this raises in the body.
      void answer.body.dump({ limit: 1 });
      throw new ResponseTooLargeError(maxBytes);
    }
    try {
      const raw = await readAll(answer.body, maxBytes);
      const bytes = await decode(raw, headers['content-encoding'], maxBytes);
      return new Response(
        new Uint8Array(bytes.buffer as ArrayBuffer, bytes.byteOffset, bytes.length),
        responseInit,
      );
    } catch (error) {
      return new Response(failing(idleMs === undefined ? error : stalledOr(error, idleMs)), responseInit);
    }
  };
}

/** The SDK's headers as a flat list, with what `fetch` would add that the SDK does not set. */
function requestHeaders(given: HeadersInit | undefined, url: URL, hasBody: boolean): string[] {
  const headers = new Headers(given);
  // `fetch` asks for compressed bodies (br only over TLS) and decodes them; so does this path.
  if (!headers.has('accept-encoding')) {
    headers.set('accept-encoding', url.protocol === 'https:' ? 'br, gzip, deflate' : 'gzip, deflate');
  }
  if (!headers.has('accept')) headers.set('accept', '*/*');
  if (hasBody && !headers.has('content-type')) headers.set('content-type', 'text/plain;charset=UTF-8');
  const flat: string[] = [];
  headers.forEach((value, name) => {
    flat.push(name, value);
  });
  return flat;
}

function responseHeaders(raw: Record<string, string | string[] | undefined>): Headers {
  const headers = new Headers();
  for (const name in raw) {
    const value = raw[name];
    if (typeof value === 'string') headers.append(name, value);
    else if (value !== undefined) for (const one of value) headers.append(name, one);
  }
  return headers;
}

/** The whole body, counted as it arrives; past `maxBytes` the body (and its socket) is destroyed. */
function readAll(body: Readable, maxBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let seen = 0;
    body.on('data', (chunk: Buffer) => {
      seen += chunk.length;
      if (seen > maxBytes) body.destroy(new ResponseTooLargeError(maxBytes));
      else chunks.push(chunk);
    });
    // undici hands a socket back to its pool one macrotask after the body's last byte (it waits
    // "a full event loop cycle" in case the server closes it): resolving after that lets the
    // caller's next request find it idle instead of opening another.
    body.on('end', () =>
      setImmediate(() => resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, seen))),
    );
    body.on('error', reject);
  });
}

/** Decodes the content codings in reverse order of their listing, as `fetch` does. */
async function decode(raw: Buffer, header: string | string[] | undefined, maxBytes: number): Promise<Buffer> {
  if (header === undefined || raw.length === 0) return raw;
  const codings = String(header).toLowerCase().split(',');
  if (codings.length > MAX_CODINGS) {
    throw new BadEncodingError(`Expected at most ${MAX_CODINGS} content codings, got ${codings.length}`);
  }
  const steps: Decoder[] = [];
  const names: string[] = [];
  for (let i = codings.length - 1; i >= 0; i--) {
    const coding = (codings[i] as string).trim();
    if (coding === '' || coding === 'identity') continue;
    const step = decoderFor(coding);
    // `fetch` passes a body with a coding it does not know undecoded; so does this path.
    if (step === undefined) return raw;
    steps.push(step);
    names.push(coding);
  }
  let bytes = raw;
  for (const [i, step] of steps.entries()) {
    try {
      bytes = await step(bytes, {
        maxOutputLength: maxBytes,
        // As lenient as `fetch` (and curl) with a body cut short of its end marker.
        finishFlush: step === brotli ? zlib.constants.BROTLI_OPERATION_FLUSH : zlib.constants.Z_SYNC_FLUSH,
      });
    } catch (error) {
      if ((error as { code?: unknown }).code === 'ERR_BUFFER_TOO_LARGE')
        throw new ResponseTooLargeError(maxBytes);
      const coding = names[i] ?? 'its coding';
      throw new BadEncodingError(
        `Expected a body that decodes as ${coding} (its Content-Encoding), got bytes that do not (${(error as Error).message})`,
        { cause: error },
      );
    }
  }
  return bytes;
}

function decoderFor(coding: string): Decoder | undefined {
  if (coding === 'gzip' || coding === 'x-gzip') return gunzip;
  if (coding === 'br') return brotli;
  if (coding === 'deflate') {
    // Servers send `deflate` both zlib-wrapped (as the standard says) and raw; `fetch` takes both.
    return (bytes, options) =>
      ((bytes[0] ?? 0) & 0x0f) === 0x08 ? inflate(bytes, options) : inflateRaw(bytes, options);
  }
  return undefined;
}

/** A body that fails when read, with the error reading it met. */
function failing(error: unknown): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      controller.error(error);
    },
  });
}
