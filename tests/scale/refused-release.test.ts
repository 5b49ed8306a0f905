/**
 * A `redisBackend()` connects before `createRuntime` is called, and only its runtime's shutdown
 * closes those connections. A runtime refused at creation lets go of every one, wherever the refusal
 * comes from: `createRuntime`'s own checks, before the backend is asked (until 2026-12-08 these left
 * them open, and the process never exited), the cluster's (a clock with `wall()`), or a check after
 * the ports were made (BullMQ's queue and worker connections too; until 2026-12-08 those stayed
 * open). On a real redis-server, counting its clients (CLIENT LIST).
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { steadyClock } from '../../src/core/clock.js';
import { createRuntime } from '../../src/runtime/runtime.js';
import type { RuntimeOptions } from '../../src/runtime/types.js';
import { redisBackend } from '../../src/scale/redis-backend.js';
import { ScriptedProvider } from '../../src/testing/scripted-provider.js';
import { type RedisServer, startRedis } from '../support/redis.js';

let redis: RedisServer;
let admin: Redis;

beforeAll(async () => {
  redis = await startRedis();
  admin = new Redis(redis.url);
});

afterAll(async () => {
  admin.disconnect();
  await redis.stop();
});

const clients = async () =>
  String(await admin.client('LIST'))
    .trim()
    .split('\n').length;

const options = (extra: Record<string, unknown>) =>
  ({ providers: [new ScriptedProvider('p')], defaults: { model: 'm' }, ...extra }) as RuntimeOptions;

it.each([
  ['a field it does not take (before the backend is asked)', { limit: 2 }, /got `limit`/],
  [
    'a price table (before the backend is asked)',
    { prices: { p: { m: { input: -1, output: 1 } } } },
    /^prices\./,
  ],
  [
    'a clock with `wall()` (before the ports are made)',
    { clock: steadyClock },
    /`clock` of a cluster runtime/,
  ],
  [
    'a default timeout (after the ports are made)',
    { defaults: { model: 'm', timeoutMs: -5 } },
    /defaults\.timeoutMs/,
  ],
  ['an engine (after the ports are made)', { engine: 'nope' }, /`engine`/],
])('lets go of every connection when it refuses %s', async (_, extra, message) => {
  const alone = await clients();
  const backend = await redisBackend({ url: redis.url });
  await expect.poll(clients, { timeout: 10_000 }).toBeGreaterThan(alone);
  expect(() => createRuntime(options({ ...extra, backend }))).toThrow(message);
  await expect.poll(clients, { timeout: 10_000 }).toBe(alone);
});

it('keeps the connections of a runtime built on the backend when a second one is refused', async () => {
  const alone = await clients();
  const backend = await redisBackend({ url: redis.url });
  const provider = new ScriptedProvider('p');
  const runtime = createRuntime({ providers: [provider], defaults: { model: 'm' }, backend });
  await runtime.ready;
  expect(() => createRuntime(options({ limit: 2, backend }))).toThrow(/got `limit`/);
  // The first runtime still reaches Redis: a session goes through its queue and ends.
  const session = runtime.submit({ messages: [{ role: 'user', content: 'hi' }] });
  await expect.poll(() => provider.pending().length, { timeout: 10_000 }).toBe(1);
  provider.pending()[0]!.settle('ok');
  expect(await session.result).toMatchObject({ ok: true });
  await runtime.shutdown({ deadlineMs: 1000 });
  await expect.poll(clients, { timeout: 10_000 }).toBe(alone);
});
