/**
 * Redis that stops answering without closing its connections (SIGSTOP here; a network cut that
 * drops packets looks the same): ioredis keeps the connection `ready` and commands wait for a reply
 * with no bound of their own. The submitter's backstop (10 s past a session's deadlines) must
 * still answer the caller. Until 2026-12-03 the backstop itself read the result from Redis without
 * a bound, so the caller waited for as long as Redis did (here 25 s against a 1 s queue deadline
 * and a 1 s run deadline, and for ever under a cut that never ends).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
  redis?.resume();
  await redis?.stop();
});

const provider = {
  name: 'p',
  async complete() {
    return { content: 'answer' };
  },
  // biome-ignore lint/correctness/useYield: not streamed here.
  async *stream() {
    throw new Error('not used');
  },
} as unknown as ChatProvider;

describe('a Redis that stops answering (frozen, connections open)', () => {
  it("the backstop answers the caller within its bound, without Redis's answer", async () => {
    const errors: unknown[] = [];
    const runtime = createRuntime({
      providers: [provider],
      defaults: { model: 'm' },
      onError: (error) => errors.push(error),
      backend: await redisBackend({ url: redis.url, prefix: 'frozen' }),
    });
    await (runtime as Runtime & { ready: Promise<void> }).ready;
    expect((await runtime.submit({ messages: [{ role: 'user', content: 'before' }] }).result).ok).toBe(true);

    redis.freeze();
    const submittedAt = Date.now();
    // The connection still looks ready: the call is taken, and its enqueue waits on Redis.
    const handle = runtime.submit(
      { messages: [{ role: 'user', content: 'during' }] },
      { queueTimeoutMs: 500, timeoutMs: 500 },
    );
    // Backstop at 0.5 + 0.5 + 10 s; its look at Redis is given 2 s more.
    const ended = await Promise.race([
      handle.result,
      new Promise<'still waiting'>((resolve) => setTimeout(() => resolve('still waiting'), 15_000)),
    ]);
    const waitedMs = Date.now() - submittedAt;
    redis.resume();
    expect(ended).not.toBe('still waiting');
    const result = ended as SessionResult;
    expect(result.ok).toBe(false);
    expect(result.ok ? undefined : result.error.code).toBe('BACKEND_UNAVAILABLE');
    expect(result.ok ? '' : result.error.message).toContain('Expected Redis to answer within 2000 ms');
    // A runtime error, as the refusal at submit is: troupe retries only provider errors.
    expect(result.ok ? undefined : result.error.retryable).toBe(false);
    expect(waitedMs).toBeGreaterThanOrEqual(11_000);
    // The instance's own view no longer holds it, and its status counts nothing waiting.
    expect(runtime.sessions().map((s) => s.sessionId)).not.toContain(handle.id);
    expect(runtime.status()).toMatchObject({ queued: 0 });

    // Redis answers again: new calls run, and the shutdown ends.
    let after: SessionResult | undefined;
    for (let i = 0; i < 50 && after?.ok !== true; i++) {
      after = await runtime.submit({ messages: [{ role: 'user', content: 'after' }] }).result;
      if (!after.ok) await new Promise((r) => setTimeout(r, 100));
    }
    expect(after?.ok).toBe(true);
    // Read by id once Redis answers, the session shows the end the cluster gave it (its enqueue
    // went through on resume, past its deadlines: timed out), not the one told here meanwhile.
    let read = runtime.session(handle.id);
    for (let i = 0; i < 100 && read?.code === 'BACKEND_UNAVAILABLE'; i++) {
      await new Promise((r) => setTimeout(r, 100));
      read = runtime.session(handle.id);
    }
    expect(read?.state).toBe('timedOut');
    expect(runtime.status({ recent: 50 }).recent.filter((s) => s.sessionId === handle.id)).toHaveLength(1);
    await runtime.shutdown({ deadlineMs: 1000 });
  }, 30_000);
});
