/**
 * A Redis whose `maxmemory-policy` is not `noeviction`: BullMQ says so once per connection with a
 * bare `console.warn` line; with `onWarning` (as `troupe serve` sets it) troupe says it once, in its
 * own log, and BullMQ's lines do not reach stderr (`eviction.ts`). Until 2026-12-07 a start printed
 * BullMQ's line several times outside troupe's log format.
 */
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createOpenAICompatibleProvider } from '../../src/providers/openai-compatible.js';
import { createRuntime } from '../../src/runtime/runtime.js';
import { redisBackend } from '../../src/scale/redis-backend.js';
import { createOpenAIServer, type OpenAIServer } from '../../src/testing/openai-server.js';
import { type RedisServer, startRedis } from '../support/redis.js';

const KEY = 'sk-scale-eviction-0123456789';
const BULLMQ_LINE = 'IMPORTANT! Eviction policy is allkeys-lru. It should be "noeviction"';
let redis: RedisServer;
let server: OpenAIServer;
let prefixSeq = 0;

beforeAll(async () => {
  redis = await startRedis();
  const admin = new Redis(redis.url);
  await admin.config('SET', 'maxmemory-policy', 'allkeys-lru');
  admin.disconnect();
  server = createOpenAIServer({ apiKey: KEY });
  await server.start();
});
afterAll(async () => {
  await server?.close();
  await redis?.stop();
});
afterEach(() => vi.restoreAllMocks());

/** One instance on its own prefix, a call run through it; what `console.warn` printed. */
async function start(onWarning?: (message: string, fields: Readonly<Record<string, unknown>>) => void) {
  const printed = vi.spyOn(console, 'warn').mockImplementation(() => {});
  const provider = createOpenAICompatibleProvider({ name: 'local', baseURL: server.baseURL, apiKey: KEY });
  const backend = await redisBackend({
    url: redis.url,
    prefix: `ev${++prefixSeq}`,
    ...(onWarning === undefined ? {} : { onWarning }),
  });
  const runtime = createRuntime({ providers: [provider], defaults: { provider: 'local' }, backend });
  await runtime.ready;
  const result = await runtime.submit({ model: 'echo-1', messages: [{ role: 'user', content: 'hi' }] })
    .result;
  expect(result.ok).toBe(true);
  await runtime.shutdown({ deadlineMs: 100 });
  await provider.close();
  return printed.mock.calls.filter(([line]) => line === BULLMQ_LINE).length;
}

describe('an eviction policy other than noeviction', () => {
  it('is BullMQ’s line on stderr, once per connection, without onWarning', async () => {
    expect(await start()).toBeGreaterThan(1);
  });

  it('is one warning in troupe’s log with onWarning, and BullMQ’s lines stay off stderr', async () => {
    const heard: unknown[] = [];
    const printed = await start((message, fields) => heard.push({ message, fields }));
    expect(printed).toBe(0);
    expect(heard).toEqual([
      {
        message: expect.stringMatching(/^Redis maxmemory-policy is "allkeys-lru"; BullMQ needs "noeviction"/),
        fields: { maxmemoryPolicy: 'allkeys-lru' },
      },
    ]);
  });
});
