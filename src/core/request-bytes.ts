/**
 * The size a chat request waits with (`limits.maxQueuedBytes`): `jsonBytes` of the whole request,
 * `Buffer.byteLength(JSON.stringify(request))`, with each deeply frozen message measured once and
 * remembered by identity. A conversation resent turn after turn (the MCP front's conversation
 * store freezes the messages it keeps) is then walked only for its new messages. A message that is
 * not frozen all the way down is measured every time: it could have changed since.
 *
 * Under a `limit` the count stops once past it, as `jsonBytes` does (a `messages` of length 1e9,
 * made in JavaScript, is not read at all).
 */
import { boundedJson, jsonBytes, leastArrayBytes, stringBytes } from './json-bytes.js';
import { MAX_FALLBACKS } from './metadata.js';

const NO_MESSAGES: readonly unknown[] = Object.freeze([]);
/** Nesting looked at for frozenness; a deeper message is measured every time. */
const MAX_DEPTH = 8;
const known = new WeakMap<object, number>();
/**
 * Messages a conversation store kept (`freezeKept`): plain data, frozen all the way down, with no
 * getter, so `ownRequest` takes them as they are. A caller's frozen message is not among them: a
 * getter on a frozen object may still answer differently on each read.
 */
const kept = new WeakSet<object>();

/** The request's bytes of JSON: exact up to `limit`, past it some count over `limit`. */
export function requestBytes(
  request: { readonly messages?: unknown },
  limit = Number.POSITIVE_INFINITY,
): number {
  const messages = request.messages;
  if (!Array.isArray(messages)) return jsonBytes(request, limit);
  const length = messages.length;
  // `[m1,m2]` in place of `[]`: its commas and each message (`null` for one JSON leaves out). Past
  // the limit by its commas alone, no message is read.
  let bytes = jsonBytes({ ...request, messages: NO_MESSAGES }, limit) + Math.max(0, length - 1);
  for (let i = 0; i < length && bytes <= limit; i++) bytes += messageBytes(messages[i], limit - bytes);
  return bytes;
}

/**
 * One message's bytes as `requestBytes` counts it: remembered for a message frozen all the way
 * down. A conversation's bounds (`conversation-limits.ts`) count with it too, so a kept message is
 * walked once wherever it is measured.
 */
export function messageBytes(message: unknown, limit = Number.POSITIVE_INFINITY): number {
  if (typeof message !== 'object' || message === null) return jsonBytes(message, limit) || 4;
  const remembered = known.get(message);
  if (remembered !== undefined) return remembered;
  const bytes = jsonBytes(message, limit) || 4;
  // Past the limit the count is not the message's size.
  if (bytes <= limit && frozen(message, 0)) known.set(message, bytes);
  return bytes;
}

/**
 * Freezes `message`, plain data a store read back from its JSON (a new object nobody else holds),
 * as far down as it is looked at here, and remembers `bytes` (measured by `messageBytes` when the
 * store kept it) as its size. One that cannot be frozen all the way so (nested deeper than that, or
 * holding a class instance) is not remembered: it is measured when counted.
 */
export function freezeKept(message: unknown, bytes: number | undefined): void {
  // A store saves a conversation's kept messages again on each turn: each is walked once.
  // A WeakSet holds no primitive: `has` of one is false.
  if (kept.has(message as object)) return;
  const whole = freezeAll(message, 0);
  // Stryker disable next-line ConditionalExpression: a shortcut; a size of `undefined` remembered reads as none (`messageBytes` measures the message).
  if (bytes === undefined) return;
  if (whole && typeof message === 'object' && message !== null) {
    known.set(message, bytes);
    kept.add(message);
  }
}

/** Freezes `value` down to `MAX_DEPTH`; whether it is now plain data frozen all the way down. */
function freezeAll(value: unknown, depth: number): boolean {
  if (typeof value !== 'object' || value === null) return true;
  // Stryker disable next-line ConditionalExpression,EqualityOperator: a bound on the recursion only; a message past it is measured every time, the same count
  if (depth >= MAX_DEPTH) return false;
  let whole = plain(value);
  for (const key in value) {
    // A getter is not data: a message holding one is not kept (it may answer differently later).
    const field = Object.getOwnPropertyDescriptor(value, key);
    if (field === undefined || !('value' in field)) {
      whole = false;
      continue;
    }
    // Stryker disable next-line ArithmeticOperator: the depth only bounds the recursion (above)
    if (!freezeAll(field.value, depth + 1)) whole = false;
  }
  Object.freeze(value);
  return whole;
}

/** Plain data: a class may serialise as it likes (`toJSON`), so only plain objects and arrays are remembered. */
function plain(value: object): boolean {
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === Array.prototype || proto === null;
}

