/**
 * Redis goes down under a running cluster runtime and comes back: new calls get
 * `BACKEND_UNAVAILABLE` at once (nothing hangs), a session running across the outage still ends
 * once, and new sessions run again once Redis is back. The restarted Redis has no persistence, so
 * it comes back empty: the queues' global concurrency must be set again, and a session that was
 * queued in it is lost and must end BACKEND_UNAVAILABLE rather than wait for its deadlines.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TroupeError } from '../../src/core/errors.js';
import type { ChatProvider } from '../../src/providers/port.js';
import { createRuntime } from '../../src/runtime/runtime.js';
import type { Runtime, SessionResult } from '../../src/runtime/types.js';
import { redisBackend } from '../../src/scale/redis-backend.js';
import { type RedisServer, startRedis } from '../support/redis.js';

let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});

/** Answers after `wait:<ms>` from the last message, honouring the signal. */
const provider = {
  name: 'p',
  async complete(
    request: { messages: readonly { content: string | null }[] },
    options: { signal: AbortSignal },
  ) {
    const text = String(request.messages.at(-1)?.content ?? '');
    const delayMs = Number(/wait:(\d+)/.exec(text)?.[1] ?? 0);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(resolve, delayMs);
      options.signal.addEventListener('abort', () => {
        clearTimeout(timer);
        reject(options.signal.reason);
      });
    });
    return { content: `echo ${text}` };
  },
  // biome-ignore lint/correctness/useYield: not streamed here.
  async *stream() {
    throw new Error('not used');
  },
} as unknown as ChatProvider;

const ask = (text: string) => ({ messages: [{ role: 'user' as const, content: text }] });

/** Settles with `within` or rejects: a bound against hanging, not a speed test. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([
    promise,
    new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error(`${what} did not settle in ${ms} ms`)), ms),
    ),
  ]);
}

/** The error code a submission ends with: thrown at once or as its result. */
async function outcome(runtime: Runtime, text: string): Promise<string> {
  let result: SessionResult;
  try {
    result = await runtime.submit(ask(text)).result;
  } catch (error) {
    return error instanceof TroupeError ? error.code : String(error);
  }
  return result.ok ? 'ok' : result.error.code;
}

describe('Redis down and back', () => {
  it('fails new calls fast with BACKEND_UNAVAILABLE and resumes when Redis returns', async () => {
    const prefix = 'outage';
    const runtime = createRuntime({
      providers: [provider],
      defaults: { model: 'm' },
      limits: { perProvider: { p: 1 } },
      backend: await redisBackend({ url: redis.url, prefix }),
    });
    await (runtime as Runtime & { ready: Promise<void> }).ready;
    expect(await outcome(runtime, 'before')).toBe('ok');

    // A session runs across the outage; another waits behind it (limit 1).
    const across = runtime.submit(ask('across wait:1500'));
    const queued = runtime.submit(ask('queued'), { queueTimeoutMs: 20_000 });
    await within(
      new Promise<void>((resolve) => {
        const poll = setInterval(() => {
          if (runtime.session(across.id)?.state === 'running') {
            clearInterval(poll);
            resolve();
          }
        }, 10);
      }),
      5000,
      'the session start',
    );
    await redis.stop();

    const down = await within(
      Promise.all([outcome(runtime, 'down-1'), outcome(runtime, 'down-2'), outcome(runtime, 'down-3')]),
      5000,
      'a submission while Redis is down',
    );
    expect(down).toEqual(['BACKEND_UNAVAILABLE', 'BACKEND_UNAVAILABLE', 'BACKEND_UNAVAILABLE']);

    await redis.restart();
    // Back: new sessions run again once the connections are up (reconnects back off up to 1 s).
    let after = 'none';
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      after = await within(outcome(runtime, 'after'), 10_000, 'a submission after Redis returned');
      if (after !== 'BACKEND_UNAVAILABLE') break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(after).toBe('ok');

    // The session that ran across the outage ended once, with its answer.
    const acrossResult = await within(across.result, 15_000, 'the session running across the outage');
    expect(acrossResult.ok).toBe(true);
    const queuedResult = await within(queued.result, 15_000, 'the session queued in the lost Redis');
    expect(queuedResult.ok || queuedResult.error.code).toBe('BACKEND_UNAVAILABLE');
    expect(queuedResult.ok || queuedResult.error.retryable).toBe(false);

    // The empty Redis got the provider's global concurrency again.
    const raw = new Redis(redis.url);
    try {
      expect(await raw.hget(`${prefix}:p:meta`, 'concurrency')).toBe('1');
    } finally {
      raw.disconnect();
    }
    const more = await within(
      Promise.all([1, 2, 3].map((i) => outcome(runtime, `more-${i}`))),
      10_000,
      'sessions after Redis returned',
    );
    expect(more).toEqual(['ok', 'ok', 'ok']);
    expect(runtime.status()).toMatchObject({ queued: 0, running: 0 });
    await within(runtime.shutdown({ deadlineMs: 1000 }), 10_000, 'the shutdown');
  }, 40_000);

  it('drops from its mirror, once Redis is back empty, a live session of an instance that died meanwhile', async () => {
    const prefix = 'ghost';
    // A session another instance was running when it died: live in Redis, so in this one's mirror.
    const seed = new Redis(redis.url);
    const ghost = {
      sessionId: 'ghost-1',
      requestId: 'ghost-1',
      provider: 'p',
      model: 'm',
      priority: 5,
      state: 'running',
      createdAt: Date.now(),
      startedAt: Date.now(),
      attempts: 1,
    };
    await seed.hset(`${prefix}:live`, ghost.sessionId, JSON.stringify(ghost));
    seed.disconnect();
    const errors: unknown[] = [];
    const runtime = createRuntime({
      providers: [provider],
      defaults: { model: 'm' },
      onError: (error) => errors.push(error),
      backend: await redisBackend({ url: redis.url, prefix }),
    });
    await (runtime as Runtime & { ready: Promise<void> }).ready;
    expect(runtime.session('ghost-1')?.state).toBe('running');
    await redis.stop();
    await new Promise((r) => setTimeout(r, 300));
    await redis.restart();
    // The restarted Redis is empty: the mirror is reloaded from it once the connections are up.
    const deadline = Date.now() + 15_000;
    while (runtime.session('ghost-1') !== undefined && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    expect(runtime.session('ghost-1')).toBeUndefined();
    expect(runtime.sessions().map((s) => s.sessionId)).not.toContain('ghost-1');
    expect(errors.filter((e) => String(e).includes("Stream isn't writeable"))).toEqual([]);
    // Every connection up again (the queue's come back last), then a clean shutdown.
    let after = 'none';
    while (after !== 'ok' && Date.now() < deadline + 15_000) {
      after = await within(outcome(runtime, 'after'), 10_000, 'a submission after Redis returned');
      if (after !== 'ok') await new Promise((r) => setTimeout(r, 200));
    }
    expect(after).toBe('ok');
    await within(runtime.shutdown({ deadlineMs: 1000 }), 10_000, 'the shutdown');
  }, 60_000);
});
