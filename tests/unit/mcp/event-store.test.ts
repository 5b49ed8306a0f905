import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MemoryEventStore, sessionEventStore, UnknownEventError } from '../../../src/mcp/event-store.js';
import type { EventStore } from '../../../src/ports/event-store.js';

const message = (n: number) => ({ jsonrpc: '2.0' as const, method: 'notifications/progress', params: { n } });

async function replay(store: EventStore, after: string) {
  const sent: [string, unknown][] = [];
  const stream = await store.replayEventsAfter(after, {
    send: async (id, m) => {
      sent.push([id, m]);
    },
  });
  return { stream, sent };
}

describe('MemoryEventStore', () => {
  it('replays only the later events of the same stream, without priming events', async () => {
    const store = new MemoryEventStore();
    const priming = await store.storeEvent('a', {} as never);
    const a1 = await store.storeEvent('a', message(1));
    await store.storeEvent('b', message(2));
    const a2 = await store.storeEvent('a', message(3));
    expect(await store.getStreamIdForEventId(a1)).toBe('a');
    const { stream, sent } = await replay(store, priming);
    expect(stream).toBe('a');
    expect(sent).toEqual([
      [a1, message(1)],
      [a2, message(3)],
    ]);
    expect((await replay(store, a2)).sent).toEqual([]);
  });

  it('keeps at most maxEvents, dropping the oldest, and refuses to resume from a dropped event', async () => {
    const store = new MemoryEventStore({ maxEvents: 3 });
    const ids = [];
    for (let n = 0; n < 5; n++) ids.push(await store.storeEvent('s', message(n)));
    expect(store.size).toBe(3);
    expect(await store.getStreamIdForEventId(ids[0]!)).toBeUndefined();
    await expect(replay(store, ids[1]!)).rejects.toThrow(UnknownEventError);
    await expect(replay(store, ids[1]!)).rejects.toThrow(/dropped past the event store's bound/);
    expect((await replay(store, ids[2]!)).sent.map(([id]) => id)).toEqual([ids[3], ids[4]]);
  });

  it('keeps at most maxBytes of event JSON, dropping the oldest; an event over it alone is not kept', async () => {
    const big = (n: number) => ({ ...message(n), params: { n, text: 'x'.repeat(60) } });
    const size = Buffer.byteLength(JSON.stringify(big(0)));
    const store = new MemoryEventStore({ maxBytes: size * 3 });
    expect(new MemoryEventStore().maxBytes).toBe(64 * 1024 * 1024);
    const ids = [];
    for (let n = 0; n < 5; n++) ids.push(await store.storeEvent('s', big(n)));
    expect(store.size).toBe(3);
    expect(store.bytes).toBe(size * 3);
    await expect(replay(store, ids[1]!)).rejects.toThrow(UnknownEventError);
    expect((await replay(store, ids[2]!)).sent).toEqual([
      [ids[3], big(3)],
      [ids[4], big(4)],
    ]);
    const huge = await store.storeEvent('s', { ...message(9), params: { text: 'y'.repeat(size * 4) } });
    expect(store.size).toBe(0);
    expect(store.bytes).toBe(0);
    await expect(replay(store, huge)).rejects.toThrow(UnknownEventError);
  });

  it("forgets every event of one owner and nothing of another's, streams they share included", async () => {
    const store = new MemoryEventStore();
    const b1 = await store.storeEvent('s', message(1), 'bob');
    await store.storeEvent('a1', message(2), 'alice');
    await store.storeEvent('s', message(3), 'alice');
    await store.storeEvent('a2', message(4), 'alice');
    const b2 = await store.storeEvent('s', message(5), 'bob');
    const before = store.bytes;
    store.forgetOwner('alice');
    store.forgetOwner('nobody');
    expect(store.size).toBe(2);
    expect(store.streams).toBe(1);
    expect([...store.usage().keys()]).toEqual(['bob']);
    expect(store.bytes).toBe(before - 3 * JSON.stringify(message(2)).length);
    expect((await replay(store, b1)).sent).toEqual([[b2, message(5)]]);
    // It holds events again as a new owner would.
    await store.storeEvent('a1', message(6), 'alice');
    expect(store.usage().get('alice')).toMatchObject({ events: 1 });
  });

  it("a session's view drops its events when it closes, only when they are its own (no token)", async () => {
    const store = new MemoryEventStore();
    const own = sessionEventStore(store, 'sid-1', 'anonymous');
    const token = sessionEventStore(store, 'sid-2', 'alice');
    await own.storeEvent('x', message(1));
    await token.storeEvent('x', message(2));
    own.close();
    token.close();
    expect(store.size).toBe(1);
    expect([...store.usage().keys()]).toEqual(['alice']);
  });

  it('refuses a bound that is not a positive integer', () => {
    expect(() => new MemoryEventStore({ maxEvents: 0 })).toThrow(/positive integer, got 0/);
    expect(() => new MemoryEventStore({ maxBytes: 1.5 })).toThrow(
      /`maxBytes` to be a positive integer, got 1.5/,
    );
  });

  describe('between callers', () => {
    const big = (n: number) => ({ ...message(n), params: { n, text: 'x'.repeat(1000) } });
    const bigSize = Buffer.byteLength(JSON.stringify(big(0)));

    it('an event’s id tells its client nothing of the events of other callers', async () => {
      const store = new MemoryEventStore();
      const alice = sessionEventStore(store, 's1', 'alice');
      const bob = sessionEventStore(store, 's2', 'bob');
      const before = await alice.storeEvent('_GET_stream', message(0));
      for (let n = 0; n < 50; n++) await bob.storeEvent(`call-${n}`, message(n));
      const after = await alice.storeEvent('_GET_stream', message(1));
      // Until 2026-12-05 the part after the stream was the store's count of events: Alice's ids
      // ended `_1` and `_52`, so she read off them that the other callers' streams had 50 meanwhile.
      const tail = (id: string) => id.slice(id.lastIndexOf('_') + 1);
      expect(tail(before)).not.toMatch(/^\d+$/);
      expect(tail(after)).not.toMatch(/^\d+$/);
      // Her stream resumes as before (the ids are found, not counted), and no id is given out twice.
      expect((await replay(alice, before)).sent).toEqual([[after, message(1)]]);
      expect(after).not.toBe(before);
    });

    it("one caller's flood past maxBytes drops its own oldest events, never a smaller caller's", async () => {
      const store = new MemoryEventStore({ maxBytes: bigSize * 10 });
      const alice = sessionEventStore(store, 's1', 'alice');
      const mallory = sessionEventStore(store, 's2', 'mallory');
      const kept = [];
      for (let n = 0; n < 3; n++) kept.push(await alice.storeEvent('call', message(n)));
      const flood = [];
      for (let n = 0; n < 100; n++) flood.push(await mallory.storeEvent('call', big(n)));
      expect(store.bytes).toBeLessThanOrEqual(store.maxBytes);
      // Alice's stream is whole: she resumes from her first event and gets the two after it.
      const { stream, sent } = await replay(alice, kept[0]!);
      expect(stream).toBe('call');
      expect(sent).toEqual([
        [kept[1], message(1)],
        [kept[2], message(2)],
      ]);
      // Mallory lost her own oldest, and resuming from them is refused as documented.
      await expect(replay(mallory, flood[0]!)).rejects.toThrow(/dropped past the event store's bound/);
      expect((await replay(mallory, flood.at(-2)!)).sent).toEqual([[flood.at(-1), big(99)]]);
      expect(store.usage().get('alice')).toEqual({
        events: 3,
        bytes: 3 * Buffer.byteLength(JSON.stringify(message(0))),
      });
    });

    it("one caller's flood past maxEvents drops its own oldest events, never a smaller caller's", async () => {
      const store = new MemoryEventStore({ maxEvents: 10 });
      const alice = sessionEventStore(store, 's1', 'alice');
      const mallory = sessionEventStore(store, 's2', 'mallory');
      const first = await alice.storeEvent('call', message(0));
      const second = await alice.storeEvent('call', message(1));
      for (let n = 0; n < 50; n++) await mallory.storeEvent('call', message(n));
      expect(store.size).toBe(10);
      expect((await replay(alice, first)).sent).toEqual([[second, message(1)]]);
      expect(store.usage().get('mallory')?.events).toBe(8);
    });

    it('takes from the largest holder by the bound that is exceeded, between equals the one holding the oldest', async () => {
      const store = new MemoryEventStore({ maxEvents: 4 });
      const a1 = await store.storeEvent('a', message(1), 'a');
      const b1 = await store.storeEvent('b', message(2), 'b');
      const a2 = await store.storeEvent('a', message(3), 'a');
      const b2 = await store.storeEvent('b', message(4), 'b');
      // Two each: the fifth event goes past maxEvents and `a`, holding the oldest, pays.
      const c1 = await store.storeEvent('c', message(5), 'c');
      expect(await store.getStreamIdForEventId(a1)).toBeUndefined();
      for (const id of [b1, a2, b2, c1]) expect(await store.getStreamIdForEventId(id)).toBeDefined();
      // Now `b` holds the most (two): it pays, though `a`'s event is older.
      await store.storeEvent('c', message(6), 'c');
      expect(await store.getStreamIdForEventId(b1)).toBeUndefined();
      expect(await store.getStreamIdForEventId(a2)).toBe('a');
    });

    it('counts holders by the bound that is exceeded: events past maxEvents, bytes past maxBytes', async () => {
      const byCount = new MemoryEventStore({ maxEvents: 4, maxBytes: bigSize * 10 });
      const heavy = await byCount.storeEvent('h', big(0), 'heavy');
      const many = [];
      for (let n = 0; n < 4; n++) many.push(await byCount.storeEvent('m', message(n), 'many'));
      // Past maxEvents: `many` holds more events (though fewer bytes) and pays.
      expect(await byCount.getStreamIdForEventId(heavy)).toBe('h');
      expect(await byCount.getStreamIdForEventId(many[0]!)).toBeUndefined();

      const byBytes = new MemoryEventStore({ maxEvents: 100, maxBytes: bigSize * 2 });
      const small = [];
      for (let n = 0; n < 4; n++) small.push(await byBytes.storeEvent('m', message(n), 'many'));
      const h1 = await byBytes.storeEvent('h', big(1), 'heavy');
      const h2 = await byBytes.storeEvent('h', big(2), 'heavy');
      // Past maxBytes: `heavy` holds more bytes (though fewer events) and pays.
      expect(await byBytes.getStreamIdForEventId(h1)).toBeUndefined();
      expect(await byBytes.getStreamIdForEventId(h2)).toBe('h');
      for (const id of small) expect(await byBytes.getStreamIdForEventId(id)).toBe('m');
    });

    it("an event over maxBytes alone takes its own caller's older events with it, and no one else's", async () => {
      const store = new MemoryEventStore({ maxBytes: bigSize * 4 });
      const alice = sessionEventStore(store, 's1', 'alice');
      const mallory = sessionEventStore(store, 's2', 'mallory');
      const a = [await alice.storeEvent('call', big(0)), await alice.storeEvent('call', big(1))];
      const m = await mallory.storeEvent('call', big(2));
      const huge = await mallory.storeEvent('call', {
        ...message(9),
        params: { text: 'y'.repeat(bigSize * 5) },
      });
      // Mallory's stream loses everything up to the huge event: no resume skips over it.
      await expect(replay(mallory, m)).rejects.toThrow(UnknownEventError);
      await expect(replay(mallory, huge)).rejects.toThrow(UnknownEventError);
      expect((await replay(alice, a[0]!)).sent).toEqual([[a[1], big(1)]]);
      expect(store.bytes).toBe(bigSize * 2);
    });
  });
});

describe('MemoryEventStore against a model of the policy', () => {
  it('keeps exactly what the policy keeps, within both bounds, and every stream keeps only its newest; replay gives the kept rest of a stream in order', async () => {
    const op = fc.record({
      owner: fc.constantFrom('a', 'b', 'c'),
      stream: fc.constantFrom('1', '2'),
      pad: fc.integer({ min: 0, max: 60 }),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 40, max: 300 }),
        fc.array(op, { maxLength: 40 }),
        // Shared: the callers store into the same streams, so a caller's eviction can take an event
        // from the middle of a stream (a library's own use; a session's stream has one caller).
        fc.boolean(),
        async (maxEvents, maxBytes, ops, shared) => {
          const store = new MemoryEventStore({ maxEvents, maxBytes });
          // The model: every live event in store order, and the policy run on it naively.
          type Event = { id: string; owner: string; stream: string; bytes: number; seq: number };
          let live: Event[] = [];
          const all: Event[] = [];
          for (const [seq, { owner, stream, pad }] of ops.entries()) {
            const m = { jsonrpc: '2.0' as const, method: 'm', params: { t: 'x'.repeat(pad) } };
            const streamId = shared ? stream : `${owner}/${stream}`;
            const id = await store.storeEvent(streamId, m, owner);
            const event = { id, owner, stream: streamId, bytes: JSON.stringify(m).length, seq };
            live.push(event);
            all.push(event);
            const total = () => live.reduce((n, e) => n + e.bytes, 0);
            while (live.length > maxEvents || total() > maxBytes) {
              const byCount = live.length > maxEvents;
              const held = (o: string) =>
                live.filter((e) => e.owner === o).reduce((n, e) => n + (byCount ? 1 : e.bytes), 0);
              const oldestOf = (o: string) => live.find((e) => e.owner === o) as Event;
              const owners = [...new Set(live.map((e) => e.owner))];
              owners.sort((x, y) => held(y) - held(x) || oldestOf(x).seq - oldestOf(y).seq);
              const victim = oldestOf(owners[0] as string);
              live = live.filter((e) => e !== victim);
            }
          }
          expect(store.size).toBe(live.length);
          expect(store.bytes).toBe(live.reduce((n, e) => n + e.bytes, 0));
          expect(store.streams).toBe(new Set(live.map((e) => e.stream)).size);
          expect(store.size).toBeLessThanOrEqual(maxEvents);
          expect(store.bytes).toBeLessThanOrEqual(maxBytes);
          const kept = new Set(live.map((e) => e.id));
          for (const e of all) {
            expect(await store.getStreamIdForEventId(e.id)).toBe(kept.has(e.id) ? e.stream : undefined);
          }
          // No gaps: once a stream of one caller has a kept event, every later event of it is kept.
          if (!shared)
            for (const stream of new Set(all.map((e) => e.stream))) {
              const mine = all.filter((e) => e.stream === stream).map((e) => kept.has(e.id));
              expect(mine.slice(mine.indexOf(true)).every(Boolean) || !mine.includes(true)).toBe(true);
            }
          // Replay after any kept event: the kept events of its stream stored after it, in order.
          for (const e of live) {
            const sent: string[] = [];
            const streamId = await store.replayEventsAfter(e.id, {
              send: async (eventId) => {
                sent.push(eventId);
              },
            });
            expect(streamId).toBe(e.stream);
            expect(sent).toEqual(live.filter((l) => l.stream === e.stream && l.seq > e.seq).map((l) => l.id));
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