/** Whether nothing in `value` can change: primitives, and plain objects and arrays frozen all the way down. */
function frozen(value: unknown, depth: number): boolean {
  // A primitive never changes; a function is left out of JSON (and its frozen holder keeps it).
  if (typeof value !== 'object' || value === null) return true;
  // Stryker disable next-line ConditionalExpression,EqualityOperator: a bound on the recursion only; a message past it is measured every time, the same count
  if (depth >= MAX_DEPTH) return false;
  if (!Object.isFrozen(value) || !plain(value)) return false;
  for (const key in value) {
    // Stryker disable next-line ArithmeticOperator: the depth only bounds the recursion (above)
    if (!frozen((value as Record<string, unknown>)[key], depth + 1)) return false;
  }
  return true;
}

/** A submitted request as the runtime keeps it: a copy of its own, and what its provider gets of it. */
export interface OwnRequest {
  /** Plain data read from the caller's request once (or the request itself, when not an object). */
  readonly request: Record<string, unknown>;
  /**
   * The JSON bytes of the copy without troupe's fields (`provider`, `model`, `stream`, `fallbacks`):
   * exact up to `limit`, past it some count over `limit` (the copy then stops there).
   */
  readonly bytes: number;
  /** How many fields of it JSON writes (0: `{}`). */
  readonly fields: number;
  /** What `JSON.stringify` threw for a value JSON cannot carry (a bigint, a cycle), if it did. */
  readonly unjsonable?: unknown;
}

/** troupe's own fields: copied, read by admission and routing, not sent (`chatRequest`). */
// Stryker disable BooleanLiteral: only `Object.hasOwn` reads the table, never its values
const OWN_FIELDS: Readonly<Record<string, true>> = {
  provider: true,
  model: true,
  stream: true,
  fallbacks: true,
};
// Stryker restore BooleanLiteral
/** Nesting copied field by field; deeper values are copied through their JSON. */
const MAX_COPY_DEPTH = 32;

/**
 * The runtime's own copy of a request, made at `submit` in the one walk that measures it: each
 * field, message and nested value is read once, so what is checked, routed, counted and sent is
 * the same data whatever the caller does after (changes its objects, or answers differently from
 * a getter or a Proxy). Until 2026-12-07 the session kept the caller's objects, read again by each
 * check and at the call: a Proxy measured small was sent large, a `model` getter was validated as
 * one model and routed as another. Plain objects and arrays are copied; strings and other
 * primitives are kept (nothing can change them); a value JSON writes otherwise (a `toJSON`, a class
 * instance, nesting past `MAX_COPY_DEPTH`) is copied as its JSON parsed back; a kept message
 * (`freezeKept`) is taken as it is, counted by its remembered size. Past `limit` the copy stops.
 */
export function ownRequest(request: unknown, limit = Number.POSITIVE_INFINITY): OwnRequest {
  if (typeof request !== 'object' || request === null || Array.isArray(request))
    return { request: request as Record<string, unknown>, bytes: 0, fields: 0 };
  const copy: Record<string, unknown> = {};
  let bytes = 2;
  let fields = 0;
  unjsonable = undefined;
  for (const key in request) {
    if (bytes > limit) break;
    if (!Object.hasOwn(request, key)) continue;
    const value: unknown = (request as Record<string, unknown>)[key];
    if (Object.hasOwn(OWN_FIELDS, key)) {
      // Stryker disable next-line ConditionalExpression: `fallbacksCopy` passes a non-array through; an array `provider`, `model` or `stream` is refused by the checks whatever its copy holds
      put(copy, key, key === 'fallbacks' ? fallbacksCopy(value) : value);
      continue;
    }
    const room = limit - bytes;
    put(
      copy,
      key,
      // Stryker disable next-line ConditionalExpression,LogicalOperator,BooleanLiteral: any array here is copied at depth 1 either way; a kept message taken as it is in another is the same data
      key === 'messages' && Array.isArray(value) ? arrayCopy(value, 1, room, true) : copyOf(value, 0, room),
    );
    if (copied === undefined) continue;
    bytes += stringBytes(key) + 1 + copied;
    fields += 1;
  }
  const own = { request: copy, bytes: fields === 0 ? bytes : bytes + fields - 1, fields };
  return unjsonable === undefined ? own : { ...own, unjsonable };
}

/** The bytes of the value `copyOf` copied last; `undefined` where JSON leaves it out. */
let copied: number | undefined;
/** The first error `JSON.stringify` threw in the request being copied. */
let unjsonable: unknown;

