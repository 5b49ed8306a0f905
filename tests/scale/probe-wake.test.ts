/**
 * A retry held by its provider's cooldown on one instance while another instance's session probes
 * the provider: the probe's end there (told by the event bus) wakes it, rather than the probe's
 * lapse (`PROBE_ACCEPTED_MS`, 2 s). Two instances with one slot each, on the in-memory hub and on a
 * real Redis; each instance has a provider object of its own, so a call shows where it runs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROBE_ACCEPTED_MS } from '../../machines/provider.js';
import { MemoryClusterHub, type RuntimeBackend } from '../../src/runtime/backend.js';
import { createRuntime } from '../../src/runtime/runtime.js';
import type { Runtime } from '../../src/runtime/types.js';
import { memoryClusterBackend } from '../../src/scale/memory-cluster.js';
import { redisBackend } from '../../src/scale/redis-backend.js';
import { ScriptedProvider } from '../../src/testing/scripted-provider.js';
import { type RedisServer, startRedis } from '../support/redis.js';
import { until } from '../support/until.js';

let redis: RedisServer;
let prefixSeq = 0;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});

/** Makes the backends of two instances that share one queue. */
const clusters: [string, () => () => Promise<RuntimeBackend>][] = [
  [
    'memory-cluster',
    () => {
      const hub = new MemoryClusterHub();
      return async () => memoryClusterBackend({ hub });
    },
  ],
  [
    'redis',
    () => {
      const prefix = `pw${++prefixSeq}`;
      return () => redisBackend({ url: redis.url, prefix });
    },
  ],
];

/** Records when each call started. */
class TimedProvider extends ScriptedProvider {
  readonly startedAt: number[] = [];
  override complete(
    ...args: Parameters<ScriptedProvider['complete']>
  ): ReturnType<ScriptedProvider['complete']> {
    this.startedAt.push(Date.now());
    return super.complete(...args);
  }
}

/** The 429's `Retry-After`: the cooldown the probe comes after. */
const RETRY_AFTER_MS = 500;

const ask = (text: string) => ({ messages: [{ role: 'user' as const, content: text }] });
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.each(clusters)('a retry held behind a probe on another instance (%s)', (_name, cluster) => {
  it("starts when the probe's session ends there, not at the probe's lapse", async () => {
    const backend = cluster();
    const providers = [new TimedProvider('p'), new TimedProvider('p')];
    const runtimes: Runtime[] = [];
    for (const provider of providers) {
      const runtime = createRuntime({
        providers: [provider],
        backend: await backend(),
        defaults: { model: 'm', maxAttempts: 3, backoffBaseMs: 0, timeoutMs: 20_000, queueTimeoutMs: 20_000 },
        limits: { maxConcurrent: 1 },
      });
      await runtime.ready;
      runtimes.push(runtime);
    }
    try {
      const [a, b] = providers as [TimedProvider, TimedProvider];
      const calls = async () => a.calls.length + b.calls.length;
      // One session on each instance (one slot each).
      const handles = [runtimes[0]?.submit(ask('one')), runtimes[0]?.submit(ask('two'))];
      await until(calls, () => a.calls.length === 1 && b.calls.length === 1, 'a call on each instance');
      // A 429 on one (a cooldown of 0.5 s); once it is in the shared state, a 503 on the other. Both
      // retry and wait for the cooldown; at its end one of them probes p, the other waits behind it.
      const limitedAt = Date.now();
      a.calls[0]?.settle('rateLimited', RETRY_AFTER_MS);
      await pause(100);
      b.calls[0]?.settle('retryable');
      await pause(200);
      expect(await calls()).toBe(2);
      await until(calls, (n) => n === 3, 'the probe');
      await pause(300);
      expect(await calls()).toBe(3);
      const [probing, waiting] = a.calls.length === 2 ? [a, b] : [b, a];
      probing.calls[1]?.settle('ok');
      await until(
        async () => waiting.calls.length,
        (n) => n === 2,
        'the retry held behind the probe',
      );
      // Answered 300 ms in, the probe let it go then. Held until the probe's lapse, it would start
      // PROBE_ACCEPTED_MS after the probe took its turn, which was at the cooldown's end or later:
      // RETRY_AFTER_MS or more after `limitedAt`, on the instances' clock (the wall clock). Until
      // 2026-12-07 the bound was half of PROBE_ACCEPTED_MS from the probe call's start, which a
      // loaded machine's pauses could cross with the probe's answer heard.
      expect((waiting.startedAt[1] as number) - limitedAt).toBeLessThan(RETRY_AFTER_MS + PROBE_ACCEPTED_MS);
      waiting.calls[1]?.settle('ok');
      const results = await Promise.all(handles.map((h) => h?.result));
      expect(results.map((r) => r?.ok)).toEqual([true, true]);
    } finally {
      await Promise.all(runtimes.map((r) => r.shutdown({ deadlineMs: 1000 })));
    }
  });
});
