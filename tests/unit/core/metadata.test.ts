/**
 * Caller metadata is capped in bytes of JSON: exact at the boundary, counting every separator, in
 * UTF-8 bytes; what does not fit is dropped key by key and the result says so.
 */
import { describe, expect, it } from 'vitest';
import { capMetadata, capString, isName, MAX_NAME_CHARS, ownerIn } from '../../../src/core/metadata.js';

const size = (value: unknown) => Buffer.byteLength(JSON.stringify(value));

describe('capMetadata', () => {
  it('has nothing to cap when no metadata was given', () => {
    expect(capMetadata(undefined, 100)).toEqual({ value: undefined, truncated: false });
  });

  it('keeps the owner first and always, whatever comes before it (the caller budgets count by)', () => {
    // Before, keys before it filled the cap and the owner was dropped: charged to nobody's budget.
    const metadata = { pad: 'x'.repeat(60), owner: 'mallory' };
    const capped = capMetadata(metadata, 40);
    expect(capped).toEqual({ value: { owner: 'mallory' }, truncated: true });
    expect(Object.keys(capped.value ?? {})).toEqual(['owner']);
    expect(size(capped.value)).toBeLessThanOrEqual(40);
    // Counted first: what fits after it is measured with it, exactly.
    const fits = { owner: 'bob', a: 1 };
    expect(capMetadata(fits, size(fits))).toEqual({ value: fits, truncated: false });
    expect(capMetadata(fits, size(fits) - 1)).toEqual({ value: { owner: 'bob' }, truncated: true });
    expect(Object.keys(capMetadata({ a: 1, owner: 'bob' }, 100).value ?? {})).toEqual(['owner', 'a']);
    // An owner that names nobody is a key like any other, kept in its place.
    expect(capMetadata({ a: 1, owner: '' }, 100).value).toEqual({ a: 1, owner: '' });
  });

  it('keeps a `__proto__` key as a key: the copy’s owner is never inherited through it', () => {
    // Before, `out['__proto__'] = ...` set the copy's prototype, and `owner` read `alice` through it.
    const metadata = JSON.parse('{"__proto__": {"owner": "alice", "isAdmin": true}, "note": "n"}');
    const capped = capMetadata(metadata, 4096).value as Record<string, unknown>;
    expect(Object.getPrototypeOf(capped)).toBe(Object.prototype);
    expect(ownerIn(capped)).toBeUndefined();
    expect(capped.isAdmin).toBeUndefined();
    expect(Object.hasOwn(capped, '__proto__')).toBe(true);
    // Each key a plain property, as assignment makes one.
    expect(Object.getOwnPropertyDescriptor(capped, 'note')).toEqual({
      value: 'n',
      enumerable: true,
      writable: true,
      configurable: true,
    });
    expect(JSON.stringify(capped)).toBe('{"__proto__":{"owner":"alice","isAdmin":true},"note":"n"}');
    const stamped = capMetadata({ ...metadata, owner: 'mallory' }, 4096).value;
    expect(ownerIn(stamped)).toBe('mallory');
  });

  it('keeps an empty object as an empty object', () => {
    expect(capMetadata({}, 2)).toEqual({ value: {}, truncated: false });
  });

  it('keeps a key that fits exactly, and drops it one byte short', () => {
    const one = { a: 1 }; // {"a":1} is 7 bytes
    expect(size(one)).toBe(7);
    expect(capMetadata(one, 7)).toEqual({ value: one, truncated: false });
    expect(capMetadata(one, 6)).toEqual({ value: {}, truncated: true });
  });

  it('counts the comma between keys', () => {
    const two = { a: 1, b: 2 }; // {"a":1,"b":2} is 13 bytes
    expect(size(two)).toBe(13);
    expect(capMetadata(two, 13)).toEqual({ value: two, truncated: false });
    expect(capMetadata(two, 12)).toEqual({ value: { a: 1 }, truncated: true });
  });

  it('counts multi-byte characters in keys and values by their bytes', () => {
    const wide = { é: 'ü' }; // {"é":"ü"} is 11 bytes, 9 characters
    expect(size(wide)).toBe(11);
    expect(capMetadata(wide, 11)).toEqual({ value: wide, truncated: false });
    expect(capMetadata(wide, 10)).toEqual({ value: {}, truncated: true });
  });

  it('never returns more bytes than the cap, whatever the keys', () => {
    const metadata = { alpha: 'x'.repeat(10), beta: [1, 2, 3], gamma: { nested: 'é' }, delta: null };
    for (let cap = 2; cap <= size(metadata) + 1; cap++) {
      const capped = capMetadata(metadata, cap);
      expect(size(capped.value)).toBeLessThanOrEqual(cap);
      expect(capped.truncated).toBe(cap < size(metadata));
    }
  });

  it('keeps values as plain JSON copies, not the caller objects', () => {
    const inner = { deep: [1, { x: 'y' }] };
    const capped = capMetadata({ inner, when: new Date(0) }, 1000);
    expect(capped.value).toEqual({ inner: { deep: [1, { x: 'y' }] }, when: '1970-01-01T00:00:00.000Z' });
    expect(capped.value?.inner).not.toBe(inner);
  });

  it('counts string values and keys exactly as their JSON, escapes and lone surrogates included', () => {
    const strings = [
      '',
      'plain',
      'a"b\\c',
      'line\nbreak\t\u0001',
      'é中😀',
      '\ud800x',
      'x\udc00',
      '\u007f\u0080',
    ];
    for (const key of strings) {
      for (const value of strings) {
        const one = { [key]: value };
        const exact = size(one);
        expect(capMetadata(one, exact)).toEqual({ value: one, truncated: false });
        expect(capMetadata(one, exact - 1)).toEqual({ value: {}, truncated: true });
      }
    }
    // Next to other keys, a string costs its comma too.
    const two = { n: 1, s: 'é"' };
    expect(capMetadata(two, size(two))).toEqual({ value: two, truncated: false });
    expect(capMetadata(two, size(two) - 1)).toEqual({ value: { n: 1 }, truncated: true });
    expect(capMetadata({ s: 'é"', n: 1 }, size(two) - 1)).toEqual({ value: { s: 'é"' }, truncated: true });
  });

  it('drops values JSON cannot hold, and says so', () => {
    expect(capMetadata({ f: () => 1, u: undefined, ok: true }, 100)).toEqual({
      value: { ok: true },
      truncated: true,
    });
  });
});

describe('capString', () => {
  it('keeps a string that fits and marks a cut one', () => {
    expect(capString('abc', 3)).toBe('abc');
    expect(capString('abcd', 3)).toBe('ab…');
  });
});

describe('ownerIn', () => {
  it('is the caller metadata’s `owner` when a non-empty string, else nothing', () => {
    expect(ownerIn({ owner: 'token:alice', other: 1 })).toBe('token:alice');
    for (const caller of [undefined, {}, { owner: '' }, { owner: 3 }, { owner: null }])
      expect(ownerIn(caller as Record<string, unknown> | undefined)).toBeUndefined();
  });
});

describe('isName', () => {
  it('takes strings of min to 256 characters, and nothing else with a length', () => {
    expect(MAX_NAME_CHARS).toBe(256);
    expect(isName('a')).toBe(true);
    expect(isName('x'.repeat(256))).toBe(true);
    expect(isName('x'.repeat(257))).toBe(false);
    expect(isName('')).toBe(false);
    expect(isName('', 0)).toBe(true);
    expect(isName('ab', 3)).toBe(false);
    expect(isName('abc', 3)).toBe(true);
    for (const other of [['a'], 5, null, undefined, { length: 1 }]) expect(isName(other, 0)).toBe(false);
  });
});
