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
 */

/** Nesting counted here; deeper values are measured by `JSON.stringify`. */
const MAX_DEPTH = 32;

/** Bytes of `JSON.stringify(value)` in UTF-8; `undefined` (and functions, symbols) count 0. */
export function jsonBytes(value: unknown): number {
  return valueBytes(value, 0) ?? 0;
}

/** A value's bytes, or `undefined` where `JSON.stringify` leaves it out (as an object member). */
function valueBytes(value: unknown, depth: number): number | undefined {
  // Stryker disable StringLiteral: each case is a shortcut past `measured` (the default), which gives the same count (speed only); this also hides `'function'` in the toJSON check, which the toJSON tests kill
  switch (typeof value) {
    case 'string':
      return stringBytes(value);
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
      // Stryker disable next-line ConditionalExpression,EqualityOperator,BlockStatement: a bound on our recursion only; past it `measured` gives the same count
      if (depth < MAX_DEPTH) {
        // Stryker disable next-line ConditionalExpression,ArithmeticOperator: an array not counted here goes to `measured`, the same count; the depth only bounds the recursion
        if (Array.isArray(value)) return arrayBytes(value, depth + 1);
        const proto = Object.getPrototypeOf(value);
        if (
          // Stryker disable next-line LogicalOperator,ConditionalExpression: `&&` or `false` sends objects to `measured`, the same count (speed only); `→ true` and `!==` are killed by the boxed-primitive tests
          (proto === Object.prototype || proto === null) &&
          typeof (value as { toJSON?: unknown }).toJSON !== 'function'
        )
          return objectBytes(value as Record<string, unknown>, depth + 1);
      }
      return measured(value);
    default:
      return measured(value);
  }
  // Stryker restore StringLiteral
}

function arrayBytes(array: readonly unknown[], depth: number): number {
  let bytes = 2 + Math.max(0, array.length - 1);
  for (let i = 0; i < array.length; i++) bytes += valueBytes(array[i], depth) ?? 4; // `null`
  return bytes;
}

function objectBytes(object: Record<string, unknown>, depth: number): number {
  let bytes = 2;
  let members = 0;
  for (const key in object) {
    // Stryker disable next-line ConditionalExpression: only plain and null-prototype objects come here, and neither inherits an enumerable key
    if (!Object.hasOwn(object, key)) continue;
    const member = valueBytes(object[key], depth);
    if (member === undefined) continue;
    bytes += stringBytes(key) + 1 + member;
    members += 1;
  }
  return members === 0 ? bytes : bytes + members - 1;
}

function measured(value: unknown): number | undefined {
  const json = JSON.stringify(value);
  return json === undefined ? undefined : Buffer.byteLength(json);
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
