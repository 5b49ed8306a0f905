/**
 * A session submitted within another (`SubmitOptions.parent`) runs on its parent's slot when no
 * slot is free (`src/runtime/lending.ts`): a task awaiting a model call no longer holds the slot
 * that call needs until the call's queue deadline. The provider here answers a call only when the
 * test says so, so every order below is decided by admission alone.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createRuntime } from '../../../src/runtime/runtime.js';
import type { Runtime, SessionHandle, SessionResult, TaskResult } from '../../../src/runtime/types.js';
import { ScriptedProvider } from '../../../src/testing/scripted-provider.js';
import { heldProvider } from '../../support/held-provider.js';

const held = () => heldProvider();

const tick = () => new Promise((r) => setTimeout(r, 5));
/** Long enough for tasks to ask their models, and for those calls to start. */
const settle = () => new Promise((r) => setTimeout(r, 25));

let runtime: Runtime | undefined;
afterEach(async () => {
  await runtime?.shutdown({ deadlineMs: 0 });
  runtime = undefined;
});

function setup(
  limits: {
    maxConcurrent: number;
    maxQueued?: number;
    maxQueuedPerCaller?: number;
    maxRunningPerCaller?: number;
    perProvider?: Record<string, number>;
    providers?: Record<string, { maxConcurrent?: number; requestsPerMinute?: number }>;
  },
  queueTimeoutMs = 10_000,
) {
  const p = held();
  runtime = createRuntime({ providers: [p.provider], defaults: { model: 'm', queueTimeoutMs }, limits });
  const rt = runtime;
  const chat = (text: string, options: { parent?: string; owner?: string } = {}): SessionHandle =>
    rt.submit(
      { messages: [{ role: 'user', content: text }] },
      {
        ...(options.parent === undefined ? {} : { parent: options.parent }),
        ...(options.owner === undefined ? {} : { metadata: { owner: options.owner } }),
      },
    );
  /** A task that asks the model for each of `texts` at once, within itself (or not), and returns the answers. */
  const task = (texts: readonly string[], within = true, owner?: string) => {
    return rt.run(
      async ({ sessionId }) => {
        // Every task submitted in the same turn holds its slot before any asks its model.
        await tick();
        const results: SessionResult[] = await Promise.all(
          texts.map(
            (text) =>
              chat(text, {
                ...(within ? { parent: sessionId } : {}),
                ...(owner === undefined ? {} : { owner }),
              }).result,
          ),
        );
        return results.map((r) => (r.ok ? r.content : r.error.code)).join(',');
      },
      { lane: 'tools', ...(owner === undefined ? {} : { metadata: { owner } }) },
    );
  };
  /**
   * Once every session ended: nothing runs, and `maxConcurrent` new tasks (on a lane of no limit of
   * its own) start while one more waits: a slot lent, kept or given back twice or never shows here.
   */
  const boundHolds = async () => {
    expect(rt.status()).toMatchObject({ running: 0, queued: 0 });
    let running = 0;
    const fresh = Array.from({ length: limits.maxConcurrent + 1 }, () =>
      rt.run(
        ({ signal }) => {
          running++;
          return new Promise<never>((_, reject) =>
            signal.addEventListener('abort', () => reject(signal.reason), { once: true }),
          );
        },
        { lane: 'bound' },
      ),
    );
    await settle();
    expect(running).toBe(limits.maxConcurrent);
    for (const handle of fresh) handle.cancel();
    await Promise.all(fresh.map((handle) => handle.result));
  };
  return { ...p, rt, chat, task, boundHolds };
}

