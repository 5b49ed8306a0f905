/**
 * After a long Redis outage, calls run again within about a second of Redis returning. BullMQ's
 * queues and workers reconnect with their own back-off, which reached 20 s by default: until
 * 2026-12-04, after 40 s without Redis every call was refused with BACKEND_UNAVAILABLE for 17 to 18
 * s more, while troupe's own connections (and `/readyz`) were back within 1 s. Now every connection
 * backs off to 1 s at most (`reconnectDelay`). The outage here is 19 s, past BullMQ's fourth back-off
 * step (the ninth attempt, about 18 s in, is followed by one 20 s later): before, the first call went
 * through about 19 s after Redis returned.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { TroupeError } from '../../src/core/errors.js';
import { createSimulatedProvider } from '../../src/providers/simulated.js';
import { createRuntime } from '../../src/runtime/runtime.js';
import type { Runtime } from '../../src/runtime/types.js';
import { redisBackend } from '../../src/scale/redis-backend.js';
import { type RedisServer, startRedis } from '../support/redis.js';

let redis: RedisServer;
let runtime: Runtime | undefined;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await runtime?.shutdown({ deadlineMs: 0 });
  await redis?.stop();
});

async function outcome(): Promise<string> {
  try {
    const result = await runtime?.submit(
      { messages: [{ role: 'user', content: 'hi' }] },
      { timeoutMs: 5_000 },
    ).result;
    return result?.ok ? 'ok' : (result?.error.code ?? 'none');
  } catch (error) {
    return error instanceof TroupeError ? error.code : String(error);
  }
}

it('runs calls again within seconds of Redis returning after 19 s away', async () => {
  runtime = createRuntime({
    providers: [createSimulatedProvider({ latencyMs: { min: 0, max: 0 } })],
    defaults: { model: 'sim-fast' },
    backend: await redisBackend({ url: redis.url, prefix: 'long-outage' }),
  });
  await (runtime as Runtime & { ready: Promise<void> }).ready;
  expect(await outcome()).toBe('ok');
  await redis.stop();
  await new Promise((resolve) => setTimeout(resolve, 19_000));
  expect(await outcome()).toBe('BACKEND_UNAVAILABLE');
  await redis.restart();
  const back = performance.now();
  let seen = await outcome();
  while (seen !== 'ok' && performance.now() - back < 30_000) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    seen = await outcome();
  }
  expect(seen).toBe('ok');
  // A bound on behaviour, not a speed figure: the reconnect's own step is 1 s; before, about 19 s.
  expect(performance.now() - back).toBeLessThan(6_000);
}, 60_000);
