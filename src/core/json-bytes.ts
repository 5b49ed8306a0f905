/**
 * The UTF-8 byte length of a value's JSON, `Buffer.byteLength(JSON.stringify(value))`, counted
 * without building the JSON text. Caps in bytes of JSON (a server-held conversation's messages)
 * are checked on every call; serialising each message only to measure it made a string per
 * message per call, most of a conversation store's garbage.
 *
 * Plain data (strings, finite numbers, booleans, null, arrays, plain objects) is counted here,
 * character by character as `JSON.stringify` escapes it (well-formed: a lone surrogate is a
 * six-byte `\uXXXX`). Anything else (a `toJSON` method, a class instance, a bigint, nesting
 * deeper than `MAX_DEPTH`) is measured by `JSON.stringify` itself, so the count always matches
 * and what `JSON.stringify` refuses (a cycle, a bigint) still throws.
 *
 * With a `limit` the count stops once past it: a size checked against a bound needs no more, and a
 * value from code (not JSON) can be far larger than its memory. An array's length says it is at
 * least `2 * length + 1` bytes (brackets, commas, one byte a value), so an array over the limit by
 * its length alone is not read at all: from JavaScript `a.length = 1e9` (or a Proxy of an array)
 * used to be walked index by index, 68 s for one `submit`, before the bound refused it. A string
 * is at least a byte a character and its quotes, so one over the limit by its length is not read.
 */

/** Nesting counted here; deeper values are measured by `JSON.stringify`. */
const MAX_DEPTH = 32;

/**
 * Bytes of `JSON.stringify(value)` in UTF-8; `undefined` (and functions, symbols) count 0. Exact up
 * to `limit`; past it, some count over `limit` (no more was counted).
 */
export function jsonBytes(value: unknown, limit = Number.POSITIVE_INFINITY): number {
  return valueBytes(value, 0, limit) ?? 0;
}

/** The fewest bytes of JSON an array of `length` can be: `[]`, and each value and comma a byte at least. */
export function leastArrayBytes(length: number): number {
  return 2 * length + 1;
}

/**
 * A value's bytes, or `undefined` where `JSON.stringify` leaves it out (as an object member); past
 * `room`, some count over `room`.
 */
function valueBytes(value: unknown, depth: number, room: number): number | undefined {
  // Stryker disable StringLiteral: each case is a shortcut past `measured` (the default), which gives the same count (speed only); this also hides `'function'` in the toJSON check, which the toJSON tests kill
  switch (typeof value) {
    case 'string':
      // A character is a byte at least: a string past the room by its length is not read (a
      // string can be hundreds of megabytes).
      return value.length + 2 > room ? value.length + 2 : stringBytes(value);
    case 'number':
      // `String(n)` is exactly what `JSON.stringify` writes for a finite number (ASCII).
      return Number.isFinite(value) ? String(value).length : 4;
    case 'boolean':
      return value ? 4 : 5;
    case 'undefined':
    case 'function':
    case 'symbol':
      return undefined;
    // Stryker disable next-line ConditionalExpression: without the case an object falls to `measured`, the same count
    case 'object':
      if (value === null) return 4;
      // Stryker disable next-line ConditionalExpression: a shortcut; another object's `length` is not a number's, and `NaN > room` is false
      if (Array.isArray(value)) {
        const least = leastArrayBytes(value.length);
        if (least > room) return least;
      }
      // Stryker disable next-line ConditionalExpression,EqualityOperator,BlockStatement: a bound on our recursion only; past it `measured` gives the same count
      if (depth < MAX_DEPTH) {
        // Stryker disable next-line ConditionalExpression,ArithmeticOperator: an array not counted here goes to `measured`, the same count; the depth only bounds the recursion
        if (Array.isArray(value)) return arrayBytes(value, depth + 1, room);
        const proto = Object.getPrototypeOf(value);
        if (
          // Stryker disable next-line LogicalOperator,ConditionalExpression: `&&` or `false` sends objects to `measured`, the same count (speed only); `→ true` and `!==` are killed by the boxed-primitive tests
          (proto === Object.prototype || proto === null) &&
          typeof (value as { toJSON?: unknown }).toJSON !== 'function'
        )
          return objectBytes(value as Record<string, unknown>, depth + 1, room);
      }
      return measured(value, room);
    default:
      return measured(value, room);
  }
  // Stryker restore StringLiteral
}

