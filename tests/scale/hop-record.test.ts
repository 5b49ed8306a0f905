/**
 * Fallback hops in the cluster composition, on in-memory ports and a simulated clock (the same
 * lease runner as on Redis): a hop is recorded (its run record at the new target) before any call
 * goes to that target, so an instance taking the session over never resumes it on the target it
 * left; and a hop to another provider moves to that provider's queue, so its concurrency follows
 * the session (the provider it left admits its next session at once).
 */
import { describe, expect, it } from 'vitest';
import { SimulatedClock } from 'xstate';
import { MemoryClusterHub, type RuntimeBackend } from '../../src/runtime/backend.js';
import type { ClusterPorts, Lease, SessionQueue, SessionStore } from '../../src/runtime/ports.js';
import { createRuntime } from '../../src/runtime/runtime.js';
import type { Runtime, SessionRequest } from '../../src/runtime/types.js';
import { createClusterRuntime } from '../../src/scale/cluster-runtime.js';
import { ScriptedProvider } from '../../src/testing/scripted-provider.js';

const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

async function settleDown(clock: SimulatedClock, steps = 5): Promise<void> {
  for (let i = 0; i < steps; i++) {
    await flush();
    clock.increment(10);
    await flush();
  }
}

/** A store whose writes of a hop (`session.fallback`) wait until the test lets them through, or fail. */
function holdingHops(store: SessionStore, held: (() => void)[], fail: boolean): SessionStore {
  return new Proxy(store, {
    get(target, key, receiver) {
      if (key !== 'putRunning') {
        const value = Reflect.get(target, key, receiver);
        return typeof value === 'function' ? value.bind(target) : value;
      }
      const put: SessionStore['putRunning'] = async (summary, event, run, ttlMs) => {
        if (event.type === 'session.fallback') {
          if (fail) throw new Error('Expected Redis to answer, got a reset');
          await new Promise<void>((resolve) => held.push(resolve));
        }
        await target.putRunning(summary, event, run, ttlMs);
      };
      return put;
    },
  });
}

/** A queue whose leases move (`moveTo`) through `move`, given the lease's own move. */
function movingThrough(
  queue: SessionQueue,
  move: (leased: Lease, provider: string, deadlineAt: number) => Promise<void>,
): SessionQueue {
  return new Proxy(queue, {
    get(target, key, receiver) {
      const value = Reflect.get(target, key, receiver);
      if (key !== 'lease') return typeof value === 'function' ? value.bind(target) : value;
      const lease: SessionQueue['lease'] = (run) =>
        target.lease((leased) =>
          run({ ...leased, moveTo: (provider, deadlineAt) => move(leased, provider, deadlineAt) }),
        );
      return lease;
    },
  });
}

/**
 * A queue whose first `moveTo` loses its instance right after the hop was recorded: the job goes
 * back to wait in the queue it was leased from, as a lapsed lock returns it after a kill -9.
 */
function losingFirstMove(queue: SessionQueue, moves: string[] = [], onLost = () => {}): SessionQueue {
  let lost = false;
  return movingThrough(queue, async (leased, provider, deadlineAt) => {
    moves.push(provider);
    if (lost) return leased.moveTo(provider, deadlineAt);
    lost = true;
    onLost();
    await leased.handBack();
  });
}

/**
 * A queue whose `moveTo` answers only when the test lets it (`late`), after the job is in its
 * target's queue: as on Redis, where the deadline's write may answer after another connection has
 * already fetched the moved job.
 */
function answeringMovesLate(queue: SessionQueue, late: (() => void)[]): SessionQueue {
  return movingThrough(queue, async (leased, provider, deadlineAt) => {
    await leased.moveTo(provider, deadlineAt);
    await new Promise<void>((resolve) => late.push(resolve));
  });
}

