/**
 * A session cancelled while the instance that leased it is dead: its job stays locked until the
 * lease lapses, and then waits for a stalled-job check, which no instance here runs (a front only
 * submits; a full instance's Workers are paused). The cancel ends it once the lease has lapsed, on
 * the canceller's sweep, instead of leaving its caller waiting for a deadline (an audit of
 * 2026-12-05: 20 s for a call cancelled 0.1 s after its instance died). Before, here, the session
 * ended `TIMED_OUT` at its queue deadline, 20 s on, though its cancel had been taken. Separate
 * troupe processes on a real redis-server. Needs the build.
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

describe('a cancel of a session whose instance died while running it', () => {
  it('ends it cancelled, once, as soon as the dead lease lapses, not at its deadline', async () => {
    const start = (index: number, work: boolean): Promise<Instance> =>
      startInstance(
        { redisUrl: redis.url, providerBaseURL: server.baseURL, prefix: 'deadcancel', limit: 4, index, work },
        children,
      );
    const [front, worker] = await Promise.all([start(0, false), start(1, true)]);
    const tag = 'cancel-dead-lease';
    front.send({ op: 'submit', tag, model: 'fault:ok:latency=60000', timeoutMs: 120_000 });
    const submitted = await front.waitFor((l) => l.event === 'submitted' && l.tag === tag, 10_000);
    await server.waitForRequest((r) => contentOf(r.body) === tag);
    worker.child.kill('SIGKILL');
    await new Promise((resolve) => setTimeout(resolve, 100));
    front.send({ op: 'cancel', id: submitted.id });
    const known = await front.waitFor((l) => l.event === 'cancelled' && l.id === submitted.id, 10_000);
    expect(known.known).toBe(true);
    // The lock lapses within 1.5 s and the front sweeps every second.
    const result = await front.waitFor((l) => l.event === 'result' && l.tag === tag, 30_000);
    expect(result).toMatchObject({ ok: false, code: 'CANCELLED' });
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(front.lines.filter((l) => l.event === 'result' && l.tag === tag)).toHaveLength(1);
  });
});
