/**
 * A child on its parent's slot (`SubmitOptions.parent`, `src/runtime/lending.ts`) under its
 * provider's fallbacks and rate windows: it hops to its next target on the slot it was lent, moves
 * on from a provider cooling down on its parent's slot when no slot is free, waits for its
 * provider's window holding nothing but its place in the queue, and gives every slot back. On a
 * simulated clock, with providers that answer only when the test says so.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { SimulatedClock } from 'xstate';
import { createRuntime } from '../../../src/runtime/runtime.js';
import type { Limits, Runtime, SessionHandle, SessionResult } from '../../../src/runtime/types.js';
import { ScriptedProvider } from '../../../src/testing/scripted-provider.js';

const turns = async () => {
  for (let i = 0; i < 5; i++) await new Promise<void>((resolve) => setImmediate(resolve));
};

let runtime: Runtime | undefined;
let clock: SimulatedClock | undefined;
/** Lets the runtime's work of now run: promises, and its timers due now (a hop's is due at once). */
const flush = async () => {
  await turns();
  clock?.increment(0);
  await turns();
};
afterEach(async () => {
  const report = runtime?.shutdown({ deadlineMs: 0 });
  // The shutdown's cancellations run on the simulated clock.
  for (let i = 0; i < 5; i++) {
    clock?.increment(1);
    await turns();
  }
  await report;
  runtime = undefined;
});

/** What a session's `session.started` said: the target it started on, and the session whose slot it runs on. */
interface Start {
  readonly provider: string | undefined;
  readonly lentBy?: string | undefined;
}

function setup(limits: Limits, queueTimeoutMs = 10_000) {
  clock = new SimulatedClock();
  const simulated = clock;
  const p = new ScriptedProvider('p');
  const q = new ScriptedProvider('q');
  runtime = createRuntime({
    providers: [p, q],
    clock,
    defaults: { model: 'm', queueTimeoutMs, timeoutMs: 600_000 },
    limits,
  });
  const rt = runtime;
  const starts = new Map<string, Start[]>();
  /** Each session's `session.fallback`s: the target it moved to, and the session whose slot it runs on. */
  const moves = new Map<string, Start[]>();
  rt.subscribe((event) => {
    if (event.type === 'session.fallback') {
      const list = moves.get(event.sessionId) ?? [];
      // The key only when the event has it: a move on a slot of its own names no lender at all.
      list.push({ provider: event.to.provider, ...('lentBy' in event ? { lentBy: event.lentBy } : {}) });
      moves.set(event.sessionId, list);
    }
    if (event.type !== 'session.started') return;
    const list = starts.get(event.sessionId) ?? [];
    list.push({ provider: event.provider, lentBy: event.lentBy });
    starts.set(event.sessionId, list);
  });
  /** A chat to `p` (or `to`), within `parent` if given, with `q` as its fallback if `hops`. */
  const ask = (
    text: string,
    options: { parent?: string; hops?: boolean; owner?: string; to?: 'p' | 'q' } = {},
  ): SessionHandle =>
    rt.submit(
      {
        messages: [{ role: 'user', content: text }],
        provider: options.to ?? 'p',
        model: 'm',
        ...(options.hops === true ? { fallbacks: [{ provider: 'q', model: 'm' }] } : {}),
      },
      {
        ...(options.parent === undefined ? {} : { parent: options.parent }),
        ...(options.owner === undefined ? {} : { metadata: { owner: options.owner } }),
      },
    );
  const text = (result: SessionResult): string => (result.ok ? result.content : result.error.code);
  /** A task (lane `tools`) whose work is `body`, given its session's id. */
  const task = (body: (sessionId: string) => Promise<string>, owner?: string) =>
    rt.run(({ sessionId }) => body(sessionId), {
      lane: 'tools',
      ...(owner === undefined ? {} : { metadata: { owner } }),
    });
  /**
   * A task that asks one chat (`label`, to `p` with `q` as its fallback if `hops`) within itself and
   * answers with its text; `child()` is that chat once asked.
   */
  const asking = (label: string, hops = false) => {
    let child: SessionHandle | undefined;
    const t = task(async (sessionId) => {
      child = ask(label, { parent: sessionId, hops });
      return text(await child.result);
    });
    return { t, child: () => child };
  };
  /** A task that runs until cancelled (lane `hold`), of `owner` if given. */
  const holder = (owner?: string) =>
    rt.run(
      ({ signal }) =>
        new Promise<never>((_, reject) =>
          signal.addEventListener('abort', () => reject(signal.reason), { once: true }),
        ),
      { lane: 'hold', ...(owner === undefined ? {} : { metadata: { owner } }) },
    );
  /** `p` answers its first call with a 429 whose hint is a minute: it cools down past any queue deadline here. */
  const coolDown = async () => {
    const opener = ask('opener');
    await flush();
    p.pending()[0]?.settle('rateLimited', 60_000);
    await flush();
    opener.cancel();
    await opener.result;
  };
  /**
   * Once every session ended: nothing runs, and of `maxConcurrent` + 1 new tasks `maxConcurrent`
   * start (a slot lent, kept or given back twice or never shows here).
   */
  const boundHolds = async (maxConcurrent: number) => {
    await flush();
    expect(rt.status()).toMatchObject({ running: 0, queued: 0 });
    const fresh = Array.from({ length: maxConcurrent + 1 }, () => holder());
    await flush();
    expect(fresh.map((handle) => rt.session(handle.id)?.state)).toEqual([
      ...Array.from({ length: maxConcurrent }, () => 'running'),
      'queued',
    ]);
    for (const handle of fresh) handle.cancel();
    await Promise.all(fresh.map((handle) => handle.result));
  };
  const startsOf = (handle: SessionHandle | undefined) => starts.get((handle as SessionHandle).id) ?? [];
  const movesOf = (handle: SessionHandle | undefined) => moves.get((handle as SessionHandle).id) ?? [];
  return {
    movesOf,
    clock: simulated,
    p,
    q,
    rt,
    ask,
    text,
    task,
    asking,
    holder,
    coolDown,
    boundHolds,
    startsOf,
  };
}

