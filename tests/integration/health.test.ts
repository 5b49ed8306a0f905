/**
 * Readiness as `/readyz` reports it: accepting calls, and in cluster mode a real `redis-server`
 * that answers a PING; a stopped Redis or a draining runtime is "not ready", with the reason.
 */

import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  healthRoutes,
  PING_REUSE_MS,
  type Readiness,
  readiness,
  redisPinger,
} from '../../src/observe/health.js';
import { createSimulatedProvider } from '../../src/providers/simulated.js';
import { createRuntime } from '../../src/runtime/runtime.js';
import type { Runtime } from '../../src/runtime/types.js';
import { type RedisServer, startRedis } from '../support/redis.js';

let redis: RedisServer | undefined;
// After each test: the tests start one each, and one stopped only after all of them left the
// others running past the run (a redis-server left behind by every `npm test`).
afterEach(async () => {
  vi.restoreAllMocks();
  await redis?.stop();
  redis = undefined;
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

  /** The probe once the pinger's connection, opened in the background, is up (at most 2.5 s). */
  async function readyOnceConnected(runtime: Runtime, ping: () => Promise<unknown>) {
    let up = await readiness({ runtime, ping });
    for (let i = 0; i < 50 && !up.ready; i++) {
      await new Promise((r) => setTimeout(r, 50));
      up = await readiness({ runtime, ping });
    }
    return up;
  }

  it('in cluster mode, needs Redis to take a write: ok while up, unreachable once stopped', async () => {
    redis = await startRedis();
    const runtime = createRuntime({
      providers: [createSimulatedProvider()],
      defaults: { model: 'sim-fast' },
    });
    const pinger = await redisPinger(redis.url, 'troupe', 0);
    try {
      expect(await readyOnceConnected(runtime, pinger.ping)).toEqual({
        ready: true,
        state: 'accepting',
        redis: 'ok',
      });
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

  it('in cluster mode, is not ready while Redis answers but refuses writes (maxmemory reached), with its reason', async () => {
    redis = await startRedis();
    const runtime = createRuntime({
      providers: [createSimulatedProvider()],
      defaults: { model: 'sim-fast' },
    });
    const pinger = await redisPinger(redis.url, 'troupe', 0);
    const admin = new Redis(redis.url);
    try {
      expect(await readyOnceConnected(runtime, pinger.ping)).toEqual({
        ready: true,
        state: 'accepting',
        redis: 'ok',
      });
      // Full: every write is refused, while PING still answers.
      await admin.config('SET', 'maxmemory-policy', 'noeviction');
      await admin.config('SET', 'maxmemory', '1');
      expect(await admin.ping()).toBe('PONG');
      const full = await readiness({ runtime, ping: pinger.ping });
      expect(full).toMatchObject({ ready: false, state: 'accepting', redis: 'refusing writes' });
      expect(full.reason).toMatch(/^Redis refuses writes: OOM command not allowed/);
      await admin.config('SET', 'maxmemory', '0');
      expect(await readiness({ runtime, ping: pinger.ping })).toEqual({
        ready: true,
        state: 'accepting',
        redis: 'ok',
      });
    } finally {
      admin.disconnect();
      pinger.close();
      await runtime.shutdown({ deadlineMs: 0 });
    }
  });

  it('in cluster mode, one write answers every probe for a second, so a flood of probes is not a flood of writes', async () => {
    redis = await startRedis();
    const runtime = createRuntime({
      providers: [createSimulatedProvider()],
      defaults: { model: 'sim-fast' },
    });
    const pinger = await redisPinger(redis.url);
    const admin = new Redis(redis.url);
    const sets = async () => {
      const stats = await admin.info('commandstats');
      return Number(/cmdstat_set:calls=(\d+)/.exec(stats)?.[1] ?? 0);
    };
    try {
      await readyOnceConnected(runtime, pinger.ping);
      const before = await sets();
      const probes = await Promise.all(
        Array.from({ length: 50 }, () => readiness({ runtime, ping: pinger.ping })),
      );
      for (let i = 0; i < 50; i++) await readiness({ runtime, ping: pinger.ping });
      expect(probes.every((p) => p.ready)).toBe(true);
      expect((await sets()) - before).toBeLessThanOrEqual(1);
      // A second on, the next probe writes again: an outage shows within about a second.
      await new Promise((r) => setTimeout(r, PING_REUSE_MS + 50));
      await readiness({ runtime, ping: pinger.ping });
      expect((await sets()) - before).toBeGreaterThanOrEqual(1);
      expect((await sets()) - before).toBeLessThanOrEqual(2);
    } finally {
      admin.disconnect();
      pinger.close();
      await runtime.shutdown({ deadlineMs: 0 });
    }
  });

  it('in cluster mode, writes no more often when the wall clock is set forward or back an hour', async () => {
    // Until 2026-12-07 the reuse was timed on `Date.now()`: each step made a write at once.
    redis = await startRedis();
    const runtime = createRuntime({
      providers: [createSimulatedProvider()],
      defaults: { model: 'sim-fast' },
    });
    let stepMs = 0;
    const realNow = Date.now.bind(Date);
    vi.spyOn(Date, 'now').mockImplementation(() => realNow() + stepMs);
    const pinger = await redisPinger(redis.url, 'troupe', 60_000);
    const admin = new Redis(redis.url);
    const sets = async () =>
      Number(/cmdstat_set:calls=(\d+)/.exec(await admin.info('commandstats'))?.[1] ?? 0);
    try {
      expect((await readyOnceConnected(runtime, pinger.ping)).ready).toBe(true);
      const before = await sets();
      for (const step of [3_600_000, -3_600_000]) {
        stepMs = step;
        expect((await readiness({ runtime, ping: pinger.ping })).ready).toBe(true);
      }
      expect((await sets()) - before).toBe(0);
    } finally {
      admin.disconnect();
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

  // A load balancer reads the status, not the body: a /readyz that said `ready: false` with 200 kept
  // sending calls to a draining instance.
  it('answers /readyz 200 while ready and 503 while not, with the reason; /healthz stays 200', async () => {
    let state: Readiness['state'] = 'accepting';
    const runtime = { status: () => ({ state }) } as unknown as Runtime;
    const routes = healthRoutes({ runtime });
    const server = createServer((req, res) => void routes.get(req.url ?? '')?.(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const ready = await fetch(`${base}/readyz`);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toEqual({ ready: true, state: 'accepting' });
      state = 'draining';
      const draining = await fetch(`${base}/readyz`);
      expect(draining.status).toBe(503);
      expect(await draining.json()).toEqual({
        ready: false,
        state: 'draining',
        reason: 'the runtime is draining',
      });
      expect((await fetch(`${base}/readyz`, { method: 'HEAD' })).status).toBe(503);
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
