/**
 * Reads a request body under a byte cap and a nesting bound, before any MCP machinery sees it: a
 * body over the cap is refused without being buffered whole, and one nested deeper than the bound
 * is refused before a recursive validator could overflow the stack on it.
 */
import { isUtf8 } from 'node:buffer';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { jsonBytes } from '../core/json-bytes.js';
import { json, rpcError } from './http-reply.js';

export type BodyRead =
  | { readonly kind: 'ok'; readonly value: unknown }
  | { readonly kind: 'tooLarge' }
  /** The bytes of every body being received at once, or of its caller's, are over their bound (`BodyBudget`). */
  | { readonly kind: 'busy'; readonly bound: 'all' | 'caller' }
  | { readonly kind: 'invalid' }
  /** Bytes that are no UTF-8 text (`utf8Text`): a parse error, as invalid JSON is. */
  | { readonly kind: 'notUtf8' }
  | { readonly kind: 'tooDeep' };

/**
 * The text of `bytes`, or `undefined` when they are not UTF-8. JSON text exchanged between systems
 * is UTF-8 (RFC 8259 §8.1); read leniently, each bad byte became U+FFFD and the request went on with
 * text its client never sent (a Latin-1 `é` in a prompt reached the model as `�`). A byte order
 * mark is kept, so `JSON.parse` refuses it as before.
 */
export function utf8Text(bytes: Buffer): string | undefined {
  return isUtf8(bytes) ? bytes.toString('utf8') : undefined;
}

/** Deepest JSON nesting accepted; MCP messages nest a handful of levels, tool schemas a few dozen. */
export const DEFAULT_MAX_JSON_DEPTH = 64;

/**
 * The bytes of all request bodies being received at once, across connections: each body holds what
 * it has buffered until it is parsed. Without it, slow clients each sending a body just under the
 * cap over the 30 s request timeout made the server hold connections x 4 MiB. And each caller's
 * (`maxBytesPerCaller`): one client stalling a few large bodies held all of it, and every other
 * client's POST got 503 until its bodies timed out.
 */
export class BodyBudget {
  #held = 0;
  readonly #byCaller = new Map<string, number>();
  constructor(
    readonly maxBytes: number,
    readonly maxBytesPerCaller = maxBytes,
  ) {}

  /** Holds `bytes` more for `caller` if they fit; otherwise says which bound they would pass. */
  take(bytes: number, caller = ''): 'all' | 'caller' | undefined {
    const mine = this.#byCaller.get(caller) ?? 0;
    if (this.#held + bytes > this.maxBytes) return 'all';
    if (mine + bytes > this.maxBytesPerCaller) return 'caller';
    this.#held += bytes;
    this.#byCaller.set(caller, mine + bytes);
    return undefined;
  }

  give(bytes: number, caller = ''): void {
    this.#held -= bytes;
    const left = (this.#byCaller.get(caller) ?? 0) - bytes;
    if (left > 0) this.#byCaller.set(caller, left);
    else this.#byCaller.delete(caller);
  }

  get held(): number {
    return this.#held;
  }
}

export async function readBody(
  req: IncomingMessage,
  maxBytes: number,
  maxDepth = DEFAULT_MAX_JSON_DEPTH,
  budget: BodyBudget = new BodyBudget(Number.POSITIVE_INFINITY),
  /** Whose share of `budget` the bytes count against (a scope key). */
  caller = '',
): Promise<BodyRead> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) {
    req.resume(); // drain without keeping it, so the 413 can be written
    return { kind: 'tooLarge' };
  }
  // Events, not `for await`: leaving an async iterator early destroys the socket, and the 413 with it.
  let held = 0;
  let busy: 'all' | 'caller' = 'all';
  const body = await new Promise<Buffer | 'tooLarge' | 'busy'>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const stop = (why: 'tooLarge' | 'busy') => {
      req.off('data', onData);
      chunks.length = 0; // given back to the budget: not kept while the rest drains
      req.resume(); // keep draining so the response can still be written
      resolve(why);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) return stop('tooLarge');
      const over = budget.take(chunk.length, caller);
      if (over !== undefined) {
        busy = over;
        return stop('busy');
      }
      held += chunk.length;
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('end', () => {
      // The request lives until its response ends (a call's POST, while it waits and runs): a
      // listener left on it kept this promise, and the body's bytes it resolved to, that long
      // (until 2026-12-08: each held POST kept its raw body beside the parsed one).
      req.off('data', onData);
      req.off('error', reject);
      resolve(size > maxBytes ? 'tooLarge' : Buffer.concat(chunks));
    });
    // A client that goes away mid-body (or is cut off by the request timeout) ends here too, and
    // its bytes go back at once.
    req.once('error', reject);
  }).finally(() => budget.give(held, caller));
  if (body === 'busy') return { kind: 'busy', bound: busy };
  if (body === 'tooLarge') return { kind: body };
  const text = utf8Text(body);
  if (text === undefined) return { kind: 'notUtf8' };
  if (text.trim() === '') return { kind: 'invalid' };
  if (jsonDepth(text) > maxDepth) return { kind: 'tooDeep' };
  try {
    return { kind: 'ok', value: JSON.parse(text) as unknown };
  } catch {
    return { kind: 'invalid' };
  }
}

/** Longest a body over the cap is read and dropped before its 413 goes out anyway (or half the request timeout). */
export const DRAIN_REFUSED_MS = 10_000;

/**
 * The 413 of a body over the cap (`readBody` left it draining), once the client has sent the rest,
 * read and dropped, or after `DRAIN_REFUSED_MS` (at most half of `requestTimeoutMs`, Node's bound on
 * a whole request), the connection closed with it. Until 2026-12-06 the 413 went out at once with
 * the connection closed: a client still sending met a reset, and fetch (undici, under the SDK's
 * client) failed `EPIPE` without the 413 in 7 of 8 calls measured with a body of 4.5 to 40 MiB against a
 * 4 MiB cap, so a user never read "Request body over N bytes" or where to raise it. Until the 413
 * goes out the request still holds its caller's open-request place.
 */
