/**
 * A session cancelled while its ask of the shared limits is on its way (forced: the ask's write of
 * the provider's state held back 300 ms, as a slow round trip would), on a real Redis and on the
 * in-memory hub: no call goes, and its charge is given back, request and tokens. Until 2026-12-06 a
 * retry's answer that came back after the session's end was settled as a call's end: its slot went,
 * but the window kept a request and its tokens that no call sent (red on that code: no request left
 * of two, expected one); and a first start's lease adopted the session, whose call went before the
 * cancel reached it, aborted at once (red: one call, expected none).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { providerKey } from '../../src/runtime/limiter.js';
import { Limiter } from '../../src/runtime/limits.js';
import type { ClusterPorts, SharedState } from '../../src/runtime/ports.js';
import { createRuntime } from '../../src/runtime/runtime.js';
import { ScriptedProvider } from '../../src/testing/scripted-provider.js';
import { type RedisServer, startRedis } from '../support/redis.js';
import { wrappedBackends } from '../support/redis-ports.js';
import { until } from '../support/until.js';

let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});

const LIMITS = { requestsPerMinute: 2, tokensPerMinute: 100_000, tokensPerDay: 1_000_000 };

/** Once `slow.armed` is set, the shared state's writes of `p`'s state after `skip` more: the next one answered 300 ms late. */
const slow = { armed: false, skip: 0, held: 0, state: undefined as SharedState | undefined };
function slowed(ports: ClusterPorts): ClusterPorts {
  slow.state = ports.state;
  const state: SharedState = {
    read: (key) => ports.state.read(key),
    update: async (key, init, change, ttlMs) => {
      if (slow.armed && key === providerKey('p') && slow.skip-- === 0) {
        slow.armed = false;
        slow.held++;
        await new Promise((resolve) => setTimeout(resolve, 300));
      }
      return ports.state.update(key, init, change, ttlMs);
    },
  };
  return { ...ports, state };
}

const backends = wrappedBackends('gb', () => redis.url, slowed);

describe.each(backends)(
  'a retry cancelled while its ask of the shared limits is on its way (%s)',
  (_name, backend) => {
    it('sends no call, and its charge is given back: the window counts only the call that went', async () => {
      const provider = new ScriptedProvider('p');
      const runtime = createRuntime({
        providers: [provider],
        backend: await backend(),
        defaults: { maxAttempts: 3, timeoutMs: 20_000, backoffBaseMs: 200, backoffMaxMs: 200 },
        limits: { providers: { p: LIMITS } },
        random: () => 0.99,
      });
      await (runtime as { ready?: Promise<void> }).ready;
      const limiter = new Limiter(new Map([['p', LIMITS]]), slow.state as SharedState);
      const left = async () => (await limiter.budgets(['p'], Date.now())).p?.remaining;
      const handle = runtime.submit({ model: 'm', messages: [{ role: 'user', content: 'hello' }] });
      await until(
        async () => provider.calls.length,
        (n) => n >= 1,
        'the first call',
      );
      const first = await left();
      expect(first?.requestsPerMinute).toBe(1);
      // The failure's settle is written at once; the retry's ask, 200 ms later, is held.
      Object.assign(slow, { armed: true, skip: 1, held: 0 });
      provider.calls[0]?.settle('retryable');
      await until(
        async () => slow.held,
        (held) => held === 1,
        'the retry’s ask held',
      );
      runtime.cancel(handle.id);
      const result = await handle.result;
      expect(result.ok || result.error.code).toBe('CANCELLED');
      // The held ask lands (charged), then is given back.
      await new Promise((resolve) => setTimeout(resolve, 600));
      expect(provider.calls).toHaveLength(1);
      expect(await left()).toMatchObject(first ?? {});
      await runtime.shutdown({ deadlineMs: 0 });
    }, 20_000);

    it('a session cancelled while its lease asks for its first start sends no call, and its charge is given back', async () => {
      const provider = new ScriptedProvider('p');
      const runtime = createRuntime({
        providers: [provider],
        backend: await backend(),
        defaults: { timeoutMs: 20_000 },
        limits: { providers: { p: LIMITS } },
      });
      await (runtime as { ready?: Promise<void> }).ready;
      const limiter = new Limiter(new Map([['p', LIMITS]]), slow.state as SharedState);
      const left = async () => (await limiter.budgets(['p'], Date.now())).p?.remaining;
      const whole = await left();
      Object.assign(slow, { armed: true, skip: 0, held: 0 });
      const handle = runtime.submit({ model: 'm', messages: [{ role: 'user', content: 'hello' }] });
      await until(
        async () => slow.held,
        (held) => held === 1,
        'the lease’s ask held',
      );
      runtime.cancel(handle.id);
      const result = await handle.result;
      expect(result.ok || result.error.code).toBe('CANCELLED');
      await new Promise((resolve) => setTimeout(resolve, 600));
      expect(provider.calls).toHaveLength(0);
      expect(await left()).toMatchObject(whole ?? {});
      await runtime.shutdown({ deadlineMs: 0 });
    }, 20_000);
  },
);