function cluster({
  failHops = false,
  loseMove = false,
  lateMove = false,
  moves = [] as string[],
  onLost = () => {},
} = {}) {
  const clock = new SimulatedClock();
  clock.set(1_000_000);
  const hub = new MemoryClusterHub({ clock });
  const p = new ScriptedProvider('p');
  const q = new ScriptedProvider('q');
  const held: (() => void)[] = [];
  const late: (() => void)[] = [];
  const stores: SessionStore[] = [];
  const errors: unknown[] = [];
  const backend = (work: boolean): RuntimeBackend => ({
    kind: 'memory-cluster',
    createRuntime: (options, local) =>
      createClusterRuntime(options, local, (context): ClusterPorts => {
        const ports = hub.ports(context, { sweepIntervalMs: 1000, work });
        const store = holdingHops(ports.store, held, failHops);
        stores.push(ports.store);
        const queue = loseMove
          ? losingFirstMove(ports.queue, moves, onLost)
          : lateMove
            ? answeringMovesLate(ports.queue, late)
            : movingThrough(ports.queue, (leased, provider, deadlineAt) => {
                moves.push(provider);
                return leased.moveTo(provider, deadlineAt);
              });
        return { ...ports, store, queue };
      }),
  });
  /** Another instance; `work: false`, a front that only submits and reads. */
  const instance = (work = true): Runtime =>
    createRuntime({
      providers: [p, q],
      defaults: { model: 'm', maxAttempts: 1 },
      limits: { perProvider: { p: 1, q: 1 } },
      clock,
      onError: (error) => errors.push(error),
      backend: backend(work),
    });
  return { clock, p, q, held, late, stores, errors, runtime: instance(), instance };
}

/** Submits `hopping` once the runtime is ready and fails its call on `p`; its hop's record goes through. */
async function submitAndHop({ clock, p, held, runtime }: ReturnType<typeof cluster>, from = runtime) {
  await runtime.ready;
  const x = from.submit(hopping);
  await settleDown(clock);
  (p.pending()[0] as (typeof p.calls)[0]).settle('retryable');
  await settleDown(clock);
  for (const release of held.splice(0)) release();
  await settleDown(clock, 20);
  return x;
}

/**
 * A call on q holding q's only slot (`q` cools down when `cool` says), then a session on p with
 * fallbacks q and p's m2, its 10 s run cut by p's failure: it ends done on p's m2, past q.
 */
async function hopPastCoolingQ(c: ReturnType<typeof cluster>, cool: () => void): Promise<void> {
  const { clock, p, errors, runtime } = c;
  await runtime.ready;
  const holder = runtime.submit(
    { provider: 'q', messages: [{ role: 'user', content: 'hold' }] },
    { maxAttempts: 2 },
  );
  await settleDown(clock);
  cool();
  await settleDown(clock);
  const x = runtime.submit(
    {
      ...hopping,
      fallbacks: [
        { provider: 'q', model: 'm' },
        { provider: 'p', model: 'm2' },
      ],
    },
    { timeoutMs: 10_000 },
  );
  await settleDown(clock);
  (p.pending()[0] as (typeof p.calls)[0]).settle('retryable');
  await settleDown(clock);
  // Each hop's record goes through.
  for (let round = 0; round < 3; round++) {
    for (const release of c.held.splice(0)) release();
    await settleDown(clock, 20);
  }
  expect(p.pending().map((call) => call.request.model)).toEqual(['m2']);
  (p.pending()[0] as (typeof p.calls)[0]).settle('ok');
  await settleDown(clock);
  const xr = await x.result;
  expect(xr.metadata.route?.map((h) => [h.provider, h.model, h.outcome])).toEqual([
    ['p', 'm', 'PROVIDER_UNAVAILABLE'],
    ['q', 'm', 'RATE_LIMITED'],
    ['p', 'm2', 'done'],
  ]);
  expect(errors).toEqual([]);
  holder.cancel('test over');
  await runtime.shutdown({ deadlineMs: 0 });
}

const hopping: SessionRequest = {
  provider: 'p',
  messages: [{ role: 'user', content: 'hop' }],
  fallbacks: [{ provider: 'q', model: 'm' }],
};