describe('a session within a session', () => {
  it('runs a task’s model call on the task’s slot when every slot is a task’s', async () => {
    const { task, started, answer } = setup({ maxConcurrent: 1 });
    const t = task(['c1']);
    await settle();
    expect(started).toEqual(['c1']);
    answer('c1');
    const result = await t.result;
    expect(result).toMatchObject({ ok: true, value: 'c1' });
  });

  it('leaves a model call not submitted within its task waiting for a slot, until its queue deadline', async () => {
    const { task, started } = setup({ maxConcurrent: 1 }, 100);
    const t = task(['c1'], false);
    expect(await t.result).toMatchObject({ ok: true, value: 'TIMED_OUT' });
    expect(started).toEqual([]);
  });

  it('runs a parent’s children on its slot one at a time, and on free slots beside it', async () => {
    const one = setup({ maxConcurrent: 1 });
    const t = one.task(['c1', 'c2', 'c3']);
    await settle();
    expect(one.started).toEqual(['c1']);
    expect(one.rt.status()).toMatchObject({ running: 2, queued: 2 });
    // Another admission pass lends the slot to no second child while the first runs on it.
    const passer = one.chat('passer');
    await settle();
    expect(one.started).toEqual(['c1']);
    passer.cancel();
    one.answer('c1');
    await settle();
    expect(one.started).toEqual(['c1', 'c2']);
    one.answer('c2');
    await settle();
    one.answer('c3');
    expect(await t.result).toMatchObject({ ok: true, value: 'c1,c2,c3' });
    await runtime?.shutdown({ deadlineMs: 0 });

    // Three slots: the task holds one, two children take the free ones, the third runs on the task's.
    const three = setup({ maxConcurrent: 3 });
    three.task(['d1', 'd2', 'd3']);
    await settle();
    expect(three.started).toEqual(['d1', 'd2', 'd3']);
    // The bound holds for everyone else: the task and two children hold the three slots.
    const other = three.chat('other');
    await settle();
    expect(three.rt.session(other.id)?.state).toBe('queued');
    three.answer('d3');
    await settle();
    // d3 ran on the task's slot: its end frees none.
    expect(three.rt.session(other.id)?.state).toBe('queued');
    three.answer('d1');
    await settle();
    expect(three.started).toContain('other');
  });

  it('counts a child on a lent slot against nobody: a slot that frees beside it admits the next session', async () => {
    const { rt, chat, task, started, answer } = setup({ maxConcurrent: 2 });
    const u = chat('u');
    task(['c']);
    await settle();
    // The task and u hold both slots; c runs on the task's.
    expect(started).toEqual(['u', 'c']);
    answer('u');
    expect((await u.result).ok).toBe(true);
    const v = chat('v');
    await settle();
    expect(rt.session(v.id)?.state).toBe('running');
    expect(started).toEqual(['u', 'c', 'v']);
  });

  it('holds a child to its provider’s own limit', async () => {
    const { task, started, answer, boundHolds } = setup({ maxConcurrent: 2, perProvider: { p: 1 } });
    const a = task(['a1']);
    const b = task(['b1']);
    await settle();
    // Each task lends its slot, but the provider runs one call at a time.
    expect(started).toHaveLength(1);
    answer(started[0] as string);
    await settle();
    expect(started).toHaveLength(2);
    answer(started[1] as string);
    await Promise.all([a.result, b.result]);
    await settle();
    await boundHolds();
  });

  it('leaves its slot to the child on it when the parent ends first', async () => {
    const { rt, chat, started, answer } = setup({ maxConcurrent: 1 });
    let child: SessionHandle | undefined;
    const parent: SessionHandle<TaskResult<string>> = rt.run(
      async ({ sessionId }) => {
        child = chat('c', { parent: sessionId });
        await tick();
        return 'left before its child ended';
      },
      { lane: 'tools' },
    );
    expect(await parent.result).toMatchObject({ ok: true });
    expect(started).toEqual(['c']);
    const other = chat('other');
    await settle();
    // The child holds the one slot now: nothing else starts until it ends.
    expect(rt.session(other.id)?.state).toBe('queued');
    expect(rt.status().running).toBe(1);
    answer('c');
    expect((await (child as SessionHandle).result).ok).toBe(true);
    await settle();
    expect(started).toEqual(['c', 'other']);
  });

  it('gives a child of its parent’s caller the parent’s place in that caller’s share', async () => {
    const { task, started, answer } = setup({ maxConcurrent: 2, maxRunningPerCaller: 1 });
    const t = task(['mine'], true, 'alice');
    await settle();
    expect(started).toEqual(['mine']);
    answer('mine');
    expect(await t.result).toMatchObject({ ok: true, value: 'mine' });
  });

  it('lends no slot to a child of another caller who runs its share', async () => {
    const { rt, chat, started, answer, boundHolds } = setup({ maxConcurrent: 2, maxRunningPerCaller: 1 });
    chat('b1', { owner: 'bob' });
    let childId = '';
    rt.run(
      async ({ sessionId }) => {
        const c = chat('bob-within', { parent: sessionId, owner: 'bob' });
        childId = c.id;
        return (await c.result).ok;
      },
      { lane: 'tools', metadata: { owner: 'carol' } },
    );
    await settle();
    // Both slots are held (b1, carol's task); the task would lend its slot, but bob runs his one place.
    expect(started).toEqual(['b1']);
    expect(rt.session(childId)?.state).toBe('queued');
    answer('b1');
    await settle();
    expect(started).toEqual(['b1', 'bob-within']);
    answer('bob-within');
    await settle();
    await boundHolds();
  });

  it('lends no slot to a child of another caller who runs its share when that share is all the slots', async () => {
    // Found by the runtime model's children (seed 7, 4,000 deep-queue runs): a share set equal to
    // `maxConcurrent` was left out as one that holds nobody, but on lent slots a caller runs past
    // `maxConcurrent`: bob ran two sessions at once with `maxRunningPerCaller: 1`.
    const { rt, chat, started, answer, boundHolds } = setup({ maxConcurrent: 1, maxRunningPerCaller: 1 });
    let childId = '';
    // Bob's task runs a task of no caller within itself, which asks bob's model call within itself.
    const t = rt.run(
      async ({ sessionId }) => {
        const inner = rt.run(
          async ({ sessionId: innerId }) => {
            const c = chat('bob-within', { parent: innerId, owner: 'bob' });
            childId = c.id;
            return (await c.result).ok;
          },
          { lane: 'tools', parent: sessionId },
        );
        return (await inner.result).ok;
      },
      { lane: 'tools', metadata: { owner: 'bob' } },
    );
    await settle();
    // Bob runs his one place (his task): his call waits, on no slot lent to it.
    expect(started).toEqual([]);
    expect(rt.session(childId)).toMatchObject({ state: 'queued', waitingFor: 'maxRunningPerCaller' });
    await expect(Promise.race([t.result, settle().then(() => 'waiting')])).resolves.toBe('waiting');
    t.cancel();
    await t.result;
    await settle();
    // Bob's task ended: his place is free, and his call goes on the inner task's slot.
    expect(started).toEqual(['bob-within']);
    answer('bob-within');
    await settle();
    await boundHolds();
  });

  it('bounds no caller on lent slots when no share is set, though it runs past maxConcurrent there', async () => {
    // The default share is none (docs/runtime.md), not one of `maxConcurrent`: bob's task and, on
    // lent slots, his model call run at once on one slot.
    const { rt, chat, started, answer, boundHolds } = setup({ maxConcurrent: 1 });
    const t = rt.run(
      async ({ sessionId }) => {
        const inner = rt.run(
          async ({ sessionId: innerId }) =>
            (await chat('bob-within', { parent: innerId, owner: 'bob' }).result).ok,
          { lane: 'tools', parent: sessionId },
        );
        return (await inner.result).ok;
      },
      { lane: 'tools', metadata: { owner: 'bob' } },
    );
    await settle();
    expect(started).toEqual(['bob-within']);
    answer('bob-within');
    expect(await t.result).toMatchObject({ ok: true, value: true });
    await settle();
    await boundHolds();
  });

  it('gives a child of another caller a place of its own, which holds that caller’s next session', async () => {
    const { rt, chat, started, answer } = setup({ maxConcurrent: 2, maxRunningPerCaller: 1 });
    chat('dave', { owner: 'dave' });
    rt.run(
      async ({ sessionId }) => (await chat('bob-within', { parent: sessionId, owner: 'bob' }).result).ok,
      { lane: 'tools', metadata: { owner: 'carol' } },
    );
    await settle();
    // On carol's task's slot, in a place of bob's.
    expect(started).toEqual(['dave', 'bob-within']);
    const b2 = chat('b2', { owner: 'bob' });
    answer('dave');
    await settle();
    // A slot is free, but bob's one place is his child's.
    expect(rt.session(b2.id)?.state).toBe('queued');
    answer('bob-within');
    await settle();
    expect(started).toEqual(['dave', 'bob-within', 'b2']);
  });

  it('says a child of its parent’s caller waits for nothing once it runs in its parent’s place', async () => {
    const { rt, chat, started, answer } = setup({ maxConcurrent: 2, maxRunningPerCaller: 1 });
    let childId = '';
    const t = rt.run(
      async ({ sessionId }) => {
        const c = chat('mine', { parent: sessionId, owner: 'alice' });
        childId = c.id;
        return (await c.result).ok;
      },
      { lane: 'tools', metadata: { owner: 'alice' } },
    );
    await settle();
    expect(started).toEqual(['mine']);
    expect(rt.session(childId)).toMatchObject({ state: 'running' });
    expect(rt.session(childId)?.waitingFor).toBeUndefined();
    answer('mine');
    expect(await t.result).toMatchObject({ ok: true, value: true });
  });

  it('lends nothing from a parent still queued', async () => {
    const { rt, chat, started, answer } = setup({ maxConcurrent: 1 });
    const first = chat('first');
    const queuedTask = rt.run(async () => 'ran', { lane: 'tools' });
    const child = chat('child', { parent: queuedTask.id });
    await settle();
    expect(rt.session(queuedTask.id)?.state).toBe('queued');
    expect(started).toEqual(['first']);
    answer('first');
    expect((await first.result).ok).toBe(true);
    await settle();
    answer('child');
    expect((await child.result).ok).toBe(true);
    expect(await queuedTask.result).toMatchObject({ ok: true, value: 'ran' });
  });

  it('starts a child on a free slot once, not again on its parent’s', async () => {
    // The provider's own limit of two calls: a child started twice would take both.
    const { task, started, answer } = setup({ maxConcurrent: 2, providers: { p: { maxConcurrent: 2 } } });
    const t = task(['c1', 'c2']);
    await settle();
    // c1 took the free slot, c2 the task's.
    expect(started).toEqual(['c1', 'c2']);
    answer('c1');
    answer('c2');
    expect(await t.result).toMatchObject({ ok: true, value: 'c1,c2' });
  });

  it('holds a task child to its lane’s limit, and a chat child to its provider’s own limits', async () => {
    const tasks = setup({ maxConcurrent: 2, perProvider: { lookups: 1 } });
    let running = 0;
    let most = 0;
    const lookup = (sessionId: string) =>
      tasks.rt.run(
        async () => {
          running++;
          most = Math.max(most, running);
          await settle();
          running--;
          return 'found';
        },
        { lane: 'lookups', parent: sessionId },
      ).result;
    const outer = () =>
      tasks.rt.run(
        async ({ sessionId }) => {
          await tick();
          return (await lookup(sessionId)).ok;
        },
        { lane: 'tools' },
      ).result;
    expect((await Promise.all([outer(), outer()])).map((r) => r.ok && r.value)).toEqual([true, true]);
    expect(most).toBe(1);
    await runtime?.shutdown({ deadlineMs: 0 });

    // One request a minute: the second task's child waits for the window, not for a slot.
    const rated = setup({ maxConcurrent: 2, providers: { p: { requestsPerMinute: 1 } } });
    rated.task(['r1']);
    const second = rated.task(['r2']);
    await settle();
    expect(rated.started).toHaveLength(1);
    expect(rated.rt.session(second.id)?.state).toBe('running');
  });

  it('lends a slot again only once the child on it ends, not when another child of the parent does', async () => {
    const { rt, task, started, answer } = setup({ maxConcurrent: 2 });
    task(['c1', 'c2', 'c3']);
    await settle();
    // c1 on the free slot, c2 on the task's; c3 waits.
    expect(started).toEqual(['c1', 'c2']);
    const urgent = rt.submit({ messages: [{ role: 'user', content: 'urgent' }] }, { priority: 9 });
    await settle();
    answer('c1');
    await settle();
    // c1's slot goes to the urgent session; the task's slot is c2's still.
    expect(started).toEqual(['c1', 'c2', 'urgent']);
    answer('c2');
    await settle();
    expect(started).toEqual(['c1', 'c2', 'urgent', 'c3']);
    answer('urgent');
    answer('c3');
    expect((await urgent.result).ok).toBe(true);
  });

  it('leaves its place in its caller’s share to the child on its slot when the parent ends first', async () => {
    const { rt, chat, started, answer, boundHolds } = setup({ maxConcurrent: 2, maxRunningPerCaller: 1 });
    chat('bob', { owner: 'bob' });
    let child: SessionHandle | undefined;
    const parent = rt.run(
      async ({ sessionId }) => {
        child = chat('mine', { parent: sessionId, owner: 'alice' });
        await tick();
        return 'gone';
      },
      { lane: 'tools', metadata: { owner: 'alice' } },
    );
    await parent.result;
    const next = chat('alice-next', { owner: 'alice' });
    answer('bob');
    await settle();
    // A slot is free, but alice's one place is her child's now.
    expect(rt.session(next.id)?.state).toBe('queued');
    answer('mine');
    expect((await (child as SessionHandle).result).ok).toBe(true);
    await settle();
    expect(started).toEqual(['bob', 'mine', 'alice-next']);
    answer('alice-next');
    await next.result;
    await boundHolds();
  });

  it('counts a child of its parent’s caller once in that caller’s share, in its parent’s place', async () => {
    const { rt, chat, started, answer } = setup({ maxConcurrent: 3, maxRunningPerCaller: 2 });
    const x = chat('x', { owner: 'bob' });
    chat('y', { owner: 'carol' });
    rt.run(async ({ sessionId }) => (await chat('mine', { parent: sessionId, owner: 'alice' }).result).ok, {
      lane: 'tools',
      metadata: { owner: 'alice' },
    });
    await settle();
    expect(started).toEqual(['x', 'y', 'mine']);
    answer('x');
    await x.result;
    const second = chat('alice-second', { owner: 'alice' });
    await settle();
    // Alice runs her task (its child in its place): one of her two places.
    expect(rt.session(second.id)?.state).toBe('running');
  });

  it('lends its slot to a child of another caller when no caller has a share', async () => {
    const { rt, chat, started, answer, boundHolds } = setup({ maxConcurrent: 1 });
    const t = rt.run(
      async ({ sessionId }) => (await chat('theirs', { parent: sessionId, owner: 'bob' }).result).ok,
      {
        lane: 'tools',
        metadata: { owner: 'alice' },
      },
    );
    await settle();
    expect(started).toEqual(['theirs']);
    answer('theirs');
    expect(await t.result).toMatchObject({ ok: true, value: true });
    await boundHolds();
  });

  it('keeps its count and its caller’s places when a child on its slot ends inside its own start', async () => {
    // An open breaker refuses the child's call as it starts: the child ends before its start returns.
    const provider = new ScriptedProvider('p');
    runtime = createRuntime({
      providers: [provider],
      defaults: { model: 'm', maxAttempts: 1 },
      limits: { maxConcurrent: 2, maxRunningPerCaller: 1 },
      breakers: { failures: 1, openMs: 60_000 },
    });
    const rt = runtime;
    const ask = { messages: [{ role: 'user' as const, content: 'x' }] };
    const opener = rt.submit(ask);
    await settle();
    provider.pending()[0]?.settle('retryable');
    expect((await opener.result).ok).toBe(false);
    const other = rt.run(() => new Promise<never>(() => {}), { lane: 'hold', metadata: { owner: 'bob' } });
    const t = rt.run(
      async ({ sessionId }) => {
        const child = await rt.submit(ask, { parent: sessionId, metadata: { owner: 'alice' } }).result;
        return child.ok ? 'ok' : child.error.code;
      },
      { lane: 'tools', metadata: { owner: 'alice' } },
    );
    expect(await t.result).toMatchObject({ ok: true, value: 'PROVIDER_UNAVAILABLE' });
    other.cancel();
    await other.result;
    await settle();
    expect(rt.status()).toMatchObject({ running: 0, queued: 0 });
    // Alice's one place is free again, and two sessions run at once, not three.
    let running = 0;
    const fresh = ['alice', 'bob', 'carol'].map((owner) =>
      rt.run(
        ({ signal }) => {
          running++;
          return new Promise<never>((_, reject) =>
            signal.addEventListener('abort', () => reject(signal.reason), { once: true }),
          );
        },
        { lane: 'bound', metadata: { owner } },
      ),
    );
    await settle();
    expect(running).toBe(2);
    expect(rt.session(fresh[0]?.id as string)?.state).toBe('running');
    for (const handle of fresh) handle.cancel();
  });

  it('passes a borrowed slot on to the child on it when its borrower ends first, and lends it to no one else meanwhile', async () => {
    const { rt, chat, started, answer, boundHolds } = setup({ maxConcurrent: 1 });
    const lenders = new Map<string, string | undefined>();
    rt.subscribe((event) => {
      if (event.type === 'session.started') lenders.set(event.sessionId, event.lentBy);
    });
    let grandchild: SessionHandle | undefined;
    let second: SessionHandle | undefined;
    let done = () => {};
    const parent = rt.run(
      async ({ sessionId }) => {
        // A task within the task, on its slot, that asks a model within itself and returns first.
        const middle = rt.run(
          async ({ sessionId: within }) => {
            grandchild = chat('g', { parent: within });
            await tick();
            return 'left before its child ended';
          },
          { lane: 'tools', parent: sessionId },
        );
        await middle.result;
        second = chat('second', { parent: sessionId });
        const ok = (await second.result).ok;
        await new Promise<void>((resolve) => {
          done = resolve;
        });
        return ok;
      },
      { lane: 'tools' },
    );
    await settle();
    // The one slot is the parent's, the grandchild runs on it: the parent's next child waits for it.
    expect(started).toEqual(['g']);
    expect(rt.session((second as SessionHandle).id)?.state).toBe('queued');
    answer('g');
    expect((await (grandchild as SessionHandle).result).ok).toBe(true);
    await settle();
    // On its parent's slot again, not on a free one.
    expect(started).toEqual(['g', 'second']);
    expect(lenders.get((second as SessionHandle).id)).toBe(parent.id);
    answer('second');
    await (second as SessionHandle).result;
    // The parent runs on: its slot is the one slot, and nothing else starts.
    const other = chat('other');
    await settle();
    expect(rt.session(other.id)?.state).toBe('queued');
    done();
    expect(await parent.result).toMatchObject({ ok: true, value: true });
    await settle();
    expect(started).toEqual(['g', 'second', 'other']);
    answer('other');
    await other.result;
    await boundHolds();
  });

  it('keeps a grandchild of its grandparent’s caller in its grandparent’s place when the child between them ends first', async () => {
    // A share below `maxConcurrent`: one of it is none.
    const { rt, chat, started, answer } = setup({ maxConcurrent: 3, maxRunningPerCaller: 2 });
    let grandchild: SessionHandle | undefined;
    const alice = { metadata: { owner: 'alice' } };
    rt.run(
      async ({ sessionId }) => {
        // The blocker below holds the other slot before this asks for anything.
        await tick();
        const middle = rt.run(
          async ({ sessionId: within }) => {
            grandchild = chat('g', { parent: within, owner: 'alice' });
            await tick();
            return 'left first';
          },
          { lane: 'tools', parent: sessionId, ...alice },
        );
        await middle.result;
        return (await (grandchild as SessionHandle).result).ok;
      },
      { lane: 'tools', ...alice },
    );
    // The parent takes one slot, the blockers the others; its child, then its grandchild, run on it.
    const [blocker] = ['bob', 'carol'].map((owner) =>
      rt.run(
        ({ signal }) =>
          new Promise<never>((_, reject) => signal.addEventListener('abort', () => reject(signal.reason))),
        { lane: 'tools', metadata: { owner } },
      ),
    ) as [SessionHandle<TaskResult<never>>];
    await settle();
    expect(started).toEqual(['g']);
    blocker.cancel();
    await blocker.result;
    // A slot is free, and alice runs one session in one place (the grandchild in her task's): her next starts.
    const next = chat('alice-next', { owner: 'alice' });
    await settle();
    expect(started).toEqual(['g', 'alice-next']);
    answer('g');
    answer('alice-next');
    expect((await next.result).ok).toBe(true);
  });

  it('names its lender on a child’s start on a lent slot, on no start on a slot of its own, and to a late observer', async () => {
    const { rt, chat, started, answer } = setup({ maxConcurrent: 2 });
    const starts: { sessionId: string; lentBy?: string }[] = [];
    rt.subscribe((event) => {
      if (event.type === 'session.started') starts.push({ sessionId: event.sessionId, lentBy: event.lentBy });
    });
    let parentId = '';
    let children: SessionHandle[] = [];
    const t = rt.run(
      async ({ sessionId }) => {
        parentId = sessionId;
        await tick();
        children = ['free', 'lent'].map((text) => chat(text, { parent: sessionId }));
        return Promise.all(children.map((child) => child.result));
      },
      { lane: 'tools' },
    );
    await settle();
    expect(started).toEqual(['free', 'lent']);
    // The first child took the free slot, the second its parent's.
    const [free, lent] = children as [SessionHandle, SessionHandle];
    expect(starts).toEqual([
      { sessionId: parentId, lentBy: undefined },
      { sessionId: free.id, lentBy: undefined },
      { sessionId: lent.id, lentBy: parentId },
    ]);
    // An observer that comes later is told the same, as its first event.
    const first = async (handle: SessionHandle) => (await handle.events[Symbol.asyncIterator]().next()).value;
    expect(await first(lent)).toMatchObject({ type: 'session.started', lentBy: parentId });
    expect(await first(free)).not.toHaveProperty('lentBy');
    answer('free');
    answer('lent');
    await t.result;
  });

  it('queues a child its parent’s slot takes at once past a full queue, refuses a second, and never starts the refused one', async () => {
    const { rt, chat, started, answer, boundHolds } = setup({ maxConcurrent: 1, maxQueued: 1 });
    let refused: unknown;
    let filler: SessionHandle | undefined;
    let lent: SessionHandle | undefined;
    let next: SessionHandle | undefined;
    const parent = rt.run(
      async ({ sessionId }) => {
        await tick();
        // The queue holds one session: the filler takes it.
        filler = chat('filler');
        // Its slot takes this one at once: the full queue does not refuse it.
        lent = chat('lent', { parent: sessionId });
        // The slot is lent now: a second child waits as any session, and the queue is full.
        try {
          chat('refused', { parent: sessionId });
        } catch (error) {
          refused = error;
        }
        // Its end makes a pass of the admission loop while the parent runs: no refused child in it.
        await lent.result;
        await tick();
        // The queue is still full, and the slot lends again: the next child is taken too.
        next = chat('next', { parent: sessionId });
        filler.cancel();
        return (await next.result).ok;
      },
      { lane: 'tools' },
    );
    await settle();
    expect(refused).toMatchObject({ code: 'QUEUE_FULL' });
    expect(started).toEqual(['lent']);
    answer('lent');
    await settle();
    expect(started).toEqual(['lent', 'next']);
    answer('next');
    expect(await parent.result).toMatchObject({ ok: true, value: true });
    await (filler as SessionHandle).result;
    await boundHolds();
  });

  it('queues past a full queue one child a parent at a time, while it waits for its provider too, and no session without a parent', async () => {
    const { rt, chat, started, answer, boundHolds } = setup({
      maxConcurrent: 2,
      maxQueued: 1,
      perProvider: { p: 1 },
    });
    const errors: Record<string, unknown> = {};
    const attempt = (name: string, submit: () => unknown) => {
      try {
        submit();
      } catch (error) {
        errors[name] = (error as { code?: string }).code;
      }
    };
    chat('busy');
    let first: SessionHandle | undefined;
    const parent = rt.run(
      async ({ sessionId }) => {
        await tick();
        const filler = chat('filler');
        // Its provider's one slot is busy: the first child waits past the full queue.
        first = chat('first', { parent: sessionId });
        // One child waits already: the second is refused, as a session with no parent is.
        attempt('second', () => chat('second', { parent: sessionId }));
        attempt('orphan', () => chat('orphan'));
        await filler.result;
        return (await first.result).ok;
      },
      { lane: 'tools' },
    );
    await settle();
    expect(errors).toEqual({ second: 'QUEUE_FULL', orphan: 'QUEUE_FULL' });
    expect(started).toEqual(['busy']);
    // The child waits in its provider's queue in its order, behind the filler.
    answer('busy');
    await settle();
    expect(started).toEqual(['busy', 'filler']);
    answer('filler');
    await settle();
    expect(started).toEqual(['busy', 'filler', 'first']);
    answer('first');
    expect(await parent.result).toMatchObject({ ok: true, value: true });
    await boundHolds();
  });

  it('queues a child its parent’s slot takes at once past its caller’s full share of the queue', async () => {
    const { rt, chat, started, answer } = setup({ maxConcurrent: 1, maxQueuedPerCaller: 1 });
    const parent = rt.run(
      async ({ sessionId }) => {
        await tick();
        // Alice's one place in the queue is her next tool's.
        const queuedTool = rt.run(async () => 'later', { lane: 'tools', metadata: { owner: 'alice' } });
        const call = chat('mine', { parent: sessionId, owner: 'alice' });
        const ok = (await call.result).ok;
        queuedTool.cancel();
        return ok;
      },
      { lane: 'tools', metadata: { owner: 'alice' } },
    );
    await settle();
    expect(started).toEqual(['mine']);
    answer('mine');
    expect(await parent.result).toMatchObject({ ok: true, value: true });
  });

  it('ignores a parent that is not a live session, and refuses one that is not an id', async () => {
    const { rt, chat, started, answer } = setup({ maxConcurrent: 1 });
    const c = chat('alone', { parent: 'no-such-session' });
    await settle();
    expect(started).toEqual(['alone']);
    answer('alone');
    expect((await c.result).ok).toBe(true);
    expect(() =>
      rt.submit({ messages: [{ role: 'user', content: 'x' }] }, { parent: 5 as unknown as string }),
    ).toThrow(/parent/);
  });
});
