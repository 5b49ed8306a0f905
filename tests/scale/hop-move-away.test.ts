/**
 * A hop recorded but not moved (its instance lost between the hop's record and its move) is moved
 * on by the lease that takes its old job up (`LeaseRunner.run`). When that move fails (Redis cut at
 * that instant: the add to the target's queue or the write of its deadline unanswered), until
 * 2026-12-06 the lease threw, BullMQ failed the job and dropped it (`removeOnFail`), and the session
 * waited for its submitter's backstop (its deadlines and 10 s past them) to end `BACKEND_UNAVAILABLE`,
 * its call on the target never made. Now its old job waits a moment, as a lease whose first read
 * fails does, and the next lease moves it again: it runs once on its target and ends `done`.
 *
 * Real redis-server and the in-memory hub. The lease's first move is lost: its run ends as if moved,
 * and its job goes back to wait in the queue it left (the instance lost right after the hop was
 * recorded, as a lapsed lock returns it after a kill -9); the next `failing` moves fail as a cut
 * connection's commands do; the rest go through.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterPorts, SessionQueue } from '../../src/runtime/ports.js';
import { createRuntime } from '../../src/runtime/runtime.js';
import { ScriptedProvider } from '../../src/testing/scripted-provider.js';
import { type RedisServer, startRedis } from '../support/redis.js';
import { wrappedBackends } from '../support/redis-ports.js';
import { until } from '../support/until.js';

let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});

/**
 * The moves asked for, by target; how many more after the lost one fail; and whether a failing
 * one's job landed in its target's queue first (its add answered, the deadline's write cut).
 */
const moves = { to: [] as string[], failing: 0, landed: false };

function losingThenFailingMoves(ports: ClusterPorts): ClusterPorts {
  const queue: SessionQueue = Object.create(ports.queue);
  queue.lease = (run) =>
    ports.queue.lease(async (leased) => {
      let lost = false;
      const held = await run({
        ...leased,
        moveTo: async (provider, deadlineAt) => {
          moves.to.push(provider);
          // Lost: its run here ends as if moved, and its job waits again once that run let go.
          if (moves.to.length === 1) {
            lost = true;
            return;
          }
          if (moves.failing > 0) {
            moves.failing--;
            if (moves.landed) await leased.moveTo(provider, deadlineAt);
            throw new Error('Connection is closed.');
          }
          return leased.moveTo(provider, deadlineAt);
        },
      });
      if (lost) await leased.handBack();
      return held;
    });
  return { ...ports, queue };
}

describe.each(wrappedBackends('hma', () => redis.url, losingThenFailingMoves))(
  'a taken-over hop whose move fails (%s)',
  (_name, backend) => {
    it.each([
      { failures: 1, landed: false },
      { failures: 2, landed: false },
      { failures: 1, landed: true },
    ])(
      'moves it again and runs it once on its target, its move failing $failures time(s) (its job landed: $landed)',
      async ({ failures, landed }) => {
        const p = new ScriptedProvider('p');
        const q = new ScriptedProvider('q');
        const errors: unknown[] = [];
        const runtime = createRuntime({
          providers: [p, q],
          backend: await backend(),
          // The old code's backstop ends it at 18.5 s (3.5 + 5 + 10), within the test's time; each
          // failed move waits 1 s (`PROBE_POLL_MS`) inside the run deadline.
          defaults: { model: 'm', maxAttempts: 1, queueTimeoutMs: 3_500, timeoutMs: 5_000 },
          onError: (error) => errors.push(error),
        });
        await (runtime as { ready?: Promise<void> }).ready;
        Object.assign(moves, { to: [], failing: failures, landed });
        const started = Date.now();
        const handle = runtime.submit({
          provider: 'p',
          messages: [{ role: 'user', content: 'hop' }],
          fallbacks: [{ provider: 'q', model: 'm' }],
        });
        await until(
          async () => p.pending().length,
          (n) => n === 1,
          'the call on p',
          5_000,
        );
        p.pending()[0]?.settle('retryable');
        await until(
          async () => q.pending().length,
          (n) => n >= 1,
          'the call on q',
          8_000,
        ).catch(() => {});
        // Landed, it runs on q while its old job waits its moment; that job, leased again meanwhile
        // here, waits for the run on q (`LeaseRunner.moved`), finds the session ended, and ends too.
        if (landed) await new Promise((resolve) => setTimeout(resolve, 1_500));
        q.pending()[0]?.settle('ok');
        const result = await handle.result;
        expect(result.ok ? result.metadata.state : `${result.error.code}: ${result.error.message}`).toBe(
          'done',
        );
        expect(result.metadata.route?.map((h) => [h.provider, h.outcome])).toEqual([
          ['p', 'PROVIDER_UNAVAILABLE'],
          ['q', 'done'],
        ]);
        // The lost move, the failed ones, and the one that went through (landed: the failed one's).
        expect(moves.to).toEqual(Array(failures + (landed ? 1 : 2)).fill('q'));
        expect([p.calls.length, q.calls.length]).toEqual([1, 1]);
        expect(Date.now() - started).toBeLessThan(8_000);
        expect(errors.map((e) => (e as Error).message)).toContain('Connection is closed.');
        await runtime.shutdown({ deadlineMs: 0 });
      },
      30_000,
    );
  },
);