// Stryker restore StringLiteral: the one inside `valueBytes`, after its last statement, did not end the region (the replacer's and `written`'s strings were not mutated).
function arrayBytes(array: readonly unknown[], depth: number, room: number): number {
  const length = array.length;
  let bytes = 2 + Math.max(0, length - 1);
  // Each value is counted in what is left of the room; once past it, the rest is not read.
  for (let i = 0; i < length && bytes <= room; i++) bytes += valueBytes(array[i], depth, room - bytes) ?? 4; // `null`
  return bytes;
}

function objectBytes(object: Record<string, unknown>, depth: number, room: number): number {
  let bytes = 2;
  let members = 0;
  for (const key in object) {
    if (bytes > room) break;
    // Stryker disable next-line ConditionalExpression: only plain and null-prototype objects come here, and neither inherits an enumerable key
    if (!Object.hasOwn(object, key)) continue;
    const member = valueBytes(object[key], depth, room - bytes);
    if (member === undefined) continue;
    bytes += stringBytes(key) + 1 + member;
    members += 1;
  }
  return members === 0 ? bytes : bytes + members - 1;
}

/** Past the limit: `measured` stops `JSON.stringify` there. */
const PAST = Symbol('past the limit');

/**
 * `JSON.stringify`'s count. Under a finite `room`, what it meets is counted as it is met at its
 * fewest bytes (an array its brackets and commas, and a byte a value not yet met; a string its
 * length and quotes; an object's member its key), and it is stopped once that alone is over:
 * nesting past `MAX_DEPTH` or a `toJSON` cannot hide a length of 1e9, a wide object or a long string.
 */
function measured(value: unknown, room: number): number | undefined {
  const json = boundedJson(value, room);
  if (typeof json === 'number') return json;
  return json === undefined ? undefined : Buffer.byteLength(json);
}

/**
 * `JSON.stringify(value)` stopped as `measured` stops it: its text (`undefined` where JSON has
 * none), or, once what it met is over `room`, the bytes it was at least then.
 */
export function boundedJson(value: unknown, room: number): string | number | undefined {
  let least = 0;
  let past = 0;
  let root = true;
  const replacer =
    // Stryker disable next-line ConditionalExpression: a shortcut; under no limit the replacer never stops the count
    room === Number.POSITIVE_INFINITY
      ? undefined
      : function (this: unknown, key: string, member: unknown): unknown {
          // A member of an object written is its key at a byte a character, quoted, and a colon (the
          // root's holder, `{"": value}`, is not written); a string is a byte a character and its
          // quotes. Until 2026-12-07 only arrays were counted here, and a wide object or a long
          // string nested past MAX_DEPTH was serialised whole before the limit refused it.
          if (root) root = false;
          else if (!Array.isArray(this) && written(member)) least += key.length + 3;
          if (typeof member === 'string') least += member.length + 2;
          past = least;
          if (Array.isArray(member)) {
            least += member.length + 1;
            past = least + member.length;
          }
          if (past > room) throw PAST;
          return member;
        };
  try {
    return JSON.stringify(value, replacer);
  } catch (error) {
    if (error === PAST) return past;
    throw error;
  }
}

/** Whether an object's member of this value is written by `JSON.stringify` (these are left out). */
function written(member: unknown): boolean {
  const type = typeof member;
  return type !== 'undefined' && type !== 'function' && type !== 'symbol';
}

/** A string's bytes as a JSON string literal, quotes included. */
export function stringBytes(text: string): number {
  let bytes = 2;
  const length = text.length;
  for (let i = 0; i < length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) {
      if (c >= 0x20) bytes += c === 0x22 || c === 0x5c ? 2 : 1;
      // \b \t \n \f \r have two-character escapes; other control characters are \u00XX.
      else bytes += c === 8 || c === 9 || c === 10 || c === 12 || c === 13 ? 2 : 6;
    } else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff) {
      // Past the end `charCodeAt` is NaN, which is no low surrogate.
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        bytes += 4;
        i += 1;
      } else bytes += 6;
    } else if (c >= 0xdc00 && c <= 0xdfff) bytes += 6;
    else bytes += 3;
  }
  return bytes;
}
