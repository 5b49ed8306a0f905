/**
 * `limits.maxConcurrent` on a cluster bounds the sessions an instance runs at once across all its
 * providers, as on one process: at the bound the instance takes no new lease until one ends (the
 * rest wait in the shared queue, for any instance with room), and a lease already on its way is
 * handed back. On in-memory ports with a simulated clock, then on a real Redis (BullMQ Workers).
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { SimulatedClock } from 'xstate';
import { MemoryClusterHub } from '../../src/runtime/backend.js';
import { createRuntime } from '../../src/runtime/runtime.js';
import type { Runtime } from '../../src/runtime/types.js';
import { memoryClusterBackend } from '../../src/scale/memory-cluster.js';
import { redisBackend } from '../../src/scale/redis-backend.js';
import { ScriptedProvider } from '../../src/testing/scripted-provider.js';
import { type RedisServer, startRedis } from '../support/redis.js';

const flush = async () => {
  for (let i = 0; i < 3; i++) await new Promise<void>((resolve) => setImmediate(resolve));
};
const ask = (provider: string, text: string) => ({
  provider,
  messages: [{ role: 'user' as const, content: text }],
});

const runtimes: { runtime: Runtime; clock?: SimulatedClock }[] = [];
afterEach(async () => {
  for (const { runtime, clock } of runtimes.splice(0)) {
    const report = runtime.shutdown({ deadlineMs: 0 });
    for (let i = 0; clock !== undefined && i < 5; i++) {
      clock.increment(1);
      await flush();
    }
    await report;
  }
});

/** Calls in flight now, across providers. */
const inFlight = (providers: readonly ScriptedProvider[]) =>
  providers.reduce((n, p) => n + p.pending().length, 0);

describe('maxConcurrent of a cluster instance, on in-memory ports', () => {
  it('runs at most maxConcurrent sessions across its providers; the rest go to an instance with room', async () => {
    const clock = new SimulatedClock();
    clock.set(1_000_000);
    const hub = new MemoryClusterHub({ clock });
    const providers = [new ScriptedProvider('p'), new ScriptedProvider('q')];
    const start = (maxConcurrent: number) => {
      const runtime = createRuntime({
        providers,
        defaults: { model: 'm', provider: 'p' },
        clock,
        limits: { maxConcurrent },
        backend: memoryClusterBackend({ hub, sweepIntervalMs: 1000 }),
      });
      runtimes.push({ runtime, clock });
      return runtime;
    };
    const a = start(2);
    await a.ready;
    const handles = ['p', 'q', 'p', 'q'].map((provider, i) =>
      a.submit(ask(provider, `s${i}`), { queueTimeoutMs: 60_000 }),
    );
    await flush();
    // Two at once on this instance, one per provider's Worker would have allowed four.
    expect(inFlight(providers)).toBe(2);
    expect(a.status()).toMatchObject({ running: 2, queued: 2 });
    // One ends: the instance takes the next.
    providers[0]?.pending()[0]?.settle('ok');
    await flush();
    expect(inFlight(providers)).toBe(2);
    // Another instance with room takes what waits.
    const b = start(8);
    await b.ready;
    await flush();
    expect(inFlight(providers)).toBe(3);
    for (const provider of providers) for (const call of provider.pending()) call.settle('ok');
    await flush();
    const results = await Promise.all(handles.map((h) => h.result));
    expect(results.every((r) => r.ok)).toBe(true);
  });
});

describe('maxConcurrent of a cluster instance, on Redis', () => {
  let redis: RedisServer | undefined;
  afterAll(async () => {
    await redis?.stop();
  });

  it('runs one session at a time across two providers at maxConcurrent 1, each ending once', async () => {
    redis = await startRedis();
    const providers = [new ScriptedProvider('p'), new ScriptedProvider('q')];
    const runtime = createRuntime({
      providers,
      defaults: { model: 'm', provider: 'p' },
      limits: { maxConcurrent: 1 },
      backend: await redisBackend({ url: redis.url, prefix: 'ic' }),
    });
    runtimes.push({ runtime });
    await runtime.ready;
    const handles = ['p', 'q', 'q', 'p'].map((provider, i) =>
      runtime.submit(ask(provider, `s${i}`), { queueTimeoutMs: 60_000 }),
    );
    let most = 0;
    let settled = 0;
    const deadline = Date.now() + 20_000;
    while (settled < handles.length && Date.now() < deadline) {
      most = Math.max(most, inFlight(providers));
      const call = providers.flatMap((p) => p.pending())[0];
      if (call !== undefined) {
        // Long enough for the other Worker to fetch, were it not paused.
        await new Promise((resolve) => setTimeout(resolve, 50));
        most = Math.max(most, inFlight(providers));
        call.settle('ok');
        settled++;
      }
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const results = await Promise.all(handles.map((h) => h.result));
    expect(results.map((r) => r.ok)).toEqual([true, true, true, true]);
    expect(most).toBe(1);
    expect(providers.reduce((n, p) => n + p.calls.length, 0)).toBe(4);
  });
  it('gives a freed slot to the highest priority waiting in any provider, as one process does', async () => {
    redis ??= await startRedis();
    const providers = [new ScriptedProvider('p'), new ScriptedProvider('q')];
    const runtime = createRuntime({
      providers,
      defaults: { model: 'm', provider: 'p' },
      limits: { maxConcurrent: 1 },
      backend: await redisBackend({ url: redis.url, prefix: 'icp' }),
    });
    runtimes.push({ runtime });
    await runtime.ready;
    const started: string[] = [];
    const text = (call: { request: { messages: readonly { content?: unknown }[] } }) =>
      String(call.request.messages[0]?.content);
    const next = async () => {
      const until = Date.now() + 10_000;
      for (;;) {
        const call = providers.flatMap((p) => p.pending())[0];
        if (call !== undefined) return call;
        if (Date.now() > until)
          throw new Error(`Expected a call to start, got none after ${started.join(', ')}`);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    };
    const blocker = runtime.submit(ask('p', 'blocker'), { queueTimeoutMs: 60_000 });
    const first = await next();
    started.push(text(first));
    // Queued while the slot is taken: q's low priority first in time, then p's two high ones.
    const queued = [
      runtime.submit(ask('q', 'q-low'), { priority: 1, queueTimeoutMs: 60_000 }),
      runtime.submit(ask('p', 'p-high-1'), { priority: 9, queueTimeoutMs: 60_000 }),
      runtime.submit(ask('p', 'p-high-2'), { priority: 9, queueTimeoutMs: 60_000 }),
    ];
    await new Promise((resolve) => setTimeout(resolve, 200));
    first.settle('ok');
    for (let i = 0; i < queued.length; i++) {
      const call = await next();
      started.push(text(call));
      // Long enough for another Worker to fetch, were the slot given to whichever asks first.
      await new Promise((resolve) => setTimeout(resolve, 50));
      call.settle('ok');
    }
    const results = await Promise.all([blocker, ...queued].map((h) => h.result));
    expect(results.every((r) => r.ok)).toBe(true);
    expect(started).toEqual(['blocker', 'p-high-1', 'p-high-2', 'q-low']);
  });
});