describe('a child on its parent’s slot, hopping to its fallback', () => {
  it('hops on the slot it was lent: its next start names the same lender, its provider’s slot moves', async () => {
    const { asking, p, q, rt, ask, boundHolds, startsOf, movesOf } = setup({ maxConcurrent: 1 });
    const { t, child } = asking('c', true);
    await flush();
    expect(startsOf(child())).toEqual([{ provider: 'p', lentBy: t.id }]);
    p.pending()[0]?.settle('retryable');
    await flush();
    expect(movesOf(child())).toEqual([{ provider: 'q', lentBy: t.id }]);
    expect(startsOf(child())).toEqual([
      { provider: 'p', lentBy: t.id },
      { provider: 'q', lentBy: t.id },
    ]);
    expect(rt.status()).toMatchObject({ running: 2, queued: 0 });
    const providers = Object.fromEntries(rt.status().providers.map((s) => [s.name, s.running]));
    expect(providers).toMatchObject({ p: 0, q: 1, tools: 1 });
    // The one slot is the task's, and its child()'s: nothing else starts.
    const other = ask('other', { to: 'q' });
    await flush();
    expect(rt.session(other.id)?.state).toBe('queued');
    q.pending()[0]?.settle('ok');
    expect(await t.result).toMatchObject({ ok: true, value: 'answer 0' });
    await flush();
    expect(startsOf(other)).toEqual([{ provider: 'q', lentBy: undefined }]);
    q.pending()[0]?.settle('ok');
    await other.result;
    await boundHolds(1);
  });

  it('waits on the slot it was lent for its fallback’s full lane, holding no second slot, and goes on it', async () => {
    const { asking, p, q, rt, ask, holder, boundHolds, startsOf } = setup({
      maxConcurrent: 2,
      perProvider: { q: 1 },
    });
    // A slot is a call's, on q's one lane place.
    const onQ = ask('on q', { to: 'q' });
    const { t, child } = asking('c', true);
    await flush();
    expect(startsOf(child())).toEqual([{ provider: 'p', lentBy: t.id }]);
    p.pending()[0]?.settle('retryable');
    await flush();
    // Its hop waits for q: it left p's slot and holds its lent one only.
    expect(startsOf(child())).toHaveLength(1);
    expect(rt.status()).toMatchObject({ running: 3, queued: 0 });
    const waiting = holder();
    await flush();
    expect(rt.session(waiting.id)?.state).toBe('queued');
    q.pending()[0]?.settle('ok');
    await onQ.result;
    await flush();
    // q's place goes to the hop, on its lent slot; the freed slot to the waiting task.
    expect(startsOf(child())).toEqual([
      { provider: 'p', lentBy: t.id },
      { provider: 'q', lentBy: t.id },
    ]);
    expect(rt.session(waiting.id)?.state).toBe('running');
    q.pending()[0]?.settle('ok');
    expect(await t.result).toMatchObject({ ok: true, value: 'answer 1' });
    waiting.cancel();
    await waiting.result;
    await boundHolds(2);
  });

  it('moves on from a provider cooling down past its queue deadline on its parent’s slot when no slot is free', async () => {
    const { asking, q, rt, holder, coolDown, boundHolds, startsOf, movesOf } = setup({
      maxConcurrent: 1,
    });
    await coolDown();
    const { t, child } = asking('c', true);
    await turns();
    // Moved on, before its hop's first call: it left its queue on its parent's slot, and p's slot at once.
    expect(movesOf(child())).toEqual([{ provider: 'q', lentBy: t.id }]);
    expect(rt.session((child() as SessionHandle).id)?.state).toBe('running');
    expect(rt.status().providers.find((lane) => lane.name === 'p')?.running).toBe(0);
    await flush();
    expect(startsOf(child())).toEqual([{ provider: 'q', lentBy: t.id }]);
    expect(rt.status()).toMatchObject({ running: 2, queued: 0 });
    const waiting = holder();
    await flush();
    expect(rt.session(waiting.id)?.state).toBe('queued');
    q.pending()[0]?.settle('ok');
    expect(await t.result).toMatchObject({ ok: true, value: 'answer 0' });
    await flush();
    expect(rt.session(waiting.id)?.state).toBe('running');
    waiting.cancel();
    await waiting.result;
    await boundHolds(1);
  });

  it('moves on so once its parent’s slot is free of the child before it, not while that child runs on it', async () => {
    const { q, ask, text, task, coolDown, boundHolds, startsOf } = setup({ maxConcurrent: 2 });
    await coolDown();
    // A task whose child finds the cooldown once the other task's slot is lent (its own moves on).
    let go = () => {};
    let third: SessionHandle | undefined;
    const other = task(async (sessionId) => {
      await new Promise<void>((resolve) => {
        go = resolve;
      });
      third = ask('third', { parent: sessionId, hops: true });
      return text(await third.result);
    });
    let first: SessionHandle | undefined;
    let second: SessionHandle | undefined;
    const t = task(async (sessionId) => {
      first = ask('first', { parent: sessionId, to: 'q' });
      await flush();
      second = ask('second', { parent: sessionId, hops: true });
      return `${text(await first.result)} ${text(await second.result)}`;
    });
    await flush();
    await flush();
    expect(startsOf(first)).toEqual([{ provider: 'q', lentBy: t.id }]);
    go();
    await flush();
    expect(startsOf(third)).toEqual([{ provider: 'q', lentBy: other.id }]);
    expect(startsOf(second)).toEqual([]);
    expect(q.pending()).toHaveLength(2);
    q.pending()[0]?.settle('ok');
    await flush();
    expect(startsOf(second)).toEqual([{ provider: 'q', lentBy: t.id }]);
    for (const call of q.pending()) call.settle('ok');
    expect(await t.result).toMatchObject({ ok: true, value: 'answer 0 answer 2' });
    expect(await other.result).toMatchObject({ ok: true, value: 'answer 1' });
    await boundHolds(2);
  });

  it('moves on on no slot of a parent that ended: it waits for a slot as any session', async () => {
    // p's one lane place is the opener's, waiting a minute to retry after its 429: a child of p waits
    // for that place, and no look at p finds the cooldown until the opener ends.
    const { p, q, rt, ask, text, task, holder, startsOf } = setup({
      maxConcurrent: 3,
      perProvider: { p: 1 },
    });
    const opener = ask('opener');
    await flush();
    p.pending()[0]?.settle('rateLimited', 60_000);
    let child: SessionHandle | undefined;
    const left = task(async (sessionId) => {
      child = ask('left', { parent: sessionId, hops: true });
      return 'left it waiting';
    });
    let go = () => {};
    let third: SessionHandle | undefined;
    const other = task(async (sessionId) => {
      await new Promise<void>((resolve) => {
        go = resolve;
      });
      third = ask('third', { parent: sessionId, hops: true });
      return text(await third.result);
    });
    // Queued before the task that left its child ends, they take the slots that free, first.
    const first = holder();
    await flush();
    expect(await left.result).toMatchObject({ ok: true, value: 'left it waiting' });
    const urgent = rt.run(() => new Promise<never>(() => {}), { lane: 'hold', priority: 9 });
    opener.cancel();
    await opener.result;
    await flush();
    expect([first, urgent].map((handle) => rt.session(handle.id)?.state)).toEqual(['running', 'running']);
    expect(rt.status()).toMatchObject({ running: 3, queued: 1 });
    // The other task's child finds the cooldown: it moves on on its parent's slot, the left child on none.
    go();
    await flush();
    expect(startsOf(third)).toEqual([{ provider: 'q', lentBy: other.id }]);
    expect(startsOf(child)).toEqual([]);
    expect(rt.status()).toMatchObject({ running: 4, queued: 1 });
    first.cancel();
    await first.result;
    await flush();
    expect(startsOf(child)).toEqual([{ provider: 'q', lentBy: undefined }]);
    for (const call of q.pending()) call.settle('ok');
    await (child as SessionHandle).result;
    expect(await other.result).toMatchObject({ ok: true });
    urgent.cancel();
  });

  it('moves on on no slot of a parent still queued', async () => {
    const { p, q, rt, ask, holder, coolDown, startsOf, movesOf } = setup({ maxConcurrent: 1 });
    await coolDown();
    // A session queued for p while a slot is free: the gate finds the cooldown, and p's next sessions with fallbacks move on.
    const finder = ask('finder');
    await flush();
    finder.cancel();
    await finder.result;
    const first = holder();
    // Queued (the one slot is taken), with a child of its own that cannot wait for the cooldown.
    const parent = ask('parent', { to: 'q' });
    const child = ask('child', { parent: parent.id, hops: true });
    await flush();
    expect(rt.session(parent.id)?.state).toBe('queued');
    expect(movesOf(child)).toEqual([]);
    expect(rt.status()).toMatchObject({ running: 1, queued: 2 });
    first.cancel();
    await first.result;
    await flush();
    // The freed slot takes the child, which moves on on it (rerouted first), not on its parent's.
    expect(movesOf(child)).toStrictEqual([{ provider: 'q' }]);
    expect(startsOf(child)).toEqual([{ provider: 'q', lentBy: undefined }]);
    expect(rt.session(parent.id)?.state).toBe('queued');
    for (const call of q.pending()) call.settle('ok');
    await child.result;
    await flush();
    expect(startsOf(parent)).toEqual([{ provider: 'q', lentBy: undefined }]);
    q.pending()[0]?.settle('ok');
    await parent.result;
    expect(p.pending()).toEqual([]);
  });

  it('moves on in its parent’s place when its caller runs its share; of another caller at its share, it waits for a place', async () => {
    const { q, rt, ask, task, holder, coolDown, startsOf } = setup({
      maxConcurrent: 2,
      maxRunningPerCaller: 1,
    });
    await coolDown();
    // Bob's one place and the second slot.
    const bobs = holder('bob');
    let ofBob: SessionHandle | undefined;
    let ofAlice: SessionHandle | undefined;
    const t = task(async (sessionId) => {
      ofBob = ask('bob', { parent: sessionId, hops: true, owner: 'bob' });
      ofAlice = ask('alice', { parent: sessionId, hops: true, owner: 'alice' });
      await Promise.all([ofBob.result, ofAlice.result]);
      return 'both';
    }, 'alice');
    await turns();
    // Moved on, before its hop's first call: it waits for nothing.
    expect(rt.session((ofAlice as SessionHandle).id)).toMatchObject({ state: 'running' });
    expect(rt.session((ofAlice as SessionHandle).id)?.waitingFor).toBeUndefined();
    await flush();
    expect(startsOf(ofBob)).toEqual([]);
    expect(startsOf(ofAlice)).toEqual([{ provider: 'q', lentBy: t.id }]);
    // Bob's place and the slot free: his child moves on on a slot of its own.
    bobs.cancel();
    await bobs.result;
    await flush();
    expect(startsOf(ofBob)).toEqual([{ provider: 'q', lentBy: undefined }]);
    for (const call of q.pending()) call.settle('ok');
    expect(await t.result).toMatchObject({ ok: true, value: 'both' });
    await flush();
    // Alice's one place is hers again, and Bob's his.
    const next = [holder('alice'), holder('alice'), holder('bob')];
    await flush();
    expect(next.map((handle) => rt.session(handle.id)?.state)).toEqual(['running', 'queued', 'running']);
    for (const handle of next) handle.cancel();
    await Promise.all(next.map((handle) => handle.result));
  });
});

