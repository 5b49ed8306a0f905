/**
 * `ownRequest` at its edges: a request that fits its limit exactly keeps all of it, one past it
 * reads no more of the caller's values than it needs to say so, and the copy holds what the caller
 * gave, not what JSON or an inherited field would make of it.
 */
import { describe, expect, it } from 'vitest';
import { freezeKept, ownRequest } from '../../../src/core/request-bytes.js';

const bytes = (value: unknown) => Buffer.byteLength(JSON.stringify(value));

/** An array of `length` long strings that counts the entries read. */
function counted(length: number, entry = 'x'.repeat(50)) {
  const reads = { n: 0 };
  const array = new Proxy(
    Array.from({ length }, () => entry),
    {
      get(target, key, receiver) {
        if (typeof key === 'string' && /^\d+$/.test(key)) reads.n++;
        return Reflect.get(target, key, receiver);
      },
    },
  );
  return { array, reads };
}

describe('ownRequest at exactly its limit', () => {
  it('keeps troupe’s fields after the counted ones fill the limit', () => {
    const request = { messages: [{ role: 'user', content: 'hi' }], model: 'm', provider: 'p' };
    const limit = bytes({ messages: request.messages });
    const own = ownRequest(request, limit);
    expect(own.bytes).toBe(limit);
    expect(own.request).toEqual(request);
  });

  it('keeps an array (and `messages`) that fills the room to the byte', () => {
    for (const key of ['stop', 'messages']) {
      const request = { [key]: [1, 2] };
      const own = ownRequest(request, bytes(request));
      expect(own.bytes, key).toBe(bytes(request));
      expect(own.request, key).toEqual(request);
    }
  });

  it('counts a string in an array exactly where its length alone would just fit', () => {
    // `["é"]` is 6 bytes, its length + 2 only 5: at a limit of 11 ({"a":} and 5) it is past.
    expect(ownRequest({ a: ['é'] }, 11).bytes).toBeGreaterThan(11);
    expect(ownRequest({ a: ['é'] }, 12).bytes).toBe(12);
  });
});

describe('ownRequest past its limit', () => {
  it('reads no entry of an array whose commas alone are past the room, wherever it is', () => {
    // 90 bytes before it, a limit of 100: 50 entries (101 bytes at least) cannot fit.
    const pad = 'x'.repeat(80);
    for (const place of ['top', 'array', 'object', 'messages'] as const) {
      const { array, reads } = counted(50);
      const request =
        place === 'top'
          ? { pad, a: array }
          : place === 'array'
            ? { a: [pad, array] }
            : place === 'object'
              ? { a: { pad, b: array } }
              : { messages: [{ pad }, array] };
      expect(ownRequest(request, 100).bytes, place).toBeGreaterThan(100);
      expect(reads.n, place).toBe(0);
    }
  });

  it('stops reading an array’s entries once past the room', () => {
    for (const key of ['stop', 'messages']) {
      const { array, reads } = counted(20);
      expect(ownRequest({ [key]: array }, 100).bytes, key).toBeGreaterThan(100);
      // 52 bytes an entry: the second is past 100.
      expect(reads.n, key).toBe(2);
    }
  });
});

describe('ownRequest’s copy', () => {
  it('leaves out of its count a field JSON leaves out, and counts the rest', () => {
    const request = { top_p: undefined, temperature: 1 };
    expect(ownRequest(request).bytes).toBe(bytes(request));
  });

  it('copies an object without a prototype field by field: its members as given', () => {
    const inner = Object.assign(Object.create(null) as Record<string, unknown>, { x: undefined, y: 1 });
    const copy = ownRequest({ a: inner }).request.a as Record<string, unknown>;
    expect(Object.keys(copy)).toEqual(['x', 'y']);
    expect(copy).not.toBe(inner);
  });

  it('copies arrays nested past any stack without throwing', () => {
    let deep: unknown[] = [];
    for (let i = 0; i < 200_000; i++) deep = [deep];
    expect(() => ownRequest({ a: deep })).not.toThrow();
  });

  it('takes no enumerable field a polluted Object.prototype lends a nested object', () => {
    let copy: Record<string, unknown>;
    Object.defineProperty(Object.prototype, 'polluted', {
      value: 'yes',
      enumerable: true,
      configurable: true,
    });
    try {
      copy = ownRequest({ a: { b: 1 } }).request.a as Record<string, unknown>;
    } finally {
      delete (Object.prototype as Record<string, unknown>).polluted;
    }
    expect(Object.hasOwn(copy, 'polluted')).toBe(false);
    expect(copy).toEqual({ b: 1 });
  });

  it('reads a fallback’s `provider` only where one is given', () => {
    const own = ownRequest({ fallbacks: [{ model: 'a' }, { provider: 'p', model: 'b' }] });
    const fallbacks = own.request.fallbacks as object[];
    expect(fallbacks.map((f) => Object.keys(f))).toEqual([['model'], ['provider', 'model']]);
  });
});

describe('freezeKept', () => {
  it('passes over an inherited enumerable field and keeps no such message', () => {
    const message = Object.assign(Object.create({ inherited: 1 }) as Record<string, unknown>, {
      role: 'user',
      content: 'hi',
    });
    expect(() => freezeKept(message, 30)).not.toThrow();
    // Not kept: copied like any caller's message.
    expect(ownRequest({ messages: [message] }).request.messages).not.toContain(message);
  });
});
