/**
 * A chat request's size for the queue bound: always `Buffer.byteLength(JSON.stringify(request))`,
 * whatever its messages are, and a deeply frozen message measured once (remembered by identity)
 * while one that is not frozen all the way down is measured again each time.
 */
import { describe, expect, it } from 'vitest';
import { freezeKept, messageBytes, requestBytes } from '../../../src/core/request-bytes.js';

const bytes = (value: unknown) => Buffer.byteLength(JSON.stringify(value));

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const key in value) deepFreeze((value as Record<string, unknown>)[key]);
    Object.freeze(value);
  }
  return value;
}

describe('requestBytes', () => {
  it('is the UTF-8 length of the request’s JSON, with any number of messages and any other fields', () => {
    const cases: Record<string, unknown>[] = [
      { model: 'm', messages: [] },
      { model: 'm', messages: [{ role: 'user', content: 'ü ✓ 🎉 "q"' }] },
      {
        messages: [
          { role: 'user', content: 'a' },
          { role: 'assistant', content: null },
        ],
        max_tokens: 5,
      },
      { model: 'm', messages: [undefined, () => 1, 'text', 3, null, { toJSON: () => undefined }] },
      {
        model: 'm',
        messages: [{ role: 'user', content: 'x' }],
        tools: [{ type: 'function' }],
        extra: { a: [1] },
      },
      { model: 'm', messages: 'not an array' },
      { model: 'm' },
    ];
    for (const request of cases) expect(requestBytes(request)).toBe(bytes(request));
  });

  it('remembers a deeply frozen message by identity, and measures one that can change every time', () => {
    const kept = deepFreeze({
      role: 'user',
      content: 'kept',
      tool_calls: [{ id: '1', function: { name: 'f' } }],
    });
    expect(requestBytes({ messages: [kept] })).toBe(bytes({ messages: [kept] }));
    expect(requestBytes({ messages: [kept, kept] })).toBe(bytes({ messages: [kept, kept] }));

    // Frozen on top, but its tool calls may change: measured afresh.
    const shallow = Object.freeze({ role: 'assistant', content: 'a', tool_calls: [{ id: '1' }] });
    const request = { messages: [shallow] };
    expect(requestBytes(request)).toBe(bytes(request));
    (shallow.tool_calls as { id: string }[]).push({ id: 'a longer second call' });
    expect(requestBytes(request)).toBe(bytes(request));

    // Not frozen at all: measured afresh.
    const open = { role: 'user', content: 'short' };
    expect(requestBytes({ messages: [open] })).toBe(bytes({ messages: [open] }));
    open.content = 'much longer than it was';
    expect(requestBytes({ messages: [open] })).toBe(bytes({ messages: [open] }));

    // Frozen, but of a class whose JSON is its own business: measured afresh, on top or inside.
    let said = 'one';
    class Note {
      toJSON() {
        return { role: 'user', content: said };
      }
    }
    const note = Object.freeze(new Note());
    const holder = deepFreeze({ role: 'user', content: 'x', extra: { note } });
    Object.freeze(note);
    const notes = { messages: [note, holder] };
    expect(requestBytes(notes)).toBe(bytes(notes));
    said = 'a good deal longer than one';
    expect(requestBytes(notes)).toBe(bytes(notes));

    // Frozen for more levels than are looked at, with a changing part below them: measured afresh.
    const bottom = { text: 'short' };
    let tower: unknown = bottom;
    for (let i = 0; i < 12; i++) tower = Object.freeze({ inner: tower });
    const towering = { messages: [tower] };
    expect(requestBytes(towering)).toBe(bytes(towering));
    bottom.text = 'a good deal longer than short';
    expect(requestBytes(towering)).toBe(bytes(towering));

    // Frozen all the way down but deeper than looked at: measured afresh, still exact.
    let deep: unknown = 'leaf';
    for (let i = 0; i < 12; i++) deep = { inner: deep };
    deepFreeze(deep);
    expect(requestBytes({ messages: [deep] })).toBe(bytes({ messages: [deep] }));
  });

  it('freezes a message a store read back and takes the size it counted; not one that cannot be frozen all the way', () => {
    const kept = { role: 'user', content: [{ type: 'text', text: 'read back from a store' }] };
    freezeKept(kept, 1000);
    expect(Object.isFrozen(kept.content[0])).toBe(true);
    expect(requestBytes({ messages: [kept] })).toBe(bytes({ messages: [] }) + 1000);
    expect(messageBytes(kept)).toBe(1000);
    // Without a size: frozen, and measured (exactly) when counted.
    const unsized = { role: 'user', content: 'no size kept' };
    freezeKept(unsized, undefined);
    expect(Object.isFrozen(unsized)).toBe(true);
    expect(requestBytes({ messages: [unsized] })).toBe(bytes({ messages: [unsized] }));
    // Deeper than looked at, or holding a class instance: it could still change, so it is measured.
    let deep: unknown = 'leaf';
    for (let i = 0; i < 12; i++) deep = { inner: deep };
    freezeKept(deep, 1000);
    expect(requestBytes({ messages: [deep] })).toBe(bytes({ messages: [deep] }));
    const dated = { role: 'user', content: 'x', at: new Date(0) };
    freezeKept(dated, 1000);
    expect(requestBytes({ messages: [dated] })).toBe(bytes({ messages: [dated] }));
    freezeKept(null, 1000);
    freezeKept('text', 1000);
    expect(messageBytes(null)).toBe(4);
    expect(messageBytes('text')).toBe(6);
  });

  it('measures a remembered message without walking it again', () => {
    // A frozen message whose string would be expensive to walk: remembered, a second request of
    // it costs nothing like the first. Counted through a getter that JSON reads once per walk.
    let reads = 0;
    // Frozen plain data of every kind inside: arrays, a null-prototype object, null, a function.
    const message = {
      role: 'user',
      name: null,
      tool_calls: Object.freeze([Object.freeze({ id: '1', function: Object.freeze({ name: 'f' }) })]),
      extra: Object.freeze(Object.assign(Object.create(null), { a: 1 })),
      hook: () => 1,
    };
    Object.defineProperty(message, 'content', {
      enumerable: true,
      get: () => {
        reads++;
        return 'counted';
      },
    });
    Object.freeze(message);
    const first = requestBytes({ messages: [message] });
    const after = reads;
    expect(requestBytes({ messages: [message] })).toBe(first);
    expect(reads).toBe(after);
    expect(first).toBe(bytes({ messages: [message] }));
  });

  it('counts exactly up to a limit and stops past it: a `messages` of length 1e9 is not read', () => {
    const message = { role: 'user', content: 'twelve chars' };
    const request = { model: 'm', messages: [message, message, message] };
    const size = bytes(request);
    for (let limit = size - 60; limit <= size + 1; limit++) {
      const counted = requestBytes(request, limit);
      if (size <= limit) expect(counted).toBe(size);
      else expect(counted).toBeGreaterThan(limit);
    }
    let reads = 0;
    const huge = new Proxy([message], {
      get(target, key, receiver) {
        if (key === 'length') return 1e9;
        if (typeof key === 'string' && /^\d+$/.test(key)) reads++;
        return Reflect.get(target, key, receiver);
      },
    });
    expect(requestBytes({ messages: huge }, 256 * 1024 * 1024)).toBeGreaterThan(256 * 1024 * 1024);
    expect(reads).toBe(0);
    // Within the limit by its length, past it by its messages: read until past.
    const many = new Proxy(
      Array.from({ length: 300 }, () => message),
      {
        get(target, key, receiver) {
          if (typeof key === 'string' && /^\d+$/.test(key)) reads++;
          return Reflect.get(target, key, receiver);
        },
      },
    );
    expect(requestBytes({ messages: many }, 1000)).toBeGreaterThan(1000);
    expect(reads).toBeLessThan(50);
  });

  it('counts each message in what is left of the limit', () => {
    let reads = 0;
    const parts = new Proxy([{ type: 'text', text: 'x' }], {
      get(target, key, receiver) {
        if (key === 'length') return 300;
        if (typeof key === 'string' && /^\d+$/.test(key)) reads++;
        return Reflect.get(target, key, receiver);
      },
    });
    const request = {
      messages: [
        { role: 'user', content: 'x'.repeat(500) },
        { role: 'user', content: parts },
      ],
    };
    expect(requestBytes(request, 1000)).toBeGreaterThan(1000);
    expect(reads).toBe(0);
  });

  it('remembers a frozen message counted exactly at the limit', () => {
    let reads = 0;
    const message = { role: 'user' };
    Object.defineProperty(message, 'content', {
      enumerable: true,
      get: () => {
        reads++;
        return 'counted';
      },
    });
    Object.freeze(message);
    const size = bytes(message);
    expect(messageBytes(message, size)).toBe(size);
    const after = reads;
    expect(messageBytes(message)).toBe(size);
    expect(reads).toBe(after);
  });

  it('does not remember a frozen message counted only until past a limit', () => {
    const message = deepFreeze({ role: 'user', content: 'x'.repeat(100), tool_calls: [{ id: 'a' }] });
    expect(messageBytes(message, 10)).toBeGreaterThan(10);
    expect(messageBytes(message)).toBe(bytes(message));
    expect(messageBytes(message, 10)).toBe(bytes(message)); // remembered now, whole
  });
});
