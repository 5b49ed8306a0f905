/**
 * A cluster runtime refuses a clock with `wall()` (`steadyClock`, or any whose `now()` follows no
 * wall clock): its deadlines, rate windows and cooldowns are epoch times every instance reads on its
 * own clock (docs/scale-out.md), and the steady clock of one process parts from every other's by
 * whatever the wall clock did since each loaded. Until 2026-12-07 only the docs said so: injected,
 * it was taken, and put those times off on the other instances.
 */
import { Redis } from 'ioredis';
import { afterEach, expect, it } from 'vitest';
import { SimulatedClock } from 'xstate';
import { type Clock, steadyClock, systemClock } from '../../src/core/clock.js';
import type { TroupeError } from '../../src/core/errors.js';
import { MemoryClusterHub } from '../../src/runtime/backend.js';
import { createRuntime } from '../../src/runtime/runtime.js';
import { memoryClusterBackend } from '../../src/scale/memory-cluster.js';
import { redisBackend } from '../../src/scale/redis-backend.js';
import { ScriptedProvider } from '../../src/testing/scripted-provider.js';
import { type RedisServer, startRedis } from '../support/redis.js';

let redis: RedisServer | undefined;
afterEach(async () => {
  await redis?.stop();
  redis = undefined;
});

const instance = (clock: Clock | undefined) =>
  createRuntime({
    providers: [new ScriptedProvider('p')],
    defaults: { model: 'm' },
    ...(clock === undefined ? {} : { clock }),
    // The hub keeps time on the runtime's clock (it refuses another).
    backend: memoryClusterBackend({ hub: new MemoryClusterHub(clock === undefined ? {} : { clock }) }),
  });

it('refuses a clock with `wall()` at creation, naming the option and why', () => {
  for (const clock of [steadyClock, { ...systemClock, wall: () => Date.now() }]) {
    let refused: TroupeError | undefined;
    try {
      instance(clock);
    } catch (error) {
      refused = error as TroupeError;
    }
    expect(refused).toMatchObject({ family: 'runtime', code: 'INVALID_REQUEST' });
    expect(refused?.message).toBe(
      "Expected `clock` of a cluster runtime to read the wall clock (`systemClock`, the default, or a clock without `wall()`), got one with `wall()` (such as `steadyClock`): a cluster's deadlines are epoch times every instance reads",
    );
  }
});

it('takes the wall clock, by default or injected, and a simulated clock', async () => {
  for (const clock of [undefined, systemClock, new SimulatedClock()]) {
    const runtime = instance(clock);
    expect(runtime.status().state).toBe('accepting');
    await runtime.shutdown({ deadlineMs: 0 });
  }
});

it('lets go of a Redis backend’s connections when it refuses: nothing else would close them', async () => {
  // Until 2026-12-07 a runtime refused at creation left them open, and the process never exited.
  redis = await startRedis();
  const admin = new Redis(redis.url);
  const clients = async () =>
    String(await admin.client('LIST'))
      .trim()
      .split('\n').length;
  try {
    const alone = await clients();
    const backend = await redisBackend({ url: redis.url });
    expect(await clients()).toBeGreaterThan(alone);
    expect(() =>
      createRuntime({
        providers: [new ScriptedProvider('p')],
        defaults: { model: 'm' },
        clock: steadyClock,
        backend,
      }),
    ).toThrow(/Expected `clock` of a cluster runtime/);
    await expect.poll(clients).toBe(alone);
  } finally {
    admin.disconnect();
  }
});
