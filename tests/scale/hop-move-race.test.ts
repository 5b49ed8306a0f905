/**
 * A fallback hop's move on Redis, with the race made deterministic: BullMQ puts the moved job in
 * its target's queue at once, and that queue's Worker may fetch it before the move's writes have
 * answered (they are on other connections), while the run it left is still on this instance. The
 * lease that arrives then is not a lapsed lock's (which joins the run already here): the session
 * runs on its target once the run it left has ended. Joined, it stayed `running` with no call past
 * its run deadline (the hop-limits flake under load, until 2026-12-02).
 *
 * Real Redis and BullMQ, one instance: the test holds the move's answer until the target's lease
 * has reached the runner, so the order of events is fixed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOpenAICompatibleProvider } from '../../src/providers/openai-compatible.js';
import type { RuntimeBackend } from '../../src/runtime/backend.js';
import type { SessionQueue } from '../../src/runtime/ports.js';
import { createRuntime } from '../../src/runtime/runtime.js';
import type { Runtime, SessionResult } from '../../src/runtime/types.js';
import { createOpenAIServer, type OpenAIServer } from '../../src/testing/openai-server.js';
import { type RedisServer, startRedis } from '../support/redis.js';
import { wrappedRedisBackend } from '../support/redis-ports.js';

const KEY = 'sk-scale-move-race-0123456789';
let redis: RedisServer;
let server: OpenAIServer;
const cleanups: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  redis = await startRedis();
  server = createOpenAIServer({ apiKey: KEY });
  await server.start();
});
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  await server?.close();
  await redis?.stop();
});

/**
 * The Redis ports, whose moves answer only once the moved job's lease from its target's queue has
 * reached the runner (`leasedThere` counts those leases).
 */
async function backend(leasedThere: { count: number }): Promise<RuntimeBackend> {
  const arrived = new Map<string, () => void>();
  const options = { url: redis.url, prefix: 'moverace', instanceId: 'one', work: true, sweepIntervalMs: 200 };
  return wrappedRedisBackend(options, (ports) => {
    const queue: SessionQueue = Object.create(ports.queue);
    queue.lease = (run) =>
      ports.queue.lease((lease) => {
        const id = lease.session.input.sessionId;
        if (lease.provider !== lease.session.input.provider) {
          leasedThere.count++;
          arrived.get(id)?.();
        }
        return run({
          ...lease,
          moveTo: async (provider, deadlineAt) => {
            const there = new Promise<void>((resolve) => arrived.set(id, resolve));
            await lease.moveTo(provider, deadlineAt);
            await there;
          },
        });
      });
    return { ...ports, queue };
  });
}

describe("a fallback hop's move on Redis", () => {
  it('a moved job leased from its target before the move answered runs there once the run it left ends', async () => {
    const leasedThere = { count: 0 };
    const provider = (name: string) =>
      createOpenAICompatibleProvider({ name, baseURL: server.baseURL, apiKey: KEY });
    const [a, b] = [provider('a'), provider('b')];
    cleanups.push(
      () => a.close(),
      () => b.close(),
    );
    const runtime: Runtime = createRuntime({
      providers: [a, b],
      defaults: { maxAttempts: 1, timeoutMs: 5_000, queueTimeoutMs: 5_000 },
      backend: await backend(leasedThere),
    });
    await runtime.ready;
    cleanups.push(() => runtime.shutdown({ deadlineMs: 100 }));
    const handle = runtime.submit({
      provider: 'a',
      model: 'fault:503',
      messages: [{ role: 'user', content: 'hop' }],
      fallbacks: [{ provider: 'b', model: 'fault:ok' }],
    });
    const outcome = await Promise.race([
      handle.result,
      // Its run deadline is 5 s: a session joined to the run it left would still be waiting.
      new Promise<'still waiting'>((resolve) => setTimeout(() => resolve('still waiting'), 8_000)),
    ]);
    expect(leasedThere.count).toBe(1);
    expect(outcome).not.toBe('still waiting');
    const result = outcome as SessionResult;
    expect(result.ok).toBe(true);
    expect(result.metadata.route?.map((h) => [h.provider, h.outcome])).toEqual([
      ['a', 'PROVIDER_UNAVAILABLE'],
      ['b', 'done'],
    ]);
    const chats = server.requests.filter((r) => r.path.endsWith('/chat/completions'));
    expect(chats.map((r) => (r.body as { model?: string }).model)).toEqual(['fault:503', 'fault:ok']);
  }, 20_000);
});
