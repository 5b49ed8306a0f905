/**
 * Readiness as `/readyz` reports it: accepting calls, and in cluster mode a real `redis-server`
 * that answers a PING; a stopped Redis or a draining runtime is "not ready", with the reason.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { readiness, redisPinger } from '../../src/observe/health.js';
import { createSimulatedProvider } from '../../src/providers/simulated.js';
import { createRuntime } from '../../src/runtime/runtime.js';
import { type RedisServer, startRedis } from '../support/redis.js';

let redis: RedisServer | undefined;
afterAll(async () => {
  await redis?.stop();
});

describe('readiness (/readyz)', () => {
  it('is ready while accepting, and not ready once draining', async () => {
    const runtime = createRuntime({
      providers: [createSimulatedProvider()],
      defaults: { model: 'sim-fast' },
    });
    expect(await readiness({ runtime })).toEqual({ ready: true, state: 'accepting' });
    const stopping = runtime.shutdown({ deadlineMs: 1000 });
    const during = await readiness({ runtime });
    expect(during.ready).toBe(false);
    expect(during.reason).toMatch(/the runtime is (draining|stopped)/);
    await stopping;
  });

  it('in cluster mode, needs Redis to answer a PING: ok while up, unreachable once stopped', async () => {
    redis = await startRedis();
    const runtime = createRuntime({
      providers: [createSimulatedProvider()],
      defaults: { model: 'sim-fast' },
    });
    const pinger = await redisPinger(redis.url);
    try {
      let up = await readiness({ runtime, ping: pinger.ping });
      // The connection opens in the background; the first probe may come before it.
      for (let i = 0; i < 50 && !up.ready; i++) {
        await new Promise((r) => setTimeout(r, 50));
        up = await readiness({ runtime, ping: pinger.ping });
      }
      expect(up).toEqual({ ready: true, state: 'accepting', redis: 'ok' });
      await redis.stop();
      redis = undefined;
      const down = await readiness({ runtime, ping: pinger.ping, timeoutMs: 500 });
      expect(down).toMatchObject({ ready: false, state: 'accepting', redis: 'unreachable' });
      expect(down.reason).toBe('Redis does not answer');
    } finally {
      pinger.close();
      await runtime.shutdown({ deadlineMs: 0 });
    }
  });

  it('a PING that hangs counts as unreachable after the timeout', async () => {
    const runtime = createRuntime({
      providers: [createSimulatedProvider()],
      defaults: { model: 'sim-fast' },
    });
    const r = await readiness({ runtime, ping: () => new Promise(() => {}), timeoutMs: 20 });
    expect(r).toMatchObject({ ready: false, redis: 'unreachable' });
    await runtime.shutdown({ deadlineMs: 0 });
  });
});