describe('a child on its parent’s slot, under its provider’s rate window', () => {
  it('waits for the window holding no slot, starts on its parent’s when it opens, and gives the slot back', async () => {
    const { clock, p, rt, ask, text, task, boundHolds, startsOf } = setup(
      { maxConcurrent: 1, providers: { p: { requestsPerMinute: 1 } } },
      600_000,
    );
    let second: SessionHandle | undefined;
    const t = task(async (sessionId) => {
      const first = await ask('first', { parent: sessionId }).result;
      second = ask('second', { parent: sessionId });
      return `${text(first)} ${text(await second.result)}`;
    });
    await flush();
    // A session without a parent waits for a slot.
    const other = ask('other');
    await flush();
    p.pending()[0]?.settle('ok');
    await flush();
    expect(rt.session((second as SessionHandle).id)?.waitingFor).toBe('requestsPerMinute');
    expect(rt.status()).toMatchObject({ running: 1, queued: 2 });
    clock.increment(61_000);
    await flush();
    // The window's one request goes to the child, on its parent's slot; the other has none.
    expect(startsOf(second)).toEqual([{ provider: 'p', lentBy: t.id }]);
    expect(rt.session(other.id)?.state).toBe('queued');
    p.pending()[0]?.settle('ok');
    expect(await t.result).toMatchObject({ ok: true, value: 'answer 0 answer 1' });
    await flush();
    // The slot is free; the window is not.
    expect(rt.session(other.id)).toMatchObject({ state: 'queued', waitingFor: 'requestsPerMinute' });
    clock.increment(61_000);
    await flush();
    expect(startsOf(other)).toEqual([{ provider: 'p', lentBy: undefined }]);
    p.pending()[0]?.settle('ok');
    await other.result;
    await boundHolds(1);
  });

  it('leaves a free slot and the window to the session ahead of it, and holds back no other provider’s', async () => {
    const { asking, clock, p, q, rt, ask, boundHolds, startsOf } = setup(
      { maxConcurrent: 3, providers: { p: { requestsPerMinute: 1 } } },
      600_000,
    );
    // The window's one request is taken.
    const opener = ask('opener');
    await flush();
    p.pending()[0]?.settle('ok');
    await opener.result;
    const ahead = ask('ahead');
    const { t, child } = asking('child');
    await flush();
    expect(rt.session((child() as SessionHandle).id)?.waitingFor).toBe('requestsPerMinute');
    // Another provider's session starts at once on a free slot.
    const elsewhere = ask('elsewhere', { to: 'q' });
    await flush();
    expect(startsOf(elsewhere)).toEqual([{ provider: 'q', lentBy: undefined }]);
    clock.increment(61_000);
    await flush();
    // The session ahead takes the window on the free slot; the child() waits for the next.
    expect(startsOf(ahead)).toEqual([{ provider: 'p', lentBy: undefined }]);
    expect(startsOf(child())).toEqual([]);
    clock.increment(61_000);
    await flush();
    expect(startsOf(child())).toHaveLength(1);
    for (const call of [...p.pending(), ...q.pending()]) call.settle('ok');
    expect(await t.result).toMatchObject({ ok: true });
    await Promise.all([ahead.result, elsewhere.result]);
    await boundHolds(3);
  });
});

