/**
 * Redis pub/sub delivers at most once: a `session.ended` published while the subscriber
 * connection is cut is lost. The instance that submitted the session reads its result back when
 * the bus reconnects, and must tell its `subscribe()` listeners too (the dashboard's counts,
 * `troupe_sessions_total`, a tracer's span), once: before, they never heard of that end, and the
 * dashboard showed the session live for good (6 of 400 in a load with the bus cut six times).
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Recent } from '../../src/core/recent.js';
import type { ChatProvider } from '../../src/providers/port.js';
import type { EventMessage, SessionStore } from '../../src/runtime/ports.js';
import { createRuntime } from '../../src/runtime/runtime.js';
import type { Runtime, SessionResult } from '../../src/runtime/types.js';
import { applyMessage, missedEnd } from '../../src/scale/ended-here.js';
import type { JobData } from '../../src/scale/job-data.js';
import { redisBackend } from '../../src/scale/redis-backend.js';
import { type RedisServer, startRedis } from '../support/redis.js';

let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});

/** Answers once `release` is called. */
function heldProvider() {
  let release: () => void = () => {};
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  const provider = {
    name: 'p',
    async complete() {
      await released;
      return { content: 'answer' };
    },
    // biome-ignore lint/correctness/useYield: not streamed here.
    async *stream() {
      throw new Error('not used');
    },
  } as unknown as ChatProvider;
  return { provider, release };
}

describe('an end published while the bus was cut', () => {
  it('reaches subscribe() listeners once, after the reconnect', async () => {
    const { provider, release } = heldProvider();
    const runtime = createRuntime({
      providers: [provider],
      defaults: { model: 'm' },
      backend: await redisBackend({ url: redis.url, prefix: 'buscut' }),
    });
    const admin = new Redis(redis.url);
    try {
      await (runtime as Runtime & { ready: Promise<void> }).ready;
      const ends: string[] = [];
      runtime.subscribe((event) => {
        if (event.type === 'session.ended') ends.push(event.sessionId);
      });
      const handle = runtime.submit({ messages: [{ role: 'user', content: 'hello' }] });
      for (let i = 0; i < 200 && runtime.session(handle.id)?.state !== 'running'; i++)
        await new Promise((resolve) => setTimeout(resolve, 10));
      expect(runtime.session(handle.id)?.state).toBe('running');
      // Cut the subscriber, and keep cutting it while the session ends and its end is published.
      await admin.client('KILL', 'TYPE', 'pubsub');
      release();
      for (let i = 0; i < 15; i++) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        await admin.client('KILL', 'TYPE', 'pubsub');
      }
      const result = await handle.result;
      expect(result.metadata.state).toBe('done');
      for (let i = 0; i < 300 && ends.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
      // Once more after things settle: a late copy is not told twice.
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(ends).toEqual([handle.id]);
      expect(runtime.session(handle.id)?.state).toBe('done');
    } finally {
      admin.disconnect();
      await runtime.shutdown({ deadlineMs: 0 });
    }
  }, 30_000);
});

describe('a late copy of an end read back', () => {
  it('is not applied or told again', () => {
    const history = new Map<string, unknown>();
    const applied: unknown[] = [];
    const store = {
      ended: (id: string) => history.get(id),
      forget: (result: { metadata: { sessionId: string } }) => history.set(result.metadata.sessionId, {}),
      apply: (message: unknown) => applied.push(message),
    } as unknown as SessionStore;
    const result = { ok: true, metadata: { sessionId: 's1', provider: 'p', totalMs: 5 } } as SessionResult;
    const data = { input: { sessionId: 's1', createdAt: 100 }, label: 'chat' } as unknown as JobData;
    expect(missedEnd(store, data, result)).toEqual({
      type: 'session.ended',
      sessionId: 's1',
      result,
      at: 105,
      provider: 'p',
      label: 'chat',
    });
    // Told once: a second read-back, and the bus's own copy arriving late, are both dropped.
    expect(missedEnd(store, data, result)).toBeUndefined();
    const late = { origin: 'x', event: { type: 'session.ended', sessionId: 's1', result, at: 105 } };
    expect(applyMessage(store, late as EventMessage, new Recent(8))).toBe('late');
    expect(applied).toEqual([]);
    const other = { origin: 'x', event: { type: 'session.started', sessionId: 's1', at: 1 } };
    expect(applyMessage(store, other as unknown as EventMessage, new Recent(8))).toBe('fresh');
    expect(applied).toEqual([other]);
  });

  it('takes the place of an end told while Redis did not answer, once', () => {
    const corrected: unknown[] = [];
    const store = {
      ended: () => ({}),
      apply: () => {
        throw new Error('not applied: corrected');
      },
      correctEnded: (result: unknown, at: number) => corrected.push([result, at]),
    } as unknown as SessionStore;
    const provisional = new Recent(8);
    provisional.add('s1');
    const result = { ok: true, metadata: { sessionId: 's1' } };
    const real = { origin: 'x', event: { type: 'session.ended', sessionId: 's1', result, at: 205 } };
    expect(applyMessage(store, real as unknown as EventMessage, provisional)).toBe('corrected');
    expect(corrected).toEqual([[result, 205]]);
    // A second copy of it is late, as any.
    expect(applyMessage(store, real as unknown as EventMessage, provisional)).toBe('late');
    expect(corrected).toHaveLength(1);
  });
});
