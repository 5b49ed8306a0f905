/**
 * Caller metadata is capped in bytes of JSON, once, at submission, so a large or hostile object
 * can never make a result fail or grow without bound. What does not fit is dropped key by key and
 * the result says so (`truncated: true`); a value that cannot be serialised is replaced, not thrown.
 */
import { jsonBytes, stringBytes } from './json-bytes.js';

export interface CappedMetadata {
  readonly value: Readonly<Record<string, unknown>> | undefined;
  readonly truncated: boolean;
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
    const comma = used > 2 ? 1 : 0;
    const keyBytes = stringBytes(key);
    // Weighed before it is serialised, and only until past the room left: a value over it is
    // dropped unread (until 2026-12-07 each was serialised whole first, so `{ blob }` with an array
    // of ten million entries was copied to JSON before the cap dropped it).
    const room = maxBytes - used - comma - keyBytes - 1;
    const bytes = weigh(raw, room);
    if (bytes > room) {
      truncated = true;
      continue;
    }
    // A string (the MCP front's `owner`, on every call) is its own copy: its JSON is counted, not
    // built and parsed back.
    // Stryker disable next-line ConditionalExpression,StringLiteral: a shortcut; a string through safeJson costs the same bytes and comes back equal.
    const json = typeof raw === 'string' ? null : safeJson(raw);
    if (json === undefined) {
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
    used += comma + keyBytes + 1 + bytes;
  }
  return { value: out, truncated };
}

/**
 * `value`'s bytes of JSON, counted until past `room`; past any room when JSON cannot carry it (a
 * cycle, a bigint).
 */
function weigh(value: unknown, room: number): number {
  try {
    // Stryker disable BlockStatement: the catch block below; an empty one gives `undefined`, no count over the room, and `safeJson` then fails on the same value and drops it.
    return jsonBytes(value, room);
  } catch {
    // Stryker restore BlockStatement
    return Number.POSITIVE_INFINITY;
  }
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
