/**
 * `ownRequest`: the runtime's own copy of a submitted request, made in the walk that measures it.
 * Its bytes are those of the JSON its provider gets without `model` (troupe's fields not counted),
 * each value of the caller's is read once, and past the limit the copy stops.
 */
import { describe, expect, it } from 'vitest';
import { MAX_FALLBACKS } from '../../../src/core/metadata.js';
import { freezeKept, ownRequest } from '../../../src/core/request-bytes.js';

const bytes = (value: unknown) => Buffer.byteLength(JSON.stringify(value));
/** The request as sent, without troupe's fields: what `bytes` counts. */
const body = (request: Record<string, unknown>) => {
  const { provider: _p, model: _m, stream: _s, fallbacks: _f, ...rest } = request;
  return rest;
};

class Point {
  constructor(
    readonly x: number,
    readonly y: number,
  ) {}
}

describe('ownRequest', () => {
  it('counts what JSON writes of the request but troupe’s fields, and copies it as plain data', () => {
    const deep: Record<string, unknown> = {};
    let at = deep;
    for (let i = 0; i < 40; i++) {
      const next: Record<string, unknown> = { i };
      at.next = next;
      at = next;
    }
    const cases: Record<string, unknown>[] = [
      {},
      { model: 'm', provider: 'p', stream: true, fallbacks: [{ model: 'x' }] },
      { messages: [] },
      { messages: [{ role: 'user', content: 'ü ✓ 🎉 "q"\n\u0001' }], temperature: 0.5, max_tokens: 7 },
      {
        model: 'm',
        messages: [{ role: 'assistant', content: null, tool_calls: [{ id: 'c', type: 'function' }] }],
      },
      { messages: [undefined, null, 5, 'text', true, false], stop: ['a', 'b'] },
      { extra: { nested: [[1, [2, { three: 3 }]], {}], empty: [], none: null, off: false, n: -1.5e-7 } },
      { extra: { at: new Date(0), point: new Point(1, 2), text: new String('boxed'), deep } },
      {
        extra: { skipped: undefined, fn: () => 1, list: [undefined, () => 1, Symbol('s')], nan: Number.NaN },
      },
      { extra: { toJSON: () => 'replaced' } },
      { extra: Object.assign(Object.create(null), { bare: 1 }) },
    ];
    for (const request of cases) {
      const own = ownRequest(request);
      expect(own.bytes, JSON.stringify(request)).toBe(bytes(body(request)));
      expect(own.fields).toBe(Object.keys(JSON.parse(JSON.stringify(body(request)))).length);
      expect(JSON.stringify(own.request)).toBe(JSON.stringify(request));
      expect(own).not.toHaveProperty('unjsonable');
    }
    // Containers are its own; values JSON writes otherwise come back as their JSON.
    const messages = [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }];
    const own = ownRequest({ messages, extra: { at: new Date(0), point: new Point(1, 2) } }).request;
    expect(own.messages).not.toBe(messages);
    expect((own.messages as unknown[])[0]).not.toBe(messages[0]);
    expect(((own.messages as { content: unknown }[])[0] as { content: unknown }).content).not.toBe(
      messages[0]?.content,
    );
    expect(own.extra).toEqual({ at: '1970-01-01T00:00:00.000Z', point: { x: 1, y: 2 } });
    expect(Object.getPrototypeOf((own.extra as { point: object }).point)).toBe(Object.prototype);
    // Kept as given where the checks read them: NaN (refused by name), undefined members.
    const kept = ownRequest({ temperature: Number.NaN, top_p: undefined }).request;
    expect(kept.temperature).toBeNaN();
    expect(Object.keys(kept)).toEqual(['temperature', 'top_p']);
    // Nested past the depth it copies field by field: its JSON, parsed back.
    expect(ownRequest({ extra: { deep } }).request).toEqual(JSON.parse(JSON.stringify({ extra: { deep } })));
  });

  it('reads each value once, own fields only, and keeps a `__proto__` field as a field', () => {
    const reads: string[] = [];
    const watched = <T extends object>(name: string, target: T): T =>
      new Proxy(target, {
        get(t, key, receiver) {
          if (typeof key === 'string') reads.push(`${name}.${key}`);
          return Reflect.get(t, key, receiver);
        },
      });
    const message = watched('message', { role: 'user', content: 'hi' });
    const request = watched('request', { messages: watched('messages', [message]), model: 'm' });
    ownRequest(request);
    expect(reads.filter((r) => r === 'message.content')).toHaveLength(1);
    expect(reads.filter((r) => r === 'messages.0')).toHaveLength(1);
    expect(reads.filter((r) => r === 'messages.length')).toHaveLength(1);
    expect(reads.filter((r) => r === 'request.model')).toHaveLength(1);
    const inherited = Object.assign(Object.create({ temperature: 1 }), { messages: [] });
    expect(ownRequest(inherited).request).toEqual({ messages: [] });
    const proto = ownRequest(JSON.parse('{"extra":{"__proto__":{"x":1}}}')).request;
    expect(Object.keys(proto.extra as object)).toEqual(['__proto__']);
    expect(Object.getPrototypeOf(proto.extra)).toBe(Object.prototype);
    const top = ownRequest(JSON.parse('{"__proto__":{"x":1}}'));
    expect(Object.keys(top.request)).toEqual(['__proto__']);
    expect(top.bytes).toBe(Buffer.byteLength('{"__proto__":{"x":1}}'));
  });

  it('stops past the limit: exact up to it, over it by some count, an array or string over by its length unread', () => {
    const request = { messages: [{ role: 'user', content: 'a'.repeat(50) }], temperature: 1 };
    const exact = bytes(request);
    expect(ownRequest(request, exact).bytes).toBe(exact);
    expect(ownRequest(request, exact - 1).bytes).toBeGreaterThan(exact - 1);
    let reads = 0;
    const long = new Proxy(['x'], {
      get(target, key, receiver) {
        if (key === 'length') return 1e9;
        if (typeof key === 'string' && /^\d+$/.test(key)) reads += 1;
        return Reflect.get(target, key, receiver);
      },
    });
    for (const field of ['messages', 'stop']) {
      const over = ownRequest({ [field]: long }, 1000);
      expect(over.bytes).toBeGreaterThan(1000);
      expect(over.request[field]).toBeUndefined();
    }
    expect(ownRequest({ extra: { list: long } }, 1000).bytes).toBeGreaterThan(1000);
    expect(reads).toBe(0);
    // A string over by its length, a wide object, many messages: stopped, the rest unread.
    expect(ownRequest({ extra: { s: 'é'.repeat(2000) } }, 1000).bytes).toBe(2 + 8 + 2 + 2004 + 2);
    let members = 0;
    const wide = new Proxy(Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`k${i}`, 'v'])), {
      get(target, key, receiver) {
        members += 1;
        return Reflect.get(target, key, receiver);
      },
    });
    expect(ownRequest({ extra: wide }, 100).bytes).toBeGreaterThan(100);
    expect(members).toBeLessThan(20);
    let messageReads = 0;
    const many = new Proxy(
      Array.from({ length: 1000 }, () => ({ role: 'user', content: 'x'.repeat(10) })),
      {
        get(target, key, receiver) {
          if (typeof key === 'string' && /^\d+$/.test(key)) messageReads += 1;
          return Reflect.get(target, key, receiver);
        },
      },
    );
    expect(ownRequest({ messages: many, temperature: 1 }, 200).bytes).toBeGreaterThan(200);
    expect(messageReads).toBeLessThan(10);
    let fieldsRead = 0;
    const after = new Proxy(
      { extra: { s: 'x'.repeat(300) }, temperature: 1, top_p: 1 },
      {
        get(target, key, receiver) {
          fieldsRead += 1;
          return Reflect.get(target, key, receiver);
        },
      },
    );
    expect(ownRequest(after, 100).bytes).toBeGreaterThan(100);
    expect(fieldsRead).toBe(1);
    // A value measured through its JSON stops there too.
    const dates = { extra: { at: { toJSON: () => 'd'.repeat(500) } } };
    expect(ownRequest(dates, 100).bytes).toBeGreaterThan(100);
  });

  it('keeps what JSON cannot carry, for the checks to name, and says what JSON.stringify threw', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    for (const request of [{ temperature: 1n }, { extra: { seed: 2n, later: 'x' } }, { extra: cyclic }]) {
      const own = ownRequest(request);
      expect(own.unjsonable).toBeInstanceOf(TypeError);
    }
    expect(ownRequest({ temperature: 1n }).request.temperature).toBe(1n);
    const first = ownRequest({ extra: { a: 1n, b: cyclic } }).unjsonable as Error;
    expect(first.message).toMatch(/BigInt/);
    // Each call starts clean.
    expect(ownRequest({ messages: [] })).not.toHaveProperty('unjsonable');
  });

  it('takes a store’s kept message as it is, with its remembered size; any other message is copied', () => {
    const stored = { role: 'assistant', content: 'an answer' };
    freezeKept(stored, 500);
    const fresh = { role: 'user', content: 'q' };
    const callerFrozen = Object.freeze({ role: 'user', content: 'frozen' });
    const own = ownRequest({ messages: [fresh, stored, callerFrozen] });
    const copied = own.request.messages as unknown[];
    expect(copied[1]).toBe(stored);
    expect(copied[0]).not.toBe(fresh);
    expect(copied[2]).not.toBe(callerFrozen);
    expect(own.bytes).toBe(bytes({ messages: [fresh, stored, callerFrozen] }) - bytes(stored) + 500);
    // Kept once: saved again (a store does, each turn), it keeps its first size.
    freezeKept(stored, 999);
    expect(ownRequest({ messages: [stored] }).bytes).toBe(bytes({ messages: [] }) + 500);
    // A message with a getter is frozen but not kept: copied, its getter read once.
    let reads = 0;
    const getter = Object.defineProperty({ role: 'user' }, 'content', {
      enumerable: true,
      get: () => `read ${++reads}`,
    });
    freezeKept(getter, 10);
    expect(Object.isFrozen(getter)).toBe(true);
    const copiedGetter = (ownRequest({ messages: [getter] }).request.messages as unknown[])[0];
    expect(copiedGetter).not.toBe(getter);
    expect(copiedGetter).toEqual({ role: 'user', content: 'read 1' });
    // Kept past the limit: the count goes over it and stops.
    expect(ownRequest({ messages: [stored, fresh] }, 100).bytes).toBeGreaterThan(100);
  });

  it('reads fallbacks as routing does: each target’s provider and model, and none past MAX_FALLBACKS', () => {
    const fallbacks = [{ model: 'a', junk: 'x'.repeat(1000) }, { provider: 'p', model: 'b' }, 'c', null];
    const own = ownRequest({ fallbacks });
    expect(own.request.fallbacks).toEqual([{ model: 'a' }, { provider: 'p', model: 'b' }, 'c', null]);
    expect(own.bytes).toBe(2);
    expect(own.fields).toBe(0);
    expect(ownRequest({ fallbacks: 'none' }).request.fallbacks).toBe('none');
    let reads = 0;
    const many = new Proxy(
      Array.from({ length: MAX_FALLBACKS + 1 }, () => ({ model: 'a' })),
      {
        get(target, key, receiver) {
          if (typeof key === 'string' && /^\d+$/.test(key)) reads += 1;
          return Reflect.get(target, key, receiver);
        },
      },
    );
    const refused = ownRequest({ fallbacks: many }).request.fallbacks as unknown[];
    expect(refused).toHaveLength(MAX_FALLBACKS + 1);
    expect(reads).toBe(0);
    expect(ownRequest({ fallbacks: fallbacks.slice(0, MAX_FALLBACKS) }).request.fallbacks).toHaveLength(
      MAX_FALLBACKS,
    );
  });

  it('returns what is not an object as it is, for the checks to refuse', () => {
    for (const request of [null, 'hi', 5, undefined, [1]]) {
      expect(ownRequest(request)).toEqual({ request, bytes: 0, fields: 0 });
    }
  });
});
