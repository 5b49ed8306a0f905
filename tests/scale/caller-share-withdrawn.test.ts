/**
 * A session its caller's share held at an instance, cancelled while it waits delayed on Redis
 * (`src/scale/delayed-jobs.ts`). Until 2026-12-05 the instance kept it among the caller's held
 * sessions after the withdrawal: the next of that caller's places to free woke it, a job no
 * longer there, and the caller's next held session waited out its delay (up to 16 s) with the
 * place free.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { ChatProvider } from '../../src/providers/port.js';
import { createRuntime } from '../../src/runtime/runtime.js';
import { redisBackend } from '../../src/scale/redis-backend.js';
import { type RedisServer, startRedis } from '../support/redis.js';

let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});

/** A provider whose calls answer when `answer(text)` is called; `started` has each call's start time. */
function held() {
  const started = new Map<string, number>();
  const waiting = new Map<string, () => void>();
  const provider: ChatProvider = {
    name: 'p',
    complete: (request, options) => {
      const text = String(request.messages.at(-1)?.content);
      started.set(text, Date.now());
      return new Promise((resolve, reject) => {
        waiting.set(text, () => resolve({ content: text }));
        options.signal.addEventListener('abort', () => reject(options.signal.reason), { once: true });
      });
    },
    // biome-ignore lint/correctness/useYield: not streamed here.
    async *stream() {
      throw new Error('not used');
    },
  };
  return { provider, started, answer: (text: string) => waiting.get(text)?.() };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

it('lets a caller’s next held session go when a place frees, though the one held before it was cancelled meanwhile', async () => {
  const { provider, started, answer } = held();
  const runtime = createRuntime({
    providers: [provider],
    defaults: { model: 'm', queueTimeoutMs: 30_000 },
    limits: { maxConcurrent: 4, maxRunningPerCaller: 1 },
    backend: await redisBackend({ url: redis.url, prefix: 'withdrawn' }),
  });
  await runtime.ready;
  const as = { metadata: { owner: 'alice' } };
  const ask = (text: string) => runtime.submit({ messages: [{ role: 'user', content: text }] }, as);
  const a1 = ask('a1');
  await expect.poll(() => started.has('a1')).toBe(true);
  const a2 = ask('a2');
  await sleep(100);
  const a3 = ask('a3');
  // Both held, and held again once their first delay (1 s) ran out: a2 is the first to wake.
  await sleep(1500);
  expect(started.has('a2') || started.has('a3')).toBe(false);
  a2.cancel('not needed');
  expect((await a2.result).metadata.state).toBe('cancelled');
  answer('a1');
  await a1.result;
  const freed = Date.now();
  await expect.poll(() => started.has('a3'), { timeout: 5000 }).toBe(true);
  // Woken by the freed place, not by the end of its delay (2 s on its second hold).
  expect((started.get('a3') as number) - freed).toBeLessThan(700);
  answer('a3');
  await a3.result;
  await runtime.shutdown({ deadlineMs: 1000 });
}, 20_000);
