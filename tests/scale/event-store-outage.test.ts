/**
 * The Redis event store of resumable streams while Redis is down or frozen. Until 2026-12-03 a
 * failed store failed the request the event belonged to: the SDK answers any error in a POST with
 * HTTP 400 and a JSON-RPC "Parse error" (its `data` the Redis error, e.g. "Stream isn't writeable
 * and enableOfflineQueue options is false"), so with `troupe serve --redis` every MCP call was
 * refused as the client's malformed JSON while Redis was down, and waited without a bound while it
 * was frozen. Now the event goes out unstored (its stream cannot resume from it) and the call is
 * answered; `onError` hears the outage once. The same while Redis refuses writes at its `maxmemory`
 * (OOM; docs/mcp.md).
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisEventStore } from '../../src/scale/redis-event-store.js';
import { type Harness, startHarness } from '../integration/mcp/harness.js';
import { openLegacySession, postMcp } from '../support/raw-session.js';
import { type RedisServer, startRedis } from '../support/redis.js';

let redis: RedisServer;
let store: RedisEventStore;
let h: Harness;
const errors: unknown[] = [];

beforeAll(async () => {
  redis = await startRedis();
  store = await RedisEventStore.connect(redis.url, {
    prefix: 'outage',
    storeTimeoutMs: 500,
    onError: (error) => errors.push(error),
  });
  h = await startHarness({ http: { eventStore: store, retryIntervalMs: 1500 } });
});
afterAll(async () => {
  redis.resume();
  await h?.close();
  await store?.close();
  await redis?.stop();
});

/** A 2025-era session and one `chat` call on it: the call's HTTP status and body. */
async function call(): Promise<{ status: number; body: string }> {
  const sid = await openLegacySession(h.url);
  const response = await postMcp(h.url, sid, {
    jsonrpc: '2.0',
    id: 2,
    method: 'tools/call',
    params: { name: 'chat', arguments: { prompt: 'hello', provider: 'fast' } },
  });
  return { status: response.status, body: await response.text() };
}

function within<T>(promise: Promise<T>, ms: number): Promise<T | 'no answer'> {
  return Promise.race([promise, new Promise<'no answer'>((r) => setTimeout(() => r('no answer'), ms))]);
}

/** Whether a call's events are stored again within 5 s (its connection back after an outage). */
async function storedAgain(): Promise<boolean> {
  for (let i = 0; i < 50; i++) {
    if (!(await call()).body.includes('|unstored')) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

/** A call made now is answered within 5 s, its events unstored, and `onError` heard the outage once. */
async function answeredUnstored(): Promise<void> {
  const answer = await within(call(), 5000);
  expect(answer).not.toBe('no answer');
  const { status, body } = answer as { status: number; body: string };
  expect(status).toBe(200);
  expect(body).not.toContain('Parse error');
  expect(body).toContain('"result"');
  expect(body).toContain('|unstored');
  expect(errors).toHaveLength(1);
  expect(String(errors[0])).toContain('Expected Redis to store an event of a resumable stream');
}

describe('resumable streams on Redis while Redis is away', () => {
  it('answers calls while Redis is down, and says so once', async () => {
    expect((await call()).status).toBe(200);
    await redis.stop();
    await answeredUnstored();
    await redis.restart();
  }, 20_000);

  it('answers calls while Redis is frozen, within the store bound per event', async () => {
    // Connected again after the restart above (ioredis reconnects within a second).
    expect(await storedAgain()).toBe(true);
    errors.length = 0;
    redis.freeze();
    const frozen = await within(call(), 8000);
    redis.resume();
    expect(frozen).not.toBe('no answer');
    expect((frozen as { status: number }).status).toBe(200);
    expect((frozen as { body: string }).body).toContain('"result"');
    expect(errors).toHaveLength(1);
    expect(String(errors[0])).toContain('no answer within 500 ms');
  }, 20_000);

  it('answers calls while Redis refuses writes at its maxmemory, and says so once', async () => {
    // Stored again once the frozen server went on (above).
    expect(await storedAgain()).toBe(true);
    errors.length = 0;
    const admin = new Redis(redis.url);
    try {
      // Full: every write is refused (OOM), while reads and PING still answer.
      await admin.config('SET', 'maxmemory-policy', 'noeviction');
      await admin.config('SET', 'maxmemory', '1');
      await answeredUnstored();
      expect(String(errors[0])).toContain('OOM command not allowed');
    } finally {
      await admin.config('SET', 'maxmemory', '0');
      admin.disconnect();
    }
  }, 20_000);
});
