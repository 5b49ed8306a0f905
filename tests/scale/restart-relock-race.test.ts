/**
 * A Redis restarted with its data (AOF) after an outage: the locks of
 * the jobs running across it are gone (their TTLs ran on the wall clock). Each instance takes its
 * jobs' locks again on its reconnect (`relock.ts`), but until 2026-12-05 another instance's stalled
 * check could reach Redis first, as its connection came back, and move such a job back to wait:
 * that instance then called the session's provider a second time (8 of 60 sessions after a 4 s
 * outage, in an audit). Here the race is made certain: the instance running the session is stopped
 * (SIGSTOP) through the outage and past the restart, as a reconnect that comes late (its
 * back-off reaches 1 s), and the job is in BullMQ's `stalled` set as a check before the outage would
 * have left it. Needs the build (the instances are processes).
 */
import type { ChildProcess } from 'node:child_process';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createOpenAIServer, type OpenAIServer } from '../../src/testing/openai-server.js';
import { type RedisServer, startRedis } from '../support/redis.js';
import { contentOf, startInstance, stopRig } from './fixtures/processes.js';

let redis: RedisServer;
let server: OpenAIServer;
const children: ChildProcess[] = [];

beforeAll(async () => {
  redis = await startRedis({ appendOnly: true });
  server = createOpenAIServer();
  await server.start();
});
afterAll(() => stopRig({ redis, server }, children));

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The instance running a session stopped from just before Redis goes down (`downMs`) until
 * `backAfterMs` past its restart; the other instance is back at once. Returns the instances that
 * called the provider for the session, and ends it through its own instance.
 */
async function raceAfterRestart(prefix: string, downMs: number, backAfterMs: number): Promise<string[]> {
  const options = { redisUrl: redis.url, providerBaseURL: server.baseURL, prefix, limit: 4 };
  const a = await startInstance({ ...options, index: 0, work: true }, children);
  a.send({ op: 'submit', tag: prefix, model: 'fault:hang' });
  const { id } = await a.waitFor((l) => l.event === 'submitted');
  await server.waitForRequest((r) => contentOf(r.body) === prefix);
  // The other instance comes after the lease, with room to take the job over.
  await startInstance({ ...options, index: 1, work: true }, children);
  await sleep(600);

  const admin = new Redis(redis.url, { lazyConnect: true, retryStrategy: () => 200 });
  try {
    a.child.kill('SIGSTOP');
    // As the last check before the outage left it: a job active, to be moved if its lock is gone.
    await admin.sadd(`${prefix}:p:stalled`, id as string);
    await redis.restart(downMs);
    await sleep(backAfterMs); // the other instance is back and checks; a is not back yet
    a.child.kill('SIGCONT');
    await sleep(4_000);
    const callers = server.requests
      .filter((r) => contentOf(r.body) === prefix)
      .map((r) => r.headers['x-instance'] ?? '');
    // Still a's to end: the cancel reaches its run.
    a.send({ op: 'cancel', id });
    const result = await a.waitFor((l) => l.event === 'result');
    expect(result.code).toBe('CANCELLED');
    return callers;
  } finally {
    admin.disconnect();
  }
}

it('a Redis restarted with its data after 2 s: no instance takes a running session over before its own instance, back late, takes its lock again', async () => {
  // The gap in the checks' calls (over lockDurationMs) and the new run_id each hold the checks.
  expect(await raceAfterRestart('race', 2_000, 1_500)).toEqual(['0']);
}, 40_000);

it('the same after a restart of 0.5 s, the lock lapsing after it: the new run_id alone holds the checks', async () => {
  // Down shorter than a lock's life: no gap holds the checks; the lock lapses 1.5 s after a stopped.
  expect(await raceAfterRestart('short', 500, 2_500)).toEqual(['0']);
}, 40_000);

it('a Redis restarted with its data: the session of an instance that died meanwhile is still taken over, once the hold ends', async () => {
  const prefix = 'dead';
  const options = { redisUrl: redis.url, providerBaseURL: server.baseURL, prefix, limit: 4 };
  const a = await startInstance({ ...options, index: 0, work: true }, children);
  a.send({ op: 'submit', tag: 'orphan', model: 'fault:hang' });
  await server.waitForRequest((r) => contentOf(r.body) === 'orphan');
  await startInstance({ ...options, index: 1, work: true }, children);
  await sleep(600);

  a.child.kill('SIGKILL');
  await redis.restart(2_000);
  const back = Date.now();
  const taken = await server.waitForRequest(
    (r) => contentOf(r.body) === 'orphan' && r.headers['x-instance'] === '1',
  );
  // Held first (2 × lockDurationMs + 1 s after the first call that found the gap), then taken.
  expect(Date.now() - back).toBeLessThan(10_000);
  expect(taken.headers['x-instance']).toBe('1');
}, 40_000);
