/**
 * A queued call whose submitter is cut off from Redis at its queue deadline. Its withdrawal there
 * is tried again while Redis is away (every 500 ms, about 30 s), as a cancel is: until 2026-12-07 it
 * was tried once, and with no sweep to take it (slowed here, so the submitter's own withdrawal is
 * what ends it) the call waited for its submitter's backstop, its deadlines and 10 s past them.
 * And a submitter still cut off at that backstop no longer ends a call it never heard start as a
 * run timeout ("Expected the session to finish within ... of starting"): it may have started
 * elsewhere unheard, so its caller is told `BACKEND_UNAVAILABLE`, its end not known there, and the
 * cluster's one end takes that end's place once Redis is back (a queue timeout, or the run's).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChatProvider } from '../../src/providers/port.js';
import { createRuntime } from '../../src/runtime/runtime.js';
import type { Runtime, RuntimeEvent, SessionResult } from '../../src/runtime/types.js';
import { UNHEARD_MESSAGE } from '../../src/scale/owner.js';
import { redisBackend } from '../../src/scale/redis-backend.js';
import { type RedisServer, startRedis } from '../support/redis.js';
import { proxyRedis } from '../support/redis-proxy.js';
import { until } from '../support/until.js';

let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});

/** Every call waits until its signal aborts (its run deadline). */
function hanging(name: string): ChatProvider {
  return {
    name,
    complete: (_request: unknown, options: { signal: AbortSignal }) =>
      new Promise((_, reject) =>
        options.signal.addEventListener('abort', () => reject(options.signal.reason)),
      ),
    stream: () => {
      throw new Error('not used');
    },
  } as unknown as ChatProvider;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const ready = (runtime: Runtime) => (runtime as Runtime & { ready: Promise<void> }).ready;
const errorOf = (result: SessionResult | undefined) => (result?.ok === false ? result.error : undefined);

describe('a submitter cut off from Redis at a queued call’s queue deadline', () => {
  it('withdraws the call once Redis is back, well before its backstop', async () => {
    const proxy = await proxyRedis(redis.port);
    const a = createRuntime({
      providers: [hanging('p')],
      defaults: { model: 'm' },
      // No Worker and no sweep for a minute: only the submitter's withdrawal ends the call.
      backend: await redisBackend({
        url: proxy.url,
        prefix: 'qd-away-1',
        work: false,
        sweepIntervalMs: 60_000,
      }),
      onError: () => {},
    });
    try {
      await ready(a);
      const submittedAt = Date.now();
      const handle = a.submit(
        { messages: [{ role: 'user', content: 'wait' }] },
        { queueTimeoutMs: 1_000, timeoutMs: 1_000 },
      );
      let endedAt = 0;
      void handle.result.then(() => {
        endedAt = Date.now();
      });
      await sleep(300);
      await proxy.cut();
      await sleep(2_000); // past the queue deadline: the withdrawal there is refused
      await proxy.restore();
      const result = await handle.result;
      // Its backstop would end it 12 s after the submit.
      expect(endedAt - submittedAt).toBeLessThan(7_000);
      expect(errorOf(result)).toMatchObject({ code: 'TIMED_OUT', timeout: 'queue' });
      expect(result.metadata.attempts).toBe(0);
    } finally {
      await a.shutdown({ deadlineMs: 0 });
    }
  }, 30_000);

  it('past its backstop tells a call it never heard start that its end is not known, and the cluster’s end follows', async () => {
    const proxy = await proxyRedis(redis.port);
    const prefix = 'qd-away-2';
    const a = createRuntime({
      providers: [hanging('p'), hanging('q')],
      defaults: { model: 'm' },
      backend: await redisBackend({ url: proxy.url, prefix, work: false }),
      onError: () => {},
    });
    let b: Runtime | undefined;
    const heard: RuntimeEvent[] = [];
    a.subscribe((event) => {
      if (event.type === 'session.ended') heard.push(event);
    });
    try {
      await ready(a);
      const options = { queueTimeoutMs: 2_000, timeoutMs: 1_000 };
      // `started` runs on b, started once a is cut off (a hears no start); `queued` has no Worker (a leases nothing).
      const started = a.submit({ provider: 'p', messages: [{ role: 'user', content: 'runs' }] }, options);
      const queued = a.submit({ provider: 'q', messages: [{ role: 'user', content: 'waits' }] }, options);
      await sleep(300);
      await proxy.cut();
      b = createRuntime({
        providers: [hanging('p')],
        defaults: { model: 'm' },
        backend: await redisBackend({ url: redis.url, prefix }),
        onError: () => {},
      });
      await ready(b);
      const ends = new Map<string, SessionResult>();
      b.subscribe((event) => {
        if (event.type === 'session.ended') ends.set(event.sessionId, event.result as SessionResult);
      });
      // b runs `started` to its run deadline (`queued` waits: b has no queue for q).
      await until(
        async () => b?.session(started.id)?.state,
        (state) => state === 'timedOut',
        'the run’s end in the cluster',
      );
      // a's backstops, 13 s after the submits, with a still cut off.
      const results = await Promise.all([started.result, queued.result]);
      for (const result of results) {
        expect(errorOf(result)).toMatchObject({ code: 'BACKEND_UNAVAILABLE', message: UNHEARD_MESSAGE });
      }
      await proxy.restore();
      // The cluster's ends (`queued`'s by a's sweep) take those ends' places in a's view; a's listeners heard one end each.
      await until(
        async () => [a.session(started.id)?.state, a.session(queued.id)?.state],
        (states) => states[0] === 'timedOut' && states[1] === 'timedOut',
        'the cluster’s ends on a',
        10_000,
      );
      expect(a.session(started.id)).toMatchObject({ code: 'TIMED_OUT', attempts: 1 });
      expect(a.session(started.id)?.startedAt).toBeGreaterThan(0);
      expect(a.session(queued.id)).toMatchObject({ code: 'TIMED_OUT', attempts: 0 });
      expect(a.session(queued.id)?.startedAt).toBeUndefined();
      // The ends the cluster gave them: the run's timeout, and a queue timeout.
      await until(
        async () => ends.size,
        (size) => size === 2,
        'both ends on b',
      );
      expect(errorOf(ends.get(started.id))).toMatchObject({ code: 'TIMED_OUT', timeout: 'run' });
      expect(errorOf(ends.get(queued.id))).toMatchObject({ code: 'TIMED_OUT', timeout: 'queue' });
      await sleep(500);
      expect(heard.map((event) => (event as { sessionId: string }).sessionId).sort()).toEqual(
        [started.id, queued.id].sort(),
      );
    } finally {
      await Promise.all([a.shutdown({ deadlineMs: 0 }), b?.shutdown({ deadlineMs: 0 })]);
    }
  }, 40_000);
});
