/**
 * The Redis task store against the shared store contract, plus what only a shared store does:
 * Redis's own expiry, and two stores (two instances) on one prefix seeing each other's changes.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidCursorError, type TaskRecord } from '../../../src/ports/task-store.js';
import { RedisTaskStore, type RedisTaskStoreOptions } from '../../../src/scale/redis-task-store.js';
import { type RedisServer, startRedis } from '../../support/redis.js';
import { answer, record, taskStoreContract } from './tasks-store-contract.js';

let server: RedisServer;
let redis: Redis;
const stores: RedisTaskStore[] = [];
let prefixSeq = 0;

beforeAll(async () => {
  server = await startRedis();
  redis = new Redis(server.url);
});
afterAll(async () => {
  await Promise.all(stores.map((s) => s.close()));
  redis?.disconnect();
  await server?.stop();
});

function storeOn(prefix: string, options: RedisTaskStoreOptions = {}): RedisTaskStore {
  const store = new RedisTaskStore(redis, { prefix, ...options });
  stores.push(store);
  return store;
}

taskStoreContract('RedisTaskStore', async (options) => storeOn(`u${++prefixSeq}`, options));

async function until<T>(read: () => Promise<T>, ok: (value: T) => boolean, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (ok(value) || Date.now() > deadline) return value;
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('RedisTaskStore in Redis', () => {
  it('stores plain JSON that Redis itself expires after the TTL', async () => {
    const prefix = `u${++prefixSeq}`;
    const store = storeOn(prefix, { expiryGraceMs: 0 });
    const now = Date.now();
    // Long enough for the reads below on a busy machine (200 ms had run out before them under load).
    await store.create(record('a', now, { ttlMs: 1500 }));
    const key = `${prefix}:mcptasks:r:a`;
    expect(JSON.parse((await redis.get(key))!)).toMatchObject({ taskId: 'a', status: 'working' });
    const ttl = await redis.pttl(key);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(1500);
    // A status change keeps the expiry.
    await store.update('a', { status: 'completed', result: { content: [] } });
    expect(await redis.pttl(key)).toBeGreaterThan(0);
    expect(
      await until(
        () => redis.exists(key),
        (n) => n === 0,
      ),
    ).toBe(0);
    expect(await store.get('a')).toBeUndefined();
  });

  it('shares records, changes and expiries between two stores on one prefix', async () => {
    let now = 0;
    const prefix = `u${++prefixSeq}`;
    const a = storeOn(prefix, { now: () => now });
    const b = storeOn(prefix, { now: () => now });
    const seenOnB: TaskRecord[] = [];
    b.subscribe((r) => seenOnB.push(r));
    // The subscriber connects asynchronously; the first change may precede it.
    await until(
      async () => {
        await a.create(record(`probe${seenOnB.length}`, now, { ttlMs: 5 }));
        return seenOnB.length;
      },
      (n) => n > 0,
    );
    await a.create(record('t', now, { owner: 's1' }));
    await b.update('t', { status: 'completed', statusMessage: 'done', result: { content: [] } });
    expect(await a.get('t')).toMatchObject({ status: 'completed', result: { content: [] } });
    // The record A created reaches B over pub/sub; B's own change reaches it directly.
    await until(
      async () => seenOnB.filter((r) => r.taskId === 't').length,
      (n) => n === 2,
    );
    expect(seenOnB.filter((r) => r.taskId === 't').map((r) => r.status)).toEqual(
      expect.arrayContaining(['working', 'completed']),
    );
    expect((await b.list({ owner: 's1', limit: 10 })).tasks.map((t) => t.taskId)).toEqual(['t']);
    now = 2000;
    // Both instances learn of the expiry, whichever sweeps first.
    expect(await b.sweep()).toContain('t');
    expect(await a.sweep()).toContain('t');
    expect(await a.get('t')).toBeUndefined();
  });

  it('opens on every instance of a prefix the cursors one gave, and on no other prefix', async () => {
    const prefix = `u${++prefixSeq}`;
    const [a, b] = [storeOn(prefix), storeOn(prefix)];
    const elsewhere = storeOn(`u${++prefixSeq}`);
    for (const store of [a, elsewhere])
      for (const id of ['t1', 't2', 't3']) await store.create(record(id, Date.now(), { owner: 's1' }));
    // Both set the key at once, on a fresh prefix: one is kept, and a cursor of either opens on both.
    const [first, second] = await Promise.all([a, b].map((s) => s.list({ owner: 's1', limit: 1 })));
    for (const store of [a, b])
      for (const page of [first, second])
        expect((await store.list({ owner: 's1', limit: 5, cursor: page!.nextCursor! })).tasks).toHaveLength(
          2,
        );
    await expect(
      elsewhere.list({ owner: 's1', limit: 5, cursor: first!.nextCursor! }),
    ).rejects.toBeInstanceOf(InvalidCursorError);
    expect(await redis.exists(`${prefix}:mcptasks:cursorKey`)).toBe(1);
  });

  it('keeps no owner counts, owner names or finished sets for tasks it no longer holds', async () => {
    let now = 0;
    const prefix = `u${++prefixSeq}`;
    const store = storeOn(prefix, { now: () => now, maxTasks: 3, maxTasksPerOwner: 2 });
    await store.create(record('a1', now, { owner: 'A', status: 'completed' }));
    await store.create(record('a2', now, { owner: 'A', status: 'completed' }));
    await store.create(record('a3', now, { owner: 'A' }));
    await store.create(record('b1', now, { owner: 'B' }));
    await store.update('b1', { status: 'completed' });
    await store.create(record('b2', now, { owner: 'B' }));
    // a1 (A's bound) and a2 (the store's) made room: gone from every key.
    expect(await redis.hgetall(`${prefix}:mcptasks:whose`)).toEqual({ a3: 'A', b1: 'B', b2: 'B' });
    expect(await redis.zrange(`${prefix}:mcptasks:holders`, 0, -1, 'WITHSCORES')).toEqual([
      'A',
      '1',
      'B',
      '2',
    ]);
    expect(await redis.exists(`${prefix}:mcptasks:done:A`, `${prefix}:mcptasks:r:a1`)).toBe(0);
    expect(await redis.zrange(`${prefix}:mcptasks:done:B`, 0, -1)).toEqual(['b1']);
    now = 5000;
    expect([...(await store.sweep())].sort()).toEqual(['a3', 'b1', 'b2']);
    const left = await redis.keys(`${prefix}:mcptasks:*`);
    expect(left.sort()).toEqual([`${prefix}:mcptasks:expiries`, `${prefix}:mcptasks:seq`]);
  });

  it("counts the results' bytes by owner, and keeps none of those counts for tasks it no longer holds", async () => {
    let now = 0;
    const prefix = `u${++prefixSeq}`;
    const store = storeOn(prefix, { now: () => now, maxResultBytes: 3_000, maxResultBytesPerOwner: 2_000 });
    const key = (name: string) => `${prefix}:mcptasks:${name}`;
    for (const id of ['a1', 'a2', 'b1', 'x1']) {
      await store.create(record(id, now, { ...(id.startsWith('x') ? {} : { owner: id[0]!.toUpperCase() }) }));
    }
    await store.update('a1', { status: 'completed', result: answer(1_200) });
    await store.update('b1', { status: 'completed', result: answer(700) });
    await store.update('a2', { status: 'completed', result: answer(1_000) });
    // A's 2,200 bytes were past its 2,000: a1 made room, and took its counts along.
    expect(await redis.hgetall(key('size'))).toEqual({ b1: '700', a2: '1000' });
    expect(await redis.zrange(key('bytes'), 0, -1, 'WITHSCORES')).toEqual(['B', '700', 'A', '1000']);
    expect(await redis.get(key('bytesTotal'))).toBe('1700');
    expect(await redis.zrange(key('kept:A'), 0, -1)).toEqual(['a2']);
    // The owner-less holder counts under '' in the whole bound: 1,700 + 1,500 is past 3,000, A goes.
    await store.update('x1', { status: 'completed', result: answer(1_500) });
    expect(await redis.zrange(key('bytes'), 0, -1, 'WITHSCORES')).toEqual(['B', '700', '', '1500']);
    expect(await redis.get(key('bytesTotal'))).toBe('2200');
    now = 5000;
    expect([...(await store.sweep())].sort()).toEqual(['b1', 'x1']);
    const left = await redis.keys(`${prefix}:mcptasks:*`);
    expect(left.sort()).toEqual([key('expiries'), key('seq')]);
  });

  it('makes room and ends even where its keys disagree (a kept result no longer indexed)', async () => {
    const prefix = `u${++prefixSeq}`;
    const store = storeOn(prefix, { now: () => 0, maxResultBytes: 10_000, maxResultBytesPerOwner: 2_000 });
    for (const id of ['a1', 'a2', 'a3']) await store.create(record(id, 0, { owner: 'A' }));
    await store.update('a1', { status: 'completed', result: answer(1_000) });
    await store.update('a2', { status: 'completed', result: answer(1_000) });
    // As a Redis that evicted keys under memory pressure might leave it: a1 kept, but unindexed.
    await redis.zrem(`${prefix}:mcptasks:index`, 'a1');
    // Before: its victim loop picked a1 for ever (drop() leaves what is not indexed), and Redis hung.
    await store.update('a3', { status: 'completed', result: answer(1_000) });
    expect(await redis.zrange(`${prefix}:mcptasks:kept:A`, 0, -1)).toEqual(['a2', 'a3']);
  });

  it('holds one owner to its share when two instances create for it at once', async () => {
    const prefix = `u${++prefixSeq}`;
    const options = { maxTasks: 100, maxTasksPerOwner: 3 };
    const [a, b] = [storeOn(prefix, options), storeOn(prefix, options)];
    const now = Date.now();
    const outcomes = await Promise.allSettled(
      Array.from({ length: 12 }, (_, i) =>
        (i % 2 === 0 ? a : b).create(record(`t${i}`, now, { owner: 'A', ttlMs: 60_000 })),
      ),
    );
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(3);
    expect((await a.list({ owner: 'A', limit: 20 })).tasks).toHaveLength(3);
    expect(await redis.zscore(`${prefix}:mcptasks:holders`, 'A')).toBe('3');
  });

  it('keeps concurrent updates from two stores: a terminal status set by one is final for both', async () => {
    const prefix = `u${++prefixSeq}`;
    const a = storeOn(prefix);
    const b = storeOn(prefix);
    await a.create(record('t', Date.now(), { ttlMs: 60_000 }));
    await Promise.all([
      a.update('t', { status: 'cancelled', statusMessage: 'cancelled by tasks/cancel' }),
      b.update('t', { sessionIds: ['s1'] }),
      b.update('t', { result: { content: [{ type: 'text', text: 'first' }] } }),
    ]);
    const final = await b.update('t', { status: 'completed', result: { content: [] } });
    expect(final).toMatchObject({ status: 'cancelled', sessionIds: ['s1'] });
    expect(final?.result).toEqual({ content: [{ type: 'text', text: 'first' }] });
  });
});

it('refuses a bad bound before it opens a connection (one opened first stayed open)', async () => {
  const clients = async () => ((await redis.client('LIST')) as string).trim().split('\n').length;
  const before = await clients();
  await expect(RedisTaskStore.connect(server.url, { maxTasks: 0 })).rejects.toThrow(/maxTasks/);
  await new Promise((resolve) => setTimeout(resolve, 100));
  expect(await clients()).toBe(before);
});
