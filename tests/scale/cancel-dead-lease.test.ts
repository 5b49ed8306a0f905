/**
 * A session cancelled while the instance that leased it is dead: its job stays locked until the
 * lease lapses, and then waits for a stalled-job check, which no instance here runs (a front only
 * submits; a full instance's Workers are paused). The cancel ends it once the lease has lapsed, on
 * the canceller's sweep (`withdrawals.ts`), instead of leaving its caller waiting for a deadline (an
 * audit of 2026-12-05: 20 s for a call cancelled 0.1 s after its instance died). Before, here, the
 * session ended `TIMED_OUT` at its queue deadline, 20 s on, though its cancel had been taken.
 *
 * And the provider's shared concurrency slot that run took (`limits.perProvider`, kept in the
 * shared state until the run deadline) is freed with it, as a takeover frees it (`releaseLost`).
 * Before (a review of the fix), the withdrawal left it held: with a limit of 1 the next call waited
 * for the dead run's deadline (120 s here) and ended `TIMED_OUT` at its queue deadline.
 * Separate troupe processes on a real redis-server. Needs the build.
 */
import { describe, expect, it } from 'vitest';
import { contentOf, type Instance, type Line, startInstance, useRig } from './fixtures/processes.js';

const rig = useRig();
const children = rig.children;

/**
 * A front and a worker under `prefix`; a session submitted at the front runs on the worker, which
 * is killed; 0.1 s later the front cancels it. Resolves with the session's result line.
 */
async function cancelOnDeadInstance(
  prefix: string,
  limit: number,
): Promise<{ front: Instance; result: Line; start: (index: number) => Promise<Instance> }> {
  const start = (index: number, work = true): Promise<Instance> =>
    startInstance(
      { redisUrl: rig.redis.url, providerBaseURL: rig.server.baseURL, prefix, limit, index, work },
      children,
    );
  const [front, worker] = await Promise.all([start(0, false), start(1)]);
  const tag = `${prefix}-first`;
  front.send({ op: 'submit', tag, model: 'fault:ok:latency=60000', timeoutMs: 120_000 });
  const submitted = await front.waitFor((l) => l.event === 'submitted' && l.tag === tag, 10_000);
  await rig.server.waitForRequest((r) => contentOf(r.body) === tag);
  worker.child.kill('SIGKILL');
  await new Promise((resolve) => setTimeout(resolve, 100));
  front.send({ op: 'cancel', id: submitted.id });
  const known = await front.waitFor((l) => l.event === 'cancelled' && l.id === submitted.id, 10_000);
  expect(known.known).toBe(true);
  // The lock lapses within 1.5 s and the front sweeps every second.
  const result = await front.waitFor((l) => l.event === 'result' && l.tag === tag, 30_000);
  return { front, result, start };
}

describe('a cancel of a session whose instance died while running it', () => {
  it('ends it cancelled, once, as soon as the dead lease lapses, not at its deadline', async () => {
    const { front, result } = await cancelOnDeadInstance('deadcancel', 4);
    expect(result).toMatchObject({ ok: false, code: 'CANCELLED' });
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(front.lines.filter((l) => l.event === 'result' && l.tag === result.tag)).toHaveLength(1);
  });

  it('frees the dead run’s concurrency slot: the next call runs at once', async () => {
    const { front, result, start } = await cancelOnDeadInstance('deadslot', 1);
    expect(result).toMatchObject({ ok: false, code: 'CANCELLED' });
    // A survivor with room comes up once the session has ended: nothing takes it over.
    await start(2);
    const next = 'deadslot-next';
    front.send({ op: 'submit', tag: next, queueTimeoutMs: 10_000 });
    expect(await front.waitFor((l) => l.event === 'result' && l.tag === next, 20_000)).toMatchObject({
      ok: true,
    });
  });
});