describe('fallback hops in the cluster composition', () => {
  it('records a hop at its new target before the target gets a call', async () => {
    const { clock, p, q, held, stores, errors, runtime } = cluster();
    await runtime.ready;
    const x = runtime.submit(hopping);
    await settleDown(clock);
    expect(p.pending()).toHaveLength(1);
    (p.pending()[0] as (typeof p.calls)[0]).settle('retryable');
    await settleDown(clock, 20);
    // The hop's record is held: what a takeover would read still says `p`, so nothing goes to `q`.
    expect(held).toHaveLength(1);
    expect(q.calls).toHaveLength(0);
    const before = await (stores[0] as SessionStore).leaseState(x.id);
    expect(before.run?.routing?.target).toBe(0);
    for (const release of held.splice(0)) release();
    await settleDown(clock, 20);
    // Recorded at `q`: an instance taking it over resumes it there. Then, and only then, `q` is called.
    const after = await (stores[0] as SessionStore).leaseState(x.id);
    expect(after.run?.routing?.target).toBe(1);
    expect(q.pending()).toHaveLength(1);
    (q.pending()[0] as (typeof q.calls)[0]).settle('ok');
    await settleDown(clock);
    const result = await x.result;
    expect(result.ok).toBe(true);
    expect(result.metadata.route?.map((h) => [h.provider, h.outcome])).toEqual([
      ['p', 'PROVIDER_UNAVAILABLE'],
      ['q', 'done'],
    ]);
    expect(result.metadata.attempts).toBe(2);
    // Stopped here to go on from its record: one session, one end, not a cancellation.
    expect(runtime.metrics().ended).toEqual({ done: 1, failed: 0, timedOut: 0, cancelled: 0 });
    expect(errors).toEqual([]);
    await runtime.shutdown({ deadlineMs: 0 });
  });

  it('a hop to another model of the same provider is recorded first too, and resumes here on that model', async () => {
    const { clock, p, q, held, stores, errors, runtime } = cluster();
    await runtime.ready;
    const x = runtime.submit({
      provider: 'p',
      model: 'm',
      messages: [{ role: 'user', content: 'hop within p' }],
      fallbacks: [{ provider: 'p', model: 'm2' }],
    });
    await settleDown(clock);
    (p.pending()[0] as (typeof p.calls)[0]).settle('retryable');
    await settleDown(clock, 20);
    expect(held).toHaveLength(1);
    expect(p.calls).toHaveLength(1);
    for (const release of held.splice(0)) release();
    await settleDown(clock, 20);
    expect((await (stores[0] as SessionStore).leaseState(x.id)).run?.routing?.target).toBe(1);
    expect(p.pending().map((c) => c.request.model)).toEqual(['m2']);
    (p.pending()[0] as (typeof p.calls)[0]).settle('ok');
    await settleDown(clock);
    const result = await x.result;
    expect(result.ok).toBe(true);
    expect(result.metadata.route?.map((h) => [h.model, h.outcome])).toEqual([
      ['m', 'PROVIDER_UNAVAILABLE'],
      ['m2', 'done'],
    ]);
    expect(q.calls).toHaveLength(0);
    expect(errors).toEqual([]);
    await runtime.shutdown({ deadlineMs: 0 });
  });

  it('a session cancelled while its hop is being recorded ends cancelled, with its route, and calls nothing more', async () => {
    const { clock, p, q, held, errors, runtime } = cluster();
    await runtime.ready;
    const x = runtime.submit(hopping);
    await settleDown(clock);
    (p.pending()[0] as (typeof p.calls)[0]).settle('retryable');
    await settleDown(clock, 20);
    expect(held).toHaveLength(1);
    x.cancel('changed my mind');
    await settleDown(clock);
    for (const release of held.splice(0)) release();
    await settleDown(clock, 20);
    const result = await x.result;
    expect(result.ok || result.metadata.state).toBe('cancelled');
    expect(result.metadata.route?.map((h) => h.provider)).toEqual(['p', 'q']);
    expect(q.calls).toHaveLength(0);
    expect(errors).toEqual([]);
    await runtime.shutdown({ deadlineMs: 0 });
  });

  it('a hop whose record cannot be written goes on here, on its new target, and is not moved', async () => {
    const { clock, p, q, errors, runtime } = cluster({ failHops: true });
    await runtime.ready;
    const x = runtime.submit(hopping);
    await settleDown(clock);
    (p.pending()[0] as (typeof p.calls)[0]).settle('retryable');
    await settleDown(clock, 20);
    expect(q.pending()).toHaveLength(1);
    // Its job stays in `p`'s queue (the documented limit): a session for `p` waits meanwhile.
    const y = runtime.submit({ provider: 'p', messages: [{ role: 'user', content: 'on p' }] });
    await settleDown(clock, 20);
    expect(p.calls).toHaveLength(1);
    (q.pending()[0] as (typeof q.calls)[0]).settle('ok');
    await settleDown(clock, 20);
    const result = await x.result;
    expect(result.metadata.route?.map((h) => [h.provider, h.outcome])).toEqual([
      ['p', 'PROVIDER_UNAVAILABLE'],
      ['q', 'done'],
    ]);
    // Not sent back to `p` from its old record: `p` now runs Y only.
    expect(p.calls).toHaveLength(2);
    (p.pending()[0] as (typeof p.calls)[0]).settle('ok');
    await settleDown(clock);
    expect((await y.result).ok).toBe(true);
    expect(q.calls).toHaveLength(1);
    expect(errors.map((e) => (e as Error).message)).toEqual(['Expected Redis to answer, got a reset']);
    await runtime.shutdown({ deadlineMs: 0 });
  });

  it('a hop recorded but not moved (its instance lost in between) moves on when its old job is taken up', async () => {
    const c = cluster({ loseMove: true });
    const { clock, p, q, errors, runtime } = c;
    const x = await submitAndHop(c);
    // Its old job, back in `p`'s queue, was taken up: read at `q`, it moved there without a call.
    expect(p.calls).toHaveLength(1);
    expect(q.pending()).toHaveLength(1);
    const y = runtime.submit({ provider: 'p', messages: [{ role: 'user', content: 'on p' }] });
    await settleDown(clock, 20);
    expect(p.pending()).toHaveLength(1);
    (q.pending()[0] as (typeof q.calls)[0]).settle('ok');
    (p.pending()[0] as (typeof p.calls)[0]).settle('ok');
    await settleDown(clock);
    const [xr, yr] = await Promise.all([x.result, y.result]);
    expect([xr.ok, yr.ok]).toEqual([true, true]);
    expect(xr.metadata.route?.map((h) => [h.provider, h.outcome])).toEqual([
      ['p', 'PROVIDER_UNAVAILABLE'],
      ['q', 'done'],
    ]);
    expect(q.calls).toHaveLength(1);
    expect(errors).toEqual([]);
    await runtime.shutdown({ deadlineMs: 0 });
  });

  it('a hop to a target cooling down past its run deadline is not moved to its queue: it moves on from where it is', async () => {
    const moves: string[] = [];
    const c = cluster({ moves });
    // q's only slot is held by a call backing off after q's 429, which cools q down for a minute.
    await hopPastCoolingQ(c, () => (c.q.pending()[0] as (typeof c.q.calls)[0]).settle('rateLimited', 60_000));
    // It went on to p's m2 from p's lease, and never to q's queue, where it would have waited for
    // the slot the backing-off call holds.
    expect(moves).toEqual([]);
    expect(c.q.calls).toHaveLength(1);
  });

  it('a hop recorded but not moved, whose target cools down past its deadline meanwhile, moves on when taken up', async () => {
    const moves: string[] = [];
    let coolQ = () => {};
    const c = cluster({ loseMove: true, moves, onLost: () => coolQ() });
    // Its instance is lost as it moves to q; meanwhile q answers a 429 asking for a minute.
    await hopPastCoolingQ(c, () => {
      coolQ = () => (c.q.pending()[0] as (typeof c.q.calls)[0]).settle('rateLimited', 60_000);
    });
    // Taken up from p's queue at q, now cooling past its deadline: it moved on to p's m2 from there,
    // and the only move asked for is the one lost.
    expect(moves).toEqual(['q']);
  });

  it('a moved hop leased from its target queue before its move answered still runs there, once', async () => {
    const c = cluster({ lateMove: true });
    const { clock, p, q, late, errors, runtime } = c;
    const x = await submitAndHop(c);
    // In `q`'s queue and leased there, while its run on `p` still waits for the move's answer.
    expect(late).toHaveLength(1);
    for (const answer of late.splice(0)) answer();
    await settleDown(clock, 20);
    // Not joined to the run it left as a lapsed lock's lease is: that run has ended, so it runs on `q`.
    expect(q.pending()).toHaveLength(1);
    (q.pending()[0] as (typeof q.calls)[0]).settle('ok');
    await settleDown(clock);
    const result = await x.result;
    expect(result.metadata.route?.map((h) => [h.provider, h.outcome])).toEqual([
      ['p', 'PROVIDER_UNAVAILABLE'],
      ['q', 'done'],
    ]);
    expect([p.calls.length, q.calls.length]).toEqual([1, 1]);
    expect(errors).toEqual([]);
    await runtime.shutdown({ deadlineMs: 0 });
  });

  it('a moved hop leased here while its first run let go, as this instance drains, goes back for another instance', async () => {
    const c = cluster({ lateMove: true });
    const { clock, q, late, errors, runtime } = c;
    // Submitted by a front, whose caller hears the session's own end.
    const front = c.instance(false);
    await front.ready;
    const x = await submitAndHop(c, front);
    // Leased from `q`'s queue here, waiting for the run it left; then another instance joins and this one drains.
    expect(late).toHaveLength(1);
    const other = c.instance();
    await other.ready;
    let drained = false;
    const shutdown = runtime.shutdown({ deadlineMs: 0 }).then(() => {
      drained = true;
    });
    await settleDown(clock, 5);
    for (const answer of late.splice(0)) answer();
    await settleDown(clock, 20);
    // Handed back, not run here: this instance is done draining, and the other one calls `q`.
    expect(drained).toBe(true);
    expect(q.pending()).toHaveLength(1);
    (q.pending()[0] as (typeof q.calls)[0]).settle('ok');
    await settleDown(clock);
    await shutdown;
    const result = await x.result;
    expect(result.metadata.route?.map((h) => [h.provider, h.outcome])).toEqual([
      ['p', 'PROVIDER_UNAVAILABLE'],
      ['q', 'done'],
    ]);
    expect(q.calls).toHaveLength(1);
    expect(errors).toEqual([]);
    await other.shutdown({ deadlineMs: 0 });
    await front.shutdown({ deadlineMs: 0 });
  });

  it('a hop waiting for its full target ends at its run deadline, or at once when cancelled, its route kept', async () => {
    const { clock, p, q, held, errors, runtime } = cluster();
    await runtime.ready;
    const busy = runtime.submit(
      { provider: 'q', messages: [{ role: 'user', content: 'busy' }] },
      { timeoutMs: 600_000 },
    );
    const submit = () => runtime.submit(hopping, { timeoutMs: 5_000, queueTimeoutMs: 30_000 });
    const late = submit();
    const cancelled = submit();
    await settleDown(clock);
    for (let i = 0; i < 2; i++) {
      for (const call of p.pending()) call.settle('retryable');
      await settleDown(clock, 20);
      for (const release of held.splice(0)) release();
      await settleDown(clock, 20);
    }
    // Both moved to `q`'s queue, where `busy` holds the one slot.
    expect(q.calls).toHaveLength(1);
    expect(runtime.session(cancelled.id)?.provider).toBe('q');
    const hopAt = clock.now();
    cancelled.cancel('no longer needed');
    await settleDown(clock, 5);
    const c = await cancelled.result;
    expect(c.ok || [c.metadata.state, c.metadata.route?.map((h) => [h.provider, h.outcome])]).toEqual([
      'cancelled',
      [
        ['p', 'PROVIDER_UNAVAILABLE'],
        ['q', 'CANCELLED'],
      ],
    ]);
    let endedAt = 0;
    void late.result.then(() => {
      endedAt = clock.now();
    });
    for (let i = 0; i < 100 && endedAt === 0; i++) {
      clock.increment(100);
      await settleDown(clock, 1);
    }
    const l = await late.result;
    expect(l.ok || [l.metadata.state, l.metadata.route?.map((h) => [h.provider, h.outcome])]).toEqual([
      'timedOut',
      [
        ['p', 'PROVIDER_UNAVAILABLE'],
        ['q', 'TIMED_OUT'],
      ],
    ]);
    // At its run deadline (5 s from its start), give or take a sweep (1 s): not at the backstop's 45 s.
    expect(endedAt - hopAt).toBeLessThan(6_500);
    expect(q.calls).toHaveLength(1);
    busy.cancel('test over');
    expect(errors).toEqual([]);
    await runtime.shutdown({ deadlineMs: 0 });
  });

  it("a hop's concurrency follows it: its first provider admits its next session, its target stays full", async () => {
    const c = cluster();
    const { clock, p, q, errors, runtime } = c;
    const x = await submitAndHop(c);
    expect(q.pending()).toHaveLength(1);
    // X runs on `q`: `p` has its one slot for Y; Z waits for `q`'s.
    const y = runtime.submit({ provider: 'p', messages: [{ role: 'user', content: 'on p' }] });
    const z = runtime.submit({ provider: 'q', messages: [{ role: 'user', content: 'on q' }] });
    await settleDown(clock, 20);
    expect(p.pending()).toHaveLength(1);
    expect(q.pending()).toHaveLength(1);
    expect(runtime.session(z.id)?.state).toBe('queued');
    (p.pending()[0] as (typeof p.calls)[0]).settle('ok');
    (q.pending()[0] as (typeof q.calls)[0]).settle('ok');
    await settleDown(clock, 20);
    expect(q.pending()).toHaveLength(1);
    (q.pending()[0] as (typeof q.calls)[0]).settle('ok');
    await settleDown(clock);
    const results = await Promise.all([x.result, y.result, z.result]);
    expect(results.map((r) => r.ok)).toEqual([true, true, true]);
    expect(errors).toEqual([]);
    await runtime.shutdown({ deadlineMs: 0 });
  });
});
