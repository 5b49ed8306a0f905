/**
 * After `shutdown()` resolves, a runtime on Redis touches Redis no more: what the shutdown set off
 * (the limiter settles of the sessions it cancelled, their events) and every call in flight end
 * before the connections close, and no timer looks at the shared state afterwards. Everything
 * `onError` receives across the close is collected: a call that went out on the closed connection
 * arrived there as ioredis' "Connection is closed.". One instance, the local OpenAI-compatible
 * server over real HTTP, a real redis-server.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createOpenAICompatibleProvider } from '../../src/providers/openai-compatible.js';
import { createRuntime } from '../../src/runtime/runtime.js';
import type { Runtime, RuntimeOptions } from '../../src/runtime/types.js';
import { redisBackend } from '../../src/scale/redis-backend.js';
import { createOpenAIServer, type OpenAIServer } from '../../src/testing/openai-server.js';
import { type RedisServer, startRedis } from '../support/redis.js';

let redis: RedisServer;
let server: OpenAIServer;
let prefixSeq = 0;
const closers: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  redis = await startRedis();
  server = createOpenAIServer();
  await server.start();
});
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
  server.reset();
});
afterAll(async () => {
  await server?.close();
  await redis?.stop();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A runtime on Redis with provider `p` on the test server; `errors` is everything its `onError` got. */
async function start(options: Partial<RuntimeOptions>): Promise<{ runtime: Runtime; errors: unknown[] }> {
  const errors: unknown[] = [];
  const p = createOpenAICompatibleProvider({ name: 'p', baseURL: server.baseURL, apiKey: 'sk-close-0123' });
  closers.push(() => p.close());
  const runtime = createRuntime({
    providers: [p],
    random: () => 0.5,
    onError: (error) => errors.push(error),
    ...options,
    backend: await redisBackend({ url: redis.url, prefix: `close${++prefixSeq}` }),
  });
  await runtime.ready;
  return { runtime, errors };
}

const ask = (model: string, content: string) => ({
  provider: 'p',
  model,
  messages: [{ role: 'user' as const, content }],
});

describe('closing a runtime on Redis', () => {
  it('ends every call its shutdown set off before the connection closes', async () => {
    // Limits in providers' units: each cancelled session gives its charge back in the shared state
    // (a read, then a compare-and-set), set off by the shutdown's cancellations.
    const { runtime, errors } = await start({
      limits: { perProvider: { p: 16 }, providers: { p: { requestsPerMinute: 1000, tokensPerMinute: 1e7 } } },
      defaults: { timeoutMs: 20_000, queueTimeoutMs: 20_000 },
    });
    const sessions = Array.from({ length: 16 }, (_, i) =>
      runtime.submit(ask('fault:ok:latency=5000', `slow ${i}`)),
    );
    await Promise.all(
      sessions.map((_, i) => server.waitForRequest((r) => JSON.stringify(r.body).includes(`slow ${i}"`))),
    );
    await runtime.shutdown({ deadlineMs: 0 });
    const results = await Promise.all(sessions.map((s) => s.result));
    expect(results.map((r) => r.ok || r.error.code)).toEqual(sessions.map(() => 'SHUTTING_DOWN'));
    await sleep(300);
    expect(errors).toEqual([]);
  }, 30_000);

  it('a retry waiting for a cooldown does not look at the shared state after the shutdown', async () => {
    const { runtime, errors } = await start({
      limits: { perProvider: { p: 4 } },
      defaults: { maxAttempts: 3, backoffBaseMs: 200, backoffMaxMs: 200, timeoutMs: 20_000 },
    });
    // One call fails after 300 ms and retries; meanwhile another cools the provider down for 2 s.
    const failing = runtime.submit(ask('fault:500:first=1:latency=300:tag=close', 'fail once'));
    await server.waitForRequest((r) => JSON.stringify(r.body).includes('fail once'));
    const cooling = runtime.submit(ask('fault:429:retry-after=2', 'cool it down'), { maxAttempts: 1 });
    const cooled = await cooling.result;
    expect(cooled.ok || cooled.error.code).toBe('RATE_LIMITED');
    // Its retry asked the shared limiter, was refused by the cooldown, and waits to look again.
    await sleep(800);
    expect(server.requests.filter((r) => JSON.stringify(r.body).includes('fail once'))).toHaveLength(1);
    await runtime.shutdown({ deadlineMs: 0 });
    expect((await failing.result).ok).toBe(false);
    // Past the cooldown: the look it would have taken is due.
    await sleep(2_000);
    expect(errors).toEqual([]);
  }, 30_000);
});
