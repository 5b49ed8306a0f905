/**
 * A session cancelled while the instance that leased it is dead, ended by the canceller's
 * withdrawal (`withdrawals.ts`) once the dead lease lapses: the provider's shared concurrency slot
 * its run took (`limits.perProvider`, kept in the shared state until the run deadline) is freed
 * with it, as a takeover frees it (`releaseLost`). Before, the withdrawal ended the session and left
 * the slot held: with a limit of 1 the next call waited for the dead run's deadline (here 120 s)
 * and ended TIMED_OUT at its queue deadline. Separate troupe processes on a real redis-server.
 * Needs the build.
 */
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOpenAIServer, type OpenAIServer } from '../../src/testing/openai-server.js';
import { type RedisServer, startRedis } from '../support/redis.js';
import { contentOf, type Instance, startInstance } from './fixtures/processes.js';

let redis: RedisServer;
let server: OpenAIServer;
const children: ChildProcess[] = [];

beforeAll(async () => {
  redis = await startRedis();
  server = createOpenAIServer();
  await server.start();
});
afterAll(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
  await server?.close();
  await redis?.stop();
});

describe('a cancel of a session whose instance died while running it, and the slot it held', () => {
  it('frees the dead run’s concurrency slot: the next call runs at once', async () => {
    const start = (index: number, work: boolean): Promise<Instance> =>
      startInstance(
        { redisUrl: redis.url, providerBaseURL: server.baseURL, prefix: 'deadslot', limit: 1, index, work },
        children,
      );
    const [front, worker] = await Promise.all([start(0, false), start(1, true)]);
    const tag = 'dead-slot-first';
    front.send({ op: 'submit', tag, model: 'fault:ok:latency=60000', timeoutMs: 120_000 });
    const submitted = await front.waitFor((l) => l.event === 'submitted' && l.tag === tag, 10_000);
    await server.waitForRequest((r) => contentOf(r.body) === tag);
    worker.child.kill('SIGKILL');
    await new Promise((resolve) => setTimeout(resolve, 100));
    front.send({ op: 'cancel', id: submitted.id });
    const first = await front.waitFor((l) => l.event === 'result' && l.tag === tag, 30_000);
    expect(first).toMatchObject({ ok: false, code: 'CANCELLED' });
    // A survivor with room comes up once the session has ended: nothing takes it over.
    await start(2, true);
    const next = 'dead-slot-next';
    front.send({ op: 'submit', tag: next, queueTimeoutMs: 10_000 });
    const result = await front.waitFor((l) => l.event === 'result' && l.tag === next, 20_000);
    expect(result).toMatchObject({ ok: true });
  });
});
