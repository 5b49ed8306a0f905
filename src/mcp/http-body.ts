/**
 * Reads a request body under a byte cap and a nesting bound, before any MCP machinery sees it: a
 * body over the cap is refused without being buffered whole, and one nested deeper than the bound
 * is refused before a recursive validator could overflow the stack on it.
 */
import type { IncomingMessage } from 'node:http';

export type BodyRead =
  | { readonly kind: 'ok'; readonly value: unknown }
  | { readonly kind: 'tooLarge' }
  /** The bytes of every body being received at once, or of its caller's, are over their bound (`BodyBudget`). */
  | { readonly kind: 'busy'; readonly bound: 'all' | 'caller' }
  | { readonly kind: 'invalid' }
  | { readonly kind: 'tooDeep' };

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
    req.once('end', () => resolve(size > maxBytes ? 'tooLarge' : Buffer.concat(chunks)));
    // A client that goes away mid-body (or is cut off by the request timeout) ends here too, and
    // its bytes go back at once.
    req.once('error', reject);
  }).finally(() => budget.give(held, caller));
  if (body === 'busy') return { kind: 'busy', bound: busy };
  if (body === 'tooLarge') return { kind: body };
  const text = body.toString('utf8');
  if (text.trim() === '') return { kind: 'invalid' };
  if (jsonDepth(text) > maxDepth) return { kind: 'tooDeep' };
  try {
    return { kind: 'ok', value: JSON.parse(text) as unknown };
  } catch {
    return { kind: 'invalid' };
  }
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
