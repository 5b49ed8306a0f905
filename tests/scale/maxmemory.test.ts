/**
 * A cluster on a Redis at its `maxmemory` with `noeviction` (docs/scale-out.md, "Requirements"):
 * Redis refuses every write with OOM while it still answers reads and PING. A new session cannot be
 * queued: its caller is told `BACKEND_UNAVAILABLE` with Redis's reason, and nothing calls the
 * provider for it. What Redis held before it filled is not lost: a session already running finishes
 * its call and its end, refused meanwhile, is written (and told its caller) once Redis takes writes
 * again; a queued one starts then. Each is called once. `/readyz`'s 503 at `maxmemory` is
 * `tests/integration/health.test.ts`; the MCP event store's `tests/scale/event-store-outage.test.ts`.
 *
 * Real redis-server, filled by `CONFIG SET maxmemory 1` (every write then refused, as at any limit).
 */
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { createOpenAICompatibleProvider } from '../../src/providers/openai-compatible.js';
import { createRuntime } from '../../src/runtime/runtime.js';
import type { SessionResult } from '../../src/runtime/types.js';
import { redisBackend } from '../../src/scale/redis-backend.js';
import { useRedisRig } from '../support/redis-rig.js';

const rig = useRedisRig();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const callsOf = (tag: string) =>
  rig.server.requests.filter(
    (r) => r.path.endsWith('/chat/completions') && JSON.stringify(r.body).includes(tag),
  );

describe('a cluster whose Redis is at its maxmemory (noeviction)', () => {
  it('refuses a new session with BACKEND_UNAVAILABLE and Redis’s reason, and ends the running and the queued ones once each after memory is freed', async () => {
    const errors: string[] = [];
    const runtime = createRuntime({
      providers: [createOpenAICompatibleProvider({ name: 'p', baseURL: rig.server.baseURL, apiKey: 'k' })],
      defaults: { model: 'fault:ok', maxAttempts: 1 },
      limits: { perProvider: { p: 1 } },
      onError: (error) => errors.push(String(error)),
      backend: await redisBackend({ url: rig.redis.url, prefix: 'full' }),
    });
    rig.open.push(runtime);
    await runtime.ready;
    const admin = new Redis(rig.redis.url);
    const ended = new Map<string, SessionResult>();
    const submit = (tag: string, latencyMs: number) => {
      const handle = runtime.submit(
        { model: `fault:ok:latency=${latencyMs}`, messages: [{ role: 'user', content: tag }] },
        { timeoutMs: 20_000 },
      );
      void handle.result.then((result) => ended.set(tag, result));
      return handle;
    };
    try {
      const running = submit('running as Redis fills', 1_000);
      await rig.server.waitForRequest((r) => JSON.stringify(r.body).includes('running as Redis fills'));
      // perProvider 1: this one waits in the queue, which Redis holds.
      const queued = submit('queued as Redis fills', 100);
      for (let i = 0; i < 50 && (await admin.hlen('full:live')) < 2; i++) await sleep(20);
      expect(runtime.session(queued.id)?.state).toBe('queued');

      await admin.config('SET', 'maxmemory-policy', 'noeviction');
      await admin.config('SET', 'maxmemory', '1');
      expect(await admin.ping()).toBe('PONG');
      const refused = await submit('submitted while Redis is full', 100).result;
      expect(refused.ok).toBe(false);
      expect(refused.ok ? undefined : refused.error.code).toBe('BACKEND_UNAVAILABLE');
      expect(refused.ok ? '' : refused.error.message).toMatch(
        /^Expected Redis to take the session, got OOM command not allowed when used memory > 'maxmemory'/,
      );
      expect(refused.metadata.attempts).toBe(0);
      expect(runtime.session(refused.metadata.sessionId)?.code).toBe('BACKEND_UNAVAILABLE');

      // Full past the running call's answer (and 500 ms more): its end cannot be written, so nobody
      // is told yet; the queued one cannot be leased.
      for (let i = 0; i < 100 && callsOf('running as Redis fills')[0]?.completed !== true; i++)
        await sleep(50);
      await sleep(500);
      expect(callsOf('running as Redis fills')[0]?.completed).toBe(true);
      expect(ended.has('running as Redis fills')).toBe(false);
      expect(ended.has('queued as Redis fills')).toBe(false);
      expect(callsOf('queued as Redis fills')).toHaveLength(0);
      expect(errors.some((e) => e.includes('OOM command not allowed'))).toBe(true);

      await admin.config('SET', 'maxmemory', '0');
      const [first, second] = await Promise.all([running.result, queued.result]);
      expect([first.ok, first.metadata.attempts, second.ok, second.metadata.attempts]).toEqual([
        true,
        1,
        true,
        1,
      ]);
      await sleep(500);
      for (const tag of ['running as Redis fills', 'queued as Redis fills'])
        expect(callsOf(tag), tag).toHaveLength(1);
      expect(callsOf('submitted while Redis is full')).toHaveLength(0);
      // Nothing left live in Redis: the refused one was never there, the others ended.
      expect(await admin.hlen('full:live')).toBe(0);
      expect(runtime.status()).toMatchObject({ running: 0, queued: 0 });
    } finally {
      await admin.config('SET', 'maxmemory', '0');
      admin.disconnect();
    }
  }, 30_000);
});
