/**
 * The mirror's reload after a reconnect (`RedisSessionStore.load`) racing a session's end: the live
 * hash is read while the session still runs, and its end comes on the bus (another connection)
 * before that read's answer is handled. The reload must not bring the ended session back live: no
 * later message drops it (its end was heard, so a copy of it is `late`), and it stayed `running`
 * in `session(id)`, `sessions()` and `status().running` for good. Found by the kill property
 * (`kill-properties.test.ts`, 2026-12-06: once in about 30 runs, Redis cut from every instance for
 * 55 ms as the session ended on the caller's instance; that instance said `running` 5 s after its
 * caller had the session's `done`).
 *
 * Real redis-server. The read is held on its way back, as a busy socket holds it, until the end
 * has been applied.
 */
import { Redis } from 'ioredis';
import { expect, it } from 'vitest';
import { systemClock } from '../../src/core/clock.js';
import type { SessionResult, SessionSummary } from '../../src/runtime/types.js';
import { RedisKeys, RedisSessionStore } from '../../src/scale/redis-store.js';
import { useRedisRig } from '../support/redis-rig.js';

const rig = useRedisRig();

it('a reload whose read of the live sessions is answered after a session’s end keeps that session ended', async () => {
  const keys = new RedisKeys('reload-after-end');
  const redis = new Redis(rig.redis.url);
  try {
    let answer = () => {};
    const held = new Promise<void>((resolve) => {
      answer = resolve;
    });
    // HGETALL runs now (the session is live in the hash); its answer is handled once `answer()`.
    const holding = new Proxy(redis, {
      get(target, key, receiver) {
        if (key !== 'hgetall') {
          const value = Reflect.get(target, key, receiver);
          return typeof value === 'function' ? value.bind(target) : value;
        }
        return (hash: string) => {
          const read = target.hgetall(hash);
          return held.then(() => read);
        };
      },
    });
    const store = new RedisSessionStore(holding, keys, 'this-instance', 100, systemClock);
    const now = Date.now();
    const running: SessionSummary = {
      sessionId: 's1',
      requestId: 'r1',
      provider: 'p',
      model: 'm',
      priority: 5,
      state: 'running',
      createdAt: now - 300,
      startedAt: now - 200,
      attempts: 1,
    };
    await redis.hset(keys.live, 's1', JSON.stringify(running));
    const reloading = store.load();
    await new Promise((resolve) => setTimeout(resolve, 50)); // the read has run in Redis

    // The session's end, as its settle writes it and the bus brings it: out of the hash, heard here.
    const result: SessionResult = {
      ok: true,
      content: 'answer',
      metadata: {
        sessionId: 's1',
        requestId: 'r1',
        provider: 'p',
        model: 'm',
        priority: 5,
        state: 'done',
        queuedMs: 100,
        runMs: 200,
        totalMs: 300,
        attempts: 1,
      },
    };
    await redis.hdel(keys.live, 's1');
    store.apply({
      origin: 'other-instance',
      event: { type: 'session.ended', sessionId: 's1', result, at: now, provider: 'p' },
    });
    expect(store.liveSession('s1')).toBeUndefined();

    answer();
    await reloading;
    expect(store.liveSession('s1')).toBeUndefined();
    expect(store.ended('s1')?.state).toBe('done');
    expect([...store.liveSessions()]).toEqual([]);
  } finally {
    redis.disconnect();
  }
});
