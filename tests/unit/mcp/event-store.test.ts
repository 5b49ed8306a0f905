import { describe, expect, it } from 'vitest';
import { MemoryEventStore, UnknownEventError } from '../../../src/mcp/event-store.js';

const message = (n: number) => ({ jsonrpc: '2.0' as const, method: 'notifications/progress', params: { n } });

async function replay(store: MemoryEventStore, after: string) {
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

  it('refuses a bound that is not a positive integer', () => {
    expect(() => new MemoryEventStore({ maxEvents: 0 })).toThrow(/positive integer, got 0/);
    expect(() => new MemoryEventStore({ maxBytes: 1.5 })).toThrow(
      /`maxBytes` to be a positive integer, got 1.5/,
    );
  });
});