export function refuseTooLarge(
  req: IncomingMessage,
  res: ServerResponse,
  maxBytes: number,
  requestTimeoutMs: number,
): void {
  const answer = () => {
    if (res.headersSent) return;
    res.setHeader('Connection', 'close');
    json(res, 413, rpcError(-32000, `Request body over ${maxBytes} bytes`));
  };
  if (req.complete) {
    answer();
    return;
  }
  const timer = setTimeout(
    answer,
    requestTimeoutMs > 0 ? Math.min(DRAIN_REFUSED_MS, requestTimeoutMs / 2) : DRAIN_REFUSED_MS,
  );
  timer.unref();
  req.once('end', () => {
    clearTimeout(timer);
    answer();
  });
  req.once('close', () => clearTimeout(timer));
}

/** The most bytes of a request's JSON outside `params.arguments` (`HttpAppOptions.maxEnvelopeBytes`). */
export const DEFAULT_MAX_ENVELOPE_BYTES = 64 * 1024;

/**
 * The bytes of a JSON-RPC request's JSON outside `params.arguments`: its id, `_meta` and any other
 * field. The server holds a request whole for as long as it waits (a tool call in the queue, a
 * `tasks/result` wait), and the queue's bytes (`maxQueuedBytes`) count only the request its
 * provider gets: before 2026-12-03, 40 queued calls with 2 MB in `_meta`, in an unknown `params`
 * field or in the id held 165 MB that `queuedBytes` showed as 2 KB, and one caller could hold its
 * 2,580 open requests of 4 MiB each. 0 for anything but a request (a notification, a response), and
 * for `initialize`, answered at once, whose whole size has a bound of its own (`initializeRefusal`).
 */
export function envelopeBytes(message: unknown): number {
  if (message === null || typeof message !== 'object' || Array.isArray(message)) return 0;
  const request = message as Record<string, unknown>;
  if (typeof request.method !== 'string' || !('id' in request) || request.method === 'initialize') return 0;
  const params = request.params;
  if (params === null || typeof params !== 'object' || !('arguments' in params)) return jsonBytes(request);
  return jsonBytes({ ...request, params: { ...params, arguments: null } });
}

/** The envelope bytes of the first request in `body` (one message or a batch) over `max`, if any. */
export function envelopeOver(body: unknown, max: number): number | undefined {
  for (const message of Array.isArray(body) ? body : [body]) {
    const bytes = envelopeBytes(message);
    if (bytes > max) return bytes;
  }
  return undefined;
}

/**
 * The bytes of a batch (a 2025-era body of two messages or more) that carries a request;
 * `undefined` for anything else. The SDK holds a batch whole until its last answer, whatever else it
 * carries: until 2026-12-08 a chat call batched with a notification, a response or a request
 * answered at once (`list_models`, `prompts/get`) of 3 MB held those 3 MB for as long as the call
 * waited and ran, counted by nothing (40 such calls: 115 MB; a caller's open requests at 4 MiB
 * each, about 10 GB). A message of its own holds only itself: its envelope (`envelopeBytes`) and
 * its arguments, which the queue's bytes count while it waits.
 */
export function batchBytes(body: unknown): number | undefined {
  if (!Array.isArray(body) || body.length < 2) return undefined;
  const request = (m: unknown) =>
    typeof (m as { method?: unknown } | null)?.method === 'string' && 'id' in (m as object);
  return body.some(request) ? jsonBytes(body) : undefined;
}

/** The refusal of a batch over `max` bytes. */
export function batchMessage(bytes: number, max: number): string {
  return `Invalid Request: expected a batch of at most ${max} bytes (it is held whole until its last answer), got ${bytes}: send its large messages as POSTs of their own`;
}

/**
 * The most bytes of an `initialize` request (HTTP). The SDK keeps its capabilities and client info
 * for the session's life, so its size is held per session (1,000 sessions): until 2026-12-03 only
 * the body's bound applied, 4 MiB a session (an audit: 3.5 MB of capabilities in 40 sessions took
 * the server from 224 to 632 MB). Room left for a client's icons as data URIs.
 */
export const MAX_INITIALIZE_BYTES = 256 * 1024;

/** The refusal of an `initialize` request over `MAX_INITIALIZE_BYTES`; `undefined` for anything else. */
export function initializeRefusal(body: unknown): string | undefined {
  if ((body as { method?: unknown } | null)?.method !== 'initialize') return undefined;
  const bytes = jsonBytes(body);
  if (bytes <= MAX_INITIALIZE_BYTES) return undefined;
  return `Invalid Request: expected an initialize request of at most ${MAX_INITIALIZE_BYTES} bytes (the server keeps its capabilities and client info for the session's life), got ${bytes}`;
}

/** The refusal of a request whose envelope is over the bound. */
export function envelopeMessage(bytes: number, max: number): string {
  return `Invalid Request: expected at most ${max} bytes of a request's JSON outside \`params.arguments\` (its id, \`_meta\` and other fields, held while it waits), got ${bytes}`;
}

/**
 * The deepest bracket nesting in JSON text, counted without parsing (brackets inside strings are
 * skipped), so the bound is checked in one pass with no recursion.
 */
export function jsonDepth(text: string): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92)
        i++; // backslash: skip the escaped character
      else if (c === 34) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 123 || c === 91) {
      depth++;
      if (depth > deepest) deepest = depth;
    } else if (c === 125 || c === 93) depth--;
  }
  return deepest;
}
