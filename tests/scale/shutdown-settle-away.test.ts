/**
 * A stream that an instance ends at its shutdown (its deltas went out: it cannot run again), while
 * that instance cannot reach Redis: the end it builds, `partial` and all, cannot be written, so it
 * is not the session's end. The session's job stays in the queue under a lock nobody renews, and
 * the instance that takes it over ends it, as after a kill. The session ends once: the instance
 * that shut down neither counts it nor tells its caller an end the cluster does not have. Its
 * caller gets `SHUTTING_DOWN`, the session going on in the cluster (read it by id).
 *
 * Real redis-server; the instance that shuts down reaches it through a proxy the test cuts.
 */
import { describe, expect, it } from 'vitest';
import { createOpenAICompatibleProvider } from '../../src/providers/openai-compatible.js';
import { createRuntime } from '../../src/runtime/runtime.js';
import type { Runtime, RuntimeEvent, SessionResult } from '../../src/runtime/types.js';
import { redisBackend } from '../../src/scale/redis-backend.js';
import { proxyRedis } from '../support/redis-proxy.js';
import { useRedisRig } from '../support/redis-rig.js';
import { contentWritten } from '../support/written.js';

const rig = useRedisRig();

async function instance(url: string, work: boolean, errors: unknown[] = []): Promise<Runtime> {
  const runtime = createRuntime({
    providers: [createOpenAICompatibleProvider({ name: 'p', baseURL: rig.server.baseURL, apiKey: 'k' })],
    defaults: { model: 'fault:ok', maxAttempts: 2 },
    onError: (error) => errors.push(error),
    backend: await redisBackend({ url, prefix: 'settle-away', work, closeTimeoutMs: 1_000 }),
  });
  rig.open.push(runtime);
  await runtime.ready;
  return runtime;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('a stream ended at its instance’s shutdown while that instance cannot reach Redis', () => {
  it('ends once, by the instance that takes it over; the one that shut down counts nothing and tells its caller SHUTTING_DOWN', async () => {
    const proxy = await proxyRedis(rig.redis.port);
    const cut = await instance(proxy.url, true);
    // Watches the cluster's ends from the side of Redis that stays up.
    const front = await instance(rig.redis.url, false);
    const ends: RuntimeEvent[] = [];
    front.subscribe((event) => {
      if (event.type === 'session.ended') ends.push(event);
    });
    const handle = cut.submit(
      {
        model: 'fault:ok:chunk-ms=150',
        messages: [
          { role: 'user', content: 'one two three four five six seven eight nine ten eleven twelve' },
        ],
        stream: true,
      },
      { timeoutMs: 20_000 },
    );
    let stopping: Promise<unknown> | undefined;
    await contentWritten(handle, (text) => {
      if (stopping !== undefined || text.length < 8) return;
      // Cut off from Redis mid-answer, then shut down: its end cannot be written.
      stopping = proxy.cut().then(() => cut.shutdown({ deadlineMs: 10 }));
    });
    const told: SessionResult = await handle.result;
    await stopping;
    // Its lock lapses (1.5 s, nobody renews it): the instance started now takes the session over.
    const taker = await instance(rig.redis.url, true);
    for (let waited = 0; ends.length === 0 && waited < 15_000; waited += 50) await sleep(50);
    await sleep(300);
    const endedBy = (runtime: Runtime) => Object.values(runtime.metrics().ended).reduce((a, b) => a + b, 0);
    // One end in the cluster, counted once: by the taker, not also by the instance that shut down.
    expect({ cut: endedBy(cut), taker: endedBy(taker), heard: ends.length }).toEqual({
      cut: 0,
      taker: 1,
      heard: 1,
    });
    const recorded = (ends[0] as Extract<RuntimeEvent, { type: 'session.ended' }>).result as SessionResult;
    expect(recorded.ok ? '' : recorded.error.message).toMatch(/stream's deltas reached observers/);
    // What the caller was told agrees with it: the session went on in the cluster (read it by id),
    // not an end with a partial that no instance has.
    expect(told.ok ? '' : `${told.error.code}: ${told.error.message}`).toMatch(
      /^SHUTTING_DOWN: .*goes on in the cluster/,
    );
    expect(front.session(handle.id)?.state).toBe('cancelled');
  }, 40_000);
});
