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
import { jsonBytes } from './json-bytes.js';

const NO_MESSAGES: readonly unknown[] = Object.freeze([]);
/** Nesting looked at for frozenness; a deeper message is measured every time. */
const MAX_DEPTH = 8;
const known = new WeakMap<object, number>();

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
  const whole = freezeAll(message, 0);
  // Stryker disable next-line ConditionalExpression: a shortcut; a size of `undefined` remembered reads as none (`messageBytes` measures the message).
  if (bytes === undefined) return;
  if (whole && typeof message === 'object' && message !== null) known.set(message, bytes);
}

/** Freezes `value` down to `MAX_DEPTH`; whether it is now plain data frozen all the way down. */
function freezeAll(value: unknown, depth: number): boolean {
  if (typeof value !== 'object' || value === null) return true;
  // Stryker disable next-line ConditionalExpression,EqualityOperator: a bound on the recursion only; a message past it is measured every time, the same count
  if (depth >= MAX_DEPTH) return false;
  let whole = plain(value);
  for (const key in value) {
    // Stryker disable next-line ArithmeticOperator: the depth only bounds the recursion (above)
    if (!freezeAll((value as Record<string, unknown>)[key], depth + 1)) whole = false;
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
