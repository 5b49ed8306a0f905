/**
 * A fallback hop to another provider moves its session's job to that provider's queue: the add, and
 * the write of its deadline. When the add landed and the deadline's write was cut (Redis away at that
 * instant), until 2026-12-07 the run took the move for failed and resumed the session where it was,
 * on the first provider's lease, calling the target from there: the first provider's queue counted a
 * session that no longer called it (its `perProvider` slot stale until the session ended), while the
 * moved job waited in the target's queue. Now a failed move is left to the job's next lease, as a
 * taken-over hop's is (`takeOver`): it waits a moment, then moves again (a landed add is not doubled)
 * or finds the move landed; the first provider's slot is free at once.
 *
 * Real redis-server and the in-memory hub, one instance. The first move throws as a cut connection's
 * command does, its add landed or not; the rest go through.
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

/** The moves asked for, by target; the first throws, after its add landed or before it. */
const moves = { to: [] as string[], landed: true };

function landedThenCut(ports: ClusterPorts): ClusterPorts {
  const queue: SessionQueue = Object.create(ports.queue);
  queue.lease = (run) =>
    ports.queue.lease((leased) =>
      run({
        ...leased,
        moveTo: async (provider, deadlineAt) => {
          moves.to.push(provider);
          if (moves.to.length > 1 || moves.landed) await leased.moveTo(provider, deadlineAt);
          if (moves.to.length === 1) throw new Error('Connection is closed.');
        },
      }),
    );
  return { ...ports, queue };
}

describe.each(wrappedBackends('hmc', () => redis.url, landedThenCut))(
  'a hop whose move landed but answered an error (%s)',
  (_name, backend) => {
    it.each([{ landed: true }, { landed: false }])(
      'frees the first provider’s slot and runs the session once on its target (its add landed: $landed)',
      async ({ landed }) => {
        const p = new ScriptedProvider('p');
        const q = new ScriptedProvider('q');
        const errors: unknown[] = [];
        const runtime = createRuntime({
          providers: [p, q],
          backend: await backend(),
          defaults: { model: 'm', maxAttempts: 1, timeoutMs: 20_000 },
          limits: { perProvider: { p: 1 } },
          onError: (error) => errors.push(error),
        });
        await runtime.ready;
        Object.assign(moves, { to: [], landed });
        try {
          const hop = runtime.submit({
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
            (n) => n === 1,
            'the moved call on q',
            8_000,
          );
          // The hop calls q: p's one slot is free for the next session to p.
          const next = runtime.submit({ provider: 'p', messages: [{ role: 'user', content: 'next' }] });
          await until(
            async () => p.pending().length,
            (n) => n === 1,
            'the next call on p, beside the hop’s on q',
            5_000,
          );
          p.pending()[0]?.settle('ok');
          q.pending()[0]?.settle('ok');
          const [one, two] = [await hop.result, await next.result];
          expect([one.metadata.state, two.metadata.state]).toEqual(['done', 'done']);
          expect(one.metadata.route?.map((h) => [h.provider, h.outcome])).toEqual([
            ['p', 'PROVIDER_UNAVAILABLE'],
            ['q', 'done'],
          ]);
          expect([p.calls.length, q.calls.length]).toEqual([2, 1]);
          // The failed move, then the next lease's move. Landed, the moved job ran at once, and that
          // lease, a moment later, finds the session ended or moves it again (the same job id: nothing added).
          expect(landed ? moves.to.slice(0, 1) : moves.to).toEqual(landed ? ['q'] : ['q', 'q']);
          expect(moves.to.length).toBeLessThanOrEqual(2);
          expect(errors.map((e) => (e as Error).message)).toContain('Connection is closed.');
        } finally {
          await runtime.shutdown({ deadlineMs: 0 });
        }
      },
      30_000,
    );
  },
);
