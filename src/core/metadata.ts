/**
 * Caller metadata is capped in bytes of JSON, once, at submission, so a large or hostile object
 * can never make a result fail or grow without bound. What does not fit is dropped key by key and
 * the result says so (`truncated: true`); a value that cannot be serialised is replaced, not thrown.
 */
import { stringBytes } from './json-bytes.js';

export interface CappedMetadata {
  readonly value: Readonly<Record<string, unknown>> | undefined;
  readonly truncated: boolean;
}

const encoder = new TextEncoder();

export function byteLength(text: string): number {
  // Fast path: ASCII text is one byte a character.
  // Stryker disable next-line Regex: the fast path only; text it misses is measured by the encoder, to the same length.
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the range is the point.
  return /^[\x00-\x7f]*$/.test(text) ? text.length : encoder.encode(text).length;
}

const NONE: CappedMetadata = Object.freeze({ value: undefined, truncated: false });

export function capMetadata(
  metadata: Readonly<Record<string, unknown>> | undefined,
  maxBytes: number,
): CappedMetadata {
  if (metadata === undefined) return NONE;
  const out: Record<string, unknown> = {};
  let used = 2; // `{}`
  let truncated = false;
  // The owner first, and always: budgets, the history and `status({ owner })` read the caller
  // from this copy, and the queue's share from the metadata as given. Until 2026-12-04 keys before
  // it could fill the cap and drop it, and the session was charged to nobody's budget.
  const owner = ownerIn(metadata);
  if (owner !== undefined) {
    out.owner = owner;
    used += stringBytes('owner') + 1 + stringBytes(owner);
  }
  for (const [key, raw] of Object.entries(metadata)) {
    if (key === 'owner' && owner !== undefined) continue;
    // A string (the MCP front's `owner`, on every call) is its own copy: its JSON is counted, not
    // built and parsed back (`stringBytes` is the UTF-8 length of `JSON.stringify(raw)`).
    // Stryker disable next-line ConditionalExpression,StringLiteral: a shortcut; a string through safeJson costs the same bytes and comes back equal.
    const json = typeof raw === 'string' ? null : safeJson(raw);
    if (json === undefined) {
      truncated = true;
      continue;
    }
    const bytes = json === null ? stringBytes(raw as string) : byteLength(json);
    const cost = stringBytes(key) + 1 + bytes + (used > 2 ? 1 : 0);
    if (used + cost > maxBytes) {
      truncated = true;
      continue;
    }
    // Defined, not assigned: `out['__proto__'] = ...` set the copy's prototype, so a caller's
    // `{"__proto__": {"owner": "alice"}}` made `owner` read `alice` through it (library audit).
    Object.defineProperty(out, key, {
      value: json === null ? raw : JSON.parse(json),
      enumerable: true,
      writable: true,
      configurable: true,
    });
    used += cost;
  }
  return { value: out, truncated };
}

function safeJson(value: unknown): string | undefined {
  try {
    // Stryker disable BlockStatement: the catch block below; an empty one returns undefined too.
    return JSON.stringify(value) ?? undefined;
  } catch {
    // Stryker restore BlockStatement
    return undefined;
  }
}

/** Cuts a string to at most `maxChars`, marking the cut. */
export function capString(text: string, maxChars: number): string {
  return text.length <= maxChars ? text : `${text.slice(0, maxChars - 1)}…`;
}

/**
 * The longest name a session keeps, in characters: its provider and model (a fallback's too), a
 * `run()` task's lane and name, its `label`, `requestId` and caller (`metadata.owner`). Each is in
 * the session's metadata, the ended-session history and every summary: until 2026-12-04 the
 * runtime took any length (200 sessions with a megabyte each kept 400 MB past the history's bound),
 * and the MCP front alone held model ids to this.
 */
export const MAX_NAME_CHARS = 256;

/** A string of `min` to `MAX_NAME_CHARS` characters (an array, which has a `length` too, is not). */
export function isName(value: unknown, min = 1): value is string {
  return typeof value === 'string' && value.length >= min && value.length <= MAX_NAME_CHARS;
}

/**
 * Fallbacks a request (or a model in the providers file) may name: a session's route has at most
 * `1 + MAX_FALLBACKS` entries, so its metadata stays bounded.
 */
export const MAX_FALLBACKS = 4;

/**
 * The caller a session counts for: its caller metadata's own `owner` when a non-empty string (one
 * inherited through a prototype the caller chose is no owner).
 */
export function ownerIn(caller: Readonly<Record<string, unknown>> | undefined): string | undefined {
  if (caller === undefined || !Object.hasOwn(caller, 'owner')) return undefined;
  const owner = caller.owner;
  return typeof owner === 'string' && owner !== '' ? owner : undefined;
}
