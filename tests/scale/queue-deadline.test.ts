/**
 * The queue-deadline race on Redis (fixed in 257824b), made deterministic: a queued session that a
 * Worker holds at the instant its queue deadline passes, and that goes back to wait without
 * having started (as a lease bounced by a rate limit does), still ends at its queue deadline. The
 * sweep that found it leased must keep its deadline, so the next sweep ends it; the submitter's
 * own withdrawal at the deadline found it leased too.
 *
 * Real Redis and BullMQ: the test leases the job itself through a BullMQ Worker (`getNextJob`)
 * before the deadline and moves it back to wait (`moveToWait`, as a bounced lease is) when the
 * sweep after the one that saw it overdue begins, so the order of events is fixed.
 */
import { Worker } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOpenAICompatibleProvider } from '../../src/providers/openai-compatible.js';
import type { RuntimeBackend } from '../../src/runtime/backend.js';
import type { SessionQueue } from '../../src/runtime/ports.js';
import { createRuntime } from '../../src/runtime/runtime.js';
import type { Runtime, SessionResult } from '../../src/runtime/types.js';
import { type RedisServer, startRedis } from '../support/redis.js';
import { wrappedRedisBackend } from '../support/redis-ports.js';

let redis: RedisServer;
const cleanups: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  await redis?.stop();
});

const PREFIX = 'qdl';
const QUEUE_TIMEOUT_MS = 2000;
const SWEEP_MS = 200;

/** The Redis ports, with a hook run at the start of every sweep (`overdue`) and told what it found. */
async function backend(onSweep: (found: readonly string[]) => Promise<void>): Promise<RuntimeBackend> {
  let before: readonly string[] = [];
  // A front: the only Worker is the test's own.
  const options = {
    url: redis.url,
    prefix: PREFIX,
    instanceId: 'front',
    work: false,
    sweepIntervalMs: SWEEP_MS,
  };
  return wrappedRedisBackend(options, (ports) => {
    const queue: SessionQueue = Object.create(ports.queue);
    queue.overdue = async (now, limit) => {
      await onSweep(before);
      const due = await ports.queue.overdue(now, limit);
      before = due.map((d) => d.sessionId);
      return due;
    };
    return { ...ports, queue };
  });
}

describe('the queue deadline of a session leased at that instant, on Redis', () => {
  it('ends it at its queue deadline once it waits again, not at the backstop', async () => {
    const worker = new Worker('p', null, {
      connection: { url: redis.url, maxRetriesPerRequest: null },
      prefix: PREFIX,
      autorun: false,
      // Held for the whole test: it never stalls back by itself.
      lockDuration: 60_000,
    });
    cleanups.push(() => worker.close());
    let leased: { job: Awaited<ReturnType<Worker['getNextJob']>> } | undefined;
    let bounced = false;
    const runtime: Runtime = createRuntime({
      providers: [
        createOpenAICompatibleProvider({ name: 'p', baseURL: 'http://127.0.0.1:9/v1', apiKey: 'k' }),
      ],
      defaults: { model: 'm', maxAttempts: 1 },
      backend: await backend(async (found) => {
        if (leased === undefined || bounced) return;
        // The sweep before this one saw the leased session overdue: now it goes back to wait.
        if (found.includes(leased.job?.id ?? '')) {
          await leased.job?.moveToWait('test-token');
          bounced = true;
        }
      }),
    });
    await runtime.ready;
    cleanups.push(() => runtime.shutdown({ deadlineMs: 100 }));

    const handle = runtime.submit(
      { messages: [{ role: 'user', content: 'held' }] },
      { queueTimeoutMs: QUEUE_TIMEOUT_MS, timeoutMs: 60_000 },
    );
    // Leased before its deadline, as a Worker bounced by a rate limit holds it for a moment.
    let job: Awaited<ReturnType<Worker['getNextJob']>>;
    do job = await worker.getNextJob('test-token', { block: false });
    while (job === undefined);
    expect(job.id).toBe(handle.id);
    leased = { job };

    const outcome = await Promise.race([
      handle.result,
      // The backstop would end it only 10 s past both deadlines (over a minute).
      new Promise<'still waiting'>((resolve) => setTimeout(() => resolve('still waiting'), 6000)),
    ]);
    expect(bounced).toBe(true);
    expect(outcome).not.toBe('still waiting');
    const result = outcome as SessionResult;
    expect(result.ok).toBe(false);
    expect(result.ok || result.error.code).toBe('TIMED_OUT');
    expect(result.ok || result.error.message).toContain(`to start within ${QUEUE_TIMEOUT_MS} ms of queueing`);
    // Never started: no attempt was made.
    expect(result.metadata.attempts).toBe(0);
  }, 20_000);
});
