/**
 * Each caller's share of the sessions running at once (`limits.maxRunningPerCaller`), in the
 * in-memory runtime. Before it, nothing bounded how many of `maxConcurrent` one caller's sessions
 * held: an audit (2026-12-05) ran two slow calls of one token under `--max-concurrent 2`, and
 * another token's call timed out in the queue. The provider here answers a call only when the test
 * says so, so every order below is decided by admission alone.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { SimulatedClock } from 'xstate';
import { createLocalRuntime } from '../../../src/runtime/local-runtime.js';
import type { PassHolds } from '../../../src/runtime/pass-holds.js';
import { RunningShare } from '../../../src/runtime/running-share.js';
import { createRuntime } from '../../../src/runtime/runtime.js';
import type { SessionRecord } from '../../../src/runtime/session-record.js';
import type { Runtime, SessionHandle } from '../../../src/runtime/types.js';
import { ScriptedProvider } from '../../../src/testing/scripted-provider.js';
import { heldProvider } from '../../support/held-provider.js';

const held = () => heldProvider();

const tick = () => new Promise((r) => setTimeout(r, 5));
const flushAll = () => new Promise((resolve) => setImmediate(resolve));
const ask = { messages: [{ role: 'user' as const, content: 'hello' }] };

let runtime: Runtime | undefined;
afterEach(async () => {
  await runtime?.shutdown({ deadlineMs: 0 });
  runtime = undefined;
});

function setup(limits: { maxConcurrent: number; maxRunningPerCaller?: number }, queueTimeoutMs = 10_000) {
  const p = held();
  runtime = createRuntime({ providers: [p.provider], defaults: { model: 'm', queueTimeoutMs }, limits });
  const rt = runtime;
  const ask = (owner: string | undefined, text: string): SessionHandle =>
    rt.submit(
      { messages: [{ role: 'user', content: text }] },
      owner === undefined ? {} : { metadata: { owner } },
    );
  return { ...p, rt, ask };
}

describe('a caller’s share of the running sessions', () => {
  it('lets another caller’s call run while one caller’s slow calls wait for its share', async () => {
    const { rt, ask, started, answer } = setup({ maxConcurrent: 2, maxRunningPerCaller: 1 });
    const a1 = ask('alice', 'a1');
    const a2 = ask('alice', 'a2');
    const b1 = ask('bob', 'b1');
    await tick();
    // Without the share, a1 and a2 held both slots and b1 waited (in the audit, until its queue deadline).
    expect(started).toEqual(['a1', 'b1']);
    expect(rt.session(a2.id)).toMatchObject({ state: 'queued', waitingFor: 'maxRunningPerCaller' });
    answer('b1');
    expect((await b1.result).ok).toBe(true);
    await tick();
    // A free slot, but alice still runs her share: a2 waits for one of hers to end.
    expect(started).toEqual(['a1', 'b1']);
    answer('a1');
    await a1.result;
    await tick();
    expect(started).toEqual(['a1', 'b1', 'a2']);
    answer('a2');
    expect((await a2.result).ok).toBe(true);
    expect(rt.metrics().limits?.waits.maxRunningPerCaller).toBe(1);
  });

  it('keeps a caller’s own calls in their order, and its held ones in their turn among callers', async () => {
    const { ask, started, answer } = setup({ maxConcurrent: 2, maxRunningPerCaller: 1 });
    const handles = [ask('alice', 'a1'), ask('alice', 'a2'), ask('alice', 'a3'), ask('bob', 'b1')];
    handles.push(ask('bob', 'b2'));
    await tick();
    expect(started).toEqual(['a1', 'b1']);
    answer('a1');
    await tick();
    expect(started).toEqual(['a1', 'b1', 'a2']);
    answer('b1');
    await tick();
    expect(started).toEqual(['a1', 'b1', 'a2', 'b2']);
    answer('a2');
    await tick();
    expect(started).toEqual(['a1', 'b1', 'a2', 'b2', 'a3']);
    answer('a3');
    answer('b2');
    expect((await Promise.all(handles.map((h) => h.result))).every((r) => r.ok)).toBe(true);
  });

  it('gives the place back when a running call is cancelled', async () => {
    const { ask, started } = setup({ maxConcurrent: 3, maxRunningPerCaller: 1 });
    const a1 = ask('alice', 'a1');
    ask('alice', 'a2');
    await tick();
    expect(started).toEqual(['a1']);
    a1.cancel('enough');
    expect((await a1.result).ok).toBe(false);
    await tick();
    expect(started).toEqual(['a1', 'a2']);
  });

  it('leaves calls without an owner to maxConcurrent alone', async () => {
    const { ask, started } = setup({ maxConcurrent: 3, maxRunningPerCaller: 1 });
    ask(undefined, 'x1');
    ask(undefined, 'x2');
    ask(undefined, 'x3');
    await tick();
    expect(started).toEqual(['x1', 'x2', 'x3']);
  });

  it('has no share unless one is set: one caller may run all of maxConcurrent', async () => {
    const { ask, started } = setup({ maxConcurrent: 3 });
    ask('alice', 'a1');
    ask('alice', 'a2');
    ask('alice', 'a3');
    await tick();
    expect(started).toEqual(['a1', 'a2', 'a3']);
  });

  it('names the share when a held call times out in the queue', async () => {
    const { ask } = setup({ maxConcurrent: 2, maxRunningPerCaller: 1 }, 30);
    ask('alice', 'a1');
    const a2 = ask('alice', 'a2');
    const result = await a2.result;
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.metadata).toMatchObject({ state: 'timedOut', waitingFor: 'maxRunningPerCaller' });
    expect(result.error.message).toContain(
      "held back by its caller's share of the sessions running at once (limits.maxRunningPerCaller)",
    );
  });

  it('starts a later caller’s call at once while the queue holds many of a caller at its share', async () => {
    const { ask, started, answer } = setup({ maxConcurrent: 2, maxRunningPerCaller: 1 });
    for (let i = 1; i <= 2000; i++) ask('alice', `a${i}`);
    const b1 = ask('bob', 'b1');
    await tick();
    expect(started).toEqual(['a1', 'b1']);
    answer('b1');
    expect((await b1.result).ok).toBe(true);
    answer('a1');
    await tick();
    expect(started).toEqual(['a1', 'b1', 'a2']);
  });
});

describe('RunningShare.holdsAll', () => {
  const record = (owner: string) => ({ caller: { owner } }) as unknown as SessionRecord;
  const holds = { refuseCaller: () => 'item' as const } as unknown as PassHolds;

  it('says none could start only when every waiting session is of a caller at its share', () => {
    const share = new RunningShare(1, holds);
    const waiting: Record<string, number> = { alice: 3, bob: 2 };
    const waitingOf = (caller: string) => waiting[caller] ?? 0;
    expect(share.holdsAll(0, waitingOf)).toBe(true);
    expect(share.holdsAll(5, waitingOf)).toBe(false);
    share.started(record('alice'));
    expect(share.holdsAll(3, waitingOf)).toBe(true);
    expect(share.holdsAll(5, waitingOf)).toBe(false);
    share.started(record('bob'));
    expect(share.holdsAll(5, waitingOf)).toBe(true);
    // An unowned session waiting is one no share holds.
    expect(share.holdsAll(6, waitingOf)).toBe(false);
  });

  it('takes no place for a session without an owner', () => {
    const share = new RunningShare(1, holds);
    const unowned = { caller: { note: 'x' } } as unknown as SessionRecord;
    share.started(unowned);
    expect(share.callers).toBe(0);
    expect(share.check(unowned)).toBeUndefined();
    share.started(record('alice'));
    expect(share.callers).toBe(1);
  });

  it('takes one place per session, however often it is said to start, and gives it back once', () => {
    const share = new RunningShare(2, holds);
    const a1 = record('alice');
    share.started(a1);
    share.started(a1);
    const a2 = record('alice');
    expect(share.check(a2)).toBeUndefined();
    share.started(a2);
    expect(share.check(record('alice'))).toBe('item');
    // It says whether the end freed a place (a child on its slot takes it: lending.ts).
    expect(share.ended(a1)).toBe(true);
    expect(share.ended(a1)).toBe(false);
    expect(share.ended({ caller: {} } as unknown as SessionRecord)).toBe(false);
    expect(share.check(record('alice'))).toBeUndefined();
    share.started(record('alice'));
    expect(share.check(record('alice'))).toBe('item');
  });
});

describe('a caller’s share and a queued session that moves on from a cooling provider', () => {
  it('holds the move while its caller runs its share, and makes it once one of its caller’s ends', async () => {
    const clock = new SimulatedClock();
    const p = new ScriptedProvider('p');
    const q = new ScriptedProvider('q');
    const rt = createLocalRuntime({
      providers: [p, q],
      defaults: { provider: 'p', model: 'm', backoffBaseMs: 1000, backoffMaxMs: 1000 },
      limits: { maxConcurrent: 3, maxRunningPerCaller: 1 },
      random: () => 0.99,
      clock,
    });
    const as = (owner: string) => ({ metadata: { owner } });
    const bob = rt.submit(ask, as('bob'));
    // Bob's 429 cools p down for a minute.
    p.pending()[0]?.settle('rateLimited', 60_000);
    await flushAll();
    const a1 = rt.submit({ ...ask, provider: 'q' }, as('alice'));
    expect(q.calls).toHaveLength(1);
    // Queued behind p's cooldown, past its queue deadline: it would move on to q at once.
    const a2 = rt.submit(
      { ...ask, fallbacks: [{ provider: 'q', model: 'm' }] },
      {
        ...as('alice'),
        queueTimeoutMs: 10_000,
      },
    );
    // Another session for p finds the cooldown: p's queue is looked through for sessions to move on.
    const x2 = rt.submit(ask, as('carol'));
    await flushAll();
    expect(rt.session(x2.id)).toMatchObject({ state: 'queued', waitingFor: 'cooldown' });
    expect(rt.session(a2.id)).toMatchObject({ state: 'queued', waitingFor: 'maxRunningPerCaller' });
    q.pending()[0]?.settle('ok');
    expect((await a1.result).ok).toBe(true);
    await expect.poll(() => rt.session(a2.id)?.provider).toBe('q');
    // The hop's call comes after its backoff.
    clock.increment(1000);
    await expect.poll(() => q.calls.length).toBe(2);
    q.pending()[0]?.settle('ok');
    const moved = await a2.result;
    expect(moved.ok).toBe(true);
    expect(moved.metadata.route?.map((h) => h.provider)).toEqual(['p', 'q']);
    for (const handle of [bob, x2]) handle.cancel('test over');
    await Promise.all([bob.result, x2.result]);
  });
});