/** A copy of `value`, its bytes in `copied`; past `room`, some of it (and a count over `room`). */
function copyOf(value: unknown, depth: number, room: number): unknown {
  if (typeof value === 'string') {
    // A character is a byte at least: one past the room by its length is not read.
    // Stryker disable next-line ArithmeticOperator,EqualityOperator: `length - 2` only takes the shortcut less often (the exact count is at least `length + 2`); a string that fills the room exactly leaves its key's bytes past it, the request past its limit either way
    copied = value.length + 2 > room ? value.length + 2 : stringBytes(value);
    return value;
  }
  // Stryker disable next-line EqualityOperator: one level more copied field by field instead of through its JSON: the same JSON
  const fieldByField = depth < MAX_COPY_DEPTH;
  if (typeof value !== 'object' || value === null) {
    if (typeof value !== 'bigint') {
      copied = valueBytes(value);
      return value;
    }
  } else if (fieldByField) {
    // Stryker disable next-line ConditionalExpression: an array copied through its JSON is the same JSON (a shortcut)
    if (Array.isArray(value)) return arrayCopy(value, depth + 1, room);
    const proto = Object.getPrototypeOf(value);
    if (
      (proto === Object.prototype || proto === null) &&
      typeof (value as { toJSON?: unknown }).toJSON !== 'function'
    )
      return objectCopy(value as Record<string, unknown>, depth + 1, room);
  }
  let json: string | number | undefined;
  try {
    json = boundedJson(value, room);
  } catch (error) {
    // What JSON cannot carry (a bigint, a cycle) is kept as it is, for the checks to name, and
    // the request refused once checked (`unjsonable`).
    unjsonable ??= error;
    copied = undefined;
    return value;
  }
  copied = typeof json === 'string' ? Buffer.byteLength(json) : json;
  // Stryker disable next-line ConditionalExpression: a count past the room (a number) parsed is that number: past the limit, refused whatever the copy holds
  return typeof json === 'string' ? JSON.parse(json) : undefined;
}

/** A primitive's bytes (not a string's or a bigint's), `undefined` where JSON leaves it out. */
function valueBytes(value: unknown): number | undefined {
  if (value === null) return 4;
  if (typeof value === 'number') return Number.isFinite(value) ? String(value).length : 4;
  if (typeof value === 'boolean') return value ? 4 : 5;
  return undefined;
}

/**
 * A copy of `array`'s entries; with `messages`, a kept message (`freezeKept`) among them is taken as
 * it is, with its remembered size.
 */
function arrayCopy(
  array: readonly unknown[],
  depth: number,
  room: number,
  // Stryker disable next-line BooleanLiteral: a kept message taken as it is in another array is the same data
  messages = false,
): unknown[] | undefined {
  // Its length read once, and weighed before any entry is read.
  const length = array.length;
  const least = leastArrayBytes(length);
  // Stryker disable next-line EqualityOperator: an array whose least bytes fill the room exactly leaves its key's bytes past it, the request past its limit either way
  if (least > room) {
    copied = least;
    return undefined;
  }
  // Stryker disable next-line ArrayDeclaration: the loop sets every index below the length (`new Array()` grows to it)
  const out: unknown[] = new Array(length);
  let bytes = 2 + Math.max(0, length - 1);
  // Stryker disable next-line EqualityOperator: at the room exactly, an entry more is past it (each adds a byte at least)
  for (let i = 0; i < length && bytes <= room; i++) {
    const entry = array[i];
    if (messages && kept.has(entry as object)) {
      out[i] = entry;
      bytes += known.get(entry as object) as number;
      continue;
    }
    out[i] = copyOf(entry, depth, room - bytes);
    bytes += copied ?? 4; // `null`
  }
  copied = bytes;
  return out;
}

function objectCopy(object: Record<string, unknown>, depth: number, room: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  let bytes = 2;
  let members = 0;
  for (const key in object) {
    // Stryker disable next-line EqualityOperator: at the room exactly, only members JSON leaves out fit (the same JSON)
    if (bytes > room) break;
    if (!Object.hasOwn(object, key)) continue;
    put(out, key, copyOf(object[key], depth, room - bytes));
    if (copied === undefined) continue;
    bytes += stringBytes(key) + 1 + copied;
    members += 1;
  }
  copied = members === 0 ? bytes : bytes + members - 1;
  return out;
}

/**
 * `fallbacks` as routing reads it: each target's `provider` and `model`, read once. More than
 * `MAX_FALLBACKS` are not read: an empty array of that length, which routing refuses by it.
 */
function fallbacksCopy(value: unknown): unknown {
  if (!Array.isArray(value)) return value;
  const length: number = value.length;
  if (length > MAX_FALLBACKS) return new Array(length);
  const out: unknown[] = [];
  for (let i = 0; i < length; i++) {
    const target: unknown = value[i];
    if (typeof target !== 'object' || target === null) out.push(target);
    else {
      const { provider, model } = target as { provider?: unknown; model?: unknown };
      out.push(provider === undefined ? { model } : { provider, model });
    }
  }
  return out;
}

/** Sets `key` as an own field, `__proto__` too (JSON.parse makes it one; assigning it sets the prototype). */
function put(object: Record<string, unknown>, key: string, value: unknown): void {
  // Stryker disable next-line ConditionalExpression: defining any key so on a fresh object is assigning it
  if (key === '__proto__')
    // Stryker disable next-line BooleanLiteral: nobody writes or deletes the copy's `__proto__` field
    Object.defineProperty(object, key, { value, writable: true, enumerable: true, configurable: true });
  else object[key] = value;
}