describe('a child on its parent’s slot, under a token window', () => {
  // A chat here is charged its estimate as it starts (its prompt and 100 completion tokens, the
  // `defaultCompletionTokens` given), then the usage its answer reports (3) instead. The window has
  // room for one estimate and 2 tokens more: after one answer, not for a second start.
  const estimateOf = (rt: Runtime) => 1000 - (rt.status().limits?.p?.remaining.tokensPerMinute ?? 1000);
  it.each([
    [
      'its provider’s tokensPerMinute',
      (tpm: number): Limits['providers'] => ({ p: { tokensPerMinute: tpm } }),
    ],
    [
      'its model’s own tokensPerMinute',
      (tpm: number): Limits['providers'] => ({ p: { models: { m: { tokensPerMinute: tpm } } } }),
    ],
  ])(
    'is charged on the lent slot, waits for %s holding no slot, and its charge settles to its usage',
    async (_, windowOf) => {
      // The estimate of one chat, measured on a window of 1,000 tokens.
      const probe = setup({
        maxConcurrent: 1,
        defaultCompletionTokens: 100,
        providers: { p: { tokensPerMinute: 1000 } },
      });
      const opener = probe.ask('first');
      await flush();
      const estimate = estimateOf(probe.rt);
      expect(estimate).toBeGreaterThan(100);
      probe.p.pending()[0]?.settle('ok');
      await opener.result;
      // The answer's usage replaced the estimate in the window.
      expect(estimateOf(probe.rt)).toBe(3);
      await probe.rt.shutdown();

      const perProvider = windowOf(estimate + 2)?.p?.tokensPerMinute !== undefined;
      const { clock, p, rt, ask, text, task, boundHolds, startsOf } = setup(
        { maxConcurrent: 1, defaultCompletionTokens: 100, providers: windowOf(estimate + 2) },
        600_000,
      );
      let first: SessionHandle | undefined;
      let second: SessionHandle | undefined;
      const t = task(async (sessionId) => {
        first = ask('first', { parent: sessionId });
        const answer = await first.result;
        second = ask('first', { parent: sessionId });
        return `${text(answer)} ${text(await second.result)}`;
      });
      await flush();
      // No slot is free: the first child runs on its parent's, charged its estimate in the window.
      expect(startsOf(first)).toEqual([{ provider: 'p', lentBy: t.id }]);
      if (perProvider) expect(rt.status().limits?.p?.remaining.tokensPerMinute).toBe(2);
      const other = ask('first');
      await flush();
      expect(rt.session(other.id)?.state).toBe('queued');
      p.pending()[0]?.settle('ok');
      await flush();
      // Its answer's usage (3) settled its charge: 2 + estimate - 3 tokens left, one short of a start.
      if (perProvider) expect(rt.status().limits?.p?.remaining.tokensPerMinute).toBe(estimate - 1);
      expect(rt.session((second as SessionHandle).id)?.waitingFor).toBe('tokensPerMinute');
      // It waits holding no slot (its parent keeps its own), and the other for a slot.
      expect(rt.status()).toMatchObject({ running: 1, queued: 2 });
      expect(rt.session(other.id)?.state).toBe('queued');
      clock.increment(61_000);
      await flush();
      // The window opens: the child starts on its parent's slot, charged again; the other has no slot.
      expect(startsOf(second)).toEqual([{ provider: 'p', lentBy: t.id }]);
      expect(rt.session(other.id)?.state).toBe('queued');
      if (perProvider) expect(rt.status().limits?.p?.remaining.tokensPerMinute).toBe(2);
      p.pending()[0]?.settle('ok');
      expect(await t.result).toMatchObject({ ok: true, value: 'answer 0 answer 1' });
      await flush();
      // The slot is free; the window has 2 + estimate - 3 left, one short of the other's estimate.
      if (perProvider) expect(rt.status().limits?.p?.remaining.tokensPerMinute).toBe(estimate - 1);
      expect(rt.session(other.id)).toMatchObject({ state: 'queued', waitingFor: 'tokensPerMinute' });
      clock.increment(61_000);
      await flush();
      expect(startsOf(other)).toEqual([{ provider: 'p', lentBy: undefined }]);
      p.pending()[0]?.settle('ok');
      await other.result;
      await boundHolds(1);
    },
  );

  it('is refused at submit when its estimate exceeds the whole window, as any session', async () => {
    const { ask, task } = setup({
      maxConcurrent: 1,
      defaultCompletionTokens: 100,
      providers: { p: { tokensPerMinute: 50 } },
    });
    let refused: unknown;
    const t = task(async (sessionId) => {
      try {
        ask('too large', { parent: sessionId });
      } catch (error) {
        refused = error;
      }
      return 'done';
    });
    expect(await t.result).toMatchObject({ ok: true });
    expect(refused).toMatchObject({ code: 'INVALID_REQUEST' });
    expect(String((refused as Error).message)).toContain('tokensPerMinute');
  });
});
