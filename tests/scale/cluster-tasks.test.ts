/**
 * Tasks (`run`) on a cluster: they run on the instance that got them, under that instance's
 * limits (`maxConcurrent`, `maxQueued`, `maxQueuedBytes`, a lane's `perProvider`), and show in its
 * status, lookups, cancellation, events and metrics as on one process. The composition is the one
 * Redis runs (`cluster-runtime.ts` with `cluster-tasks.ts`), on in-memory ports and a simulated
 * clock; the last test runs it on a real Redis.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { SimulatedClock } from 'xstate';
import { MemoryClusterHub } from '../../src/runtime/backend.js';
import { createRuntime } from '../../src/runtime/runtime.js';
import type { Runtime, RuntimeEvent, RuntimeOptions, TaskResult } from '../../src/runtime/types.js';
import { memoryClusterBackend } from '../../src/scale/memory-cluster.js';
import { redisBackend } from '../../src/scale/redis-backend.js';
import { ScriptedProvider } from '../../src/testing/scripted-provider.js';
import { type RedisServer, startRedis } from '../support/redis.js';

const flush = async () => {
  for (let i = 0; i < 3; i++) await new Promise<void>((resolve) => setImmediate(resolve));
};

const runtimes: { runtime: Runtime; clock?: SimulatedClock }[] = [];
afterEach(async () => {
  for (const { runtime, clock } of runtimes.splice(0)) await stop(runtime, clock);
});

/** Shuts down, cancelling what is left; a simulated clock is run through the drain deadline. */
async function stop(runtime: Runtime, clock?: SimulatedClock) {
  const report = runtime.shutdown({ deadlineMs: 0 });
  for (let i = 0; clock !== undefined && i < 5; i++) {
    clock.increment(1);
    await flush();
  }
  return report;
}

function instance(limits: RuntimeOptions['limits'], hub?: MemoryClusterHub, clock = new SimulatedClock()) {
  const runtime = createRuntime({
    providers: [new ScriptedProvider('p')],
    defaults: { model: 'm' },
    clock,
    limits,
    backend: memoryClusterBackend({ hub: hub ?? new MemoryClusterHub({ clock }), sweepIntervalMs: 1000 }),
  });
  runtimes.push({ runtime, clock });
  return runtime;
}

/** A task that runs until its signal aborts or `release` is called; `started` counts its starts. */
function gate() {
  let started = 0;
  const waiting: (() => void)[] = [];
  const task = (context: { signal: AbortSignal }) => {
    started++;
    return new Promise<string>((resolve, reject) => {
      waiting.push(() => resolve('done'));
      context.signal.addEventListener('abort', () => reject(context.signal.reason), { once: true });
    });
  };
  return {
    task,
    started: () => started,
    release: () => {
      for (const resolve of waiting.splice(0)) resolve();
    },
  };
}

describe('tasks on a cluster', () => {
  it('run at most `maxConcurrent` at once on an instance; the rest wait, counted in its status', async () => {
    const runtime = instance({ maxConcurrent: 2 });
    const work = gate();
    const handles = Array.from({ length: 5 }, () => runtime.run(work.task, { lane: 'tools' }));
    await flush();
    expect(work.started()).toBe(2);
    const status = runtime.status();
    expect(status.running).toBe(2);
    expect(status.queued).toBe(3);
    expect(status.providers.find((p) => p.name === 'tools')).toMatchObject({ queued: 3, running: 2 });
    for (let round = 0; round < 3 && work.started() < 5; round++) {
      work.release();
      await flush();
    }
    work.release();
    const results = await Promise.all(handles.map((h) => h.result));
    expect(results.map((r) => r.ok)).toEqual([true, true, true, true, true]);
    expect(work.started()).toBe(5);
  });

  it('state in status() the defaults of the instance’s own runtime (a tool description reads them)', () => {
    const clock = new SimulatedClock();
    const runtime = createRuntime({
      providers: [new ScriptedProvider('p')],
      defaults: { model: 'm', timeoutMs: 300_000, priority: 4 },
      clock,
      backend: memoryClusterBackend({ hub: new MemoryClusterHub({ clock }), sweepIntervalMs: 1000 }),
    });
    runtimes.push({ runtime, clock });
    expect(runtime.status().defaults).toEqual({ priority: 4, timeoutMs: 300_000, queueTimeoutMs: 60_000 });
  });

  it("hold a lane to its `perProvider` limit, this instance's own", async () => {
    const clock = new SimulatedClock();
    const hub = new MemoryClusterHub({ clock });
    const limits = { perProvider: { tools: 1 } };
    const [a, b] = [instance(limits, hub, clock), instance(limits, hub, clock)];
    const work = gate();
    for (let i = 0; i < 3; i++) a.run(work.task, { lane: 'tools' });
    b.run(work.task, { lane: 'tools' });
    await flush();
    // One on each instance: a lane's limit is per instance (a task never leaves it).
    expect(work.started()).toBe(2);
    expect(a.status().providers.find((p) => p.name === 'tools')).toMatchObject({
      running: 1,
      queued: 2,
      limit: 1,
    });
    // A task lane is no provider's: the shared limits have nothing for it.
    expect(a.status().limits?.tools).toBeUndefined();
    work.release();
  });

  it('are refused past `maxQueued` and `maxQueuedBytes` with QUEUE_FULL, nothing kept', async () => {
    const runtime = instance({ maxConcurrent: 1, maxQueued: 2, maxQueuedBytes: 1000 });
    const work = gate();
    runtime.run(work.task, { lane: 'tools' });
    runtime.run(work.task, { lane: 'tools', bytes: 600 });
    expect(() => runtime.run(work.task, { lane: 'tools', bytes: 600 })).toThrow(
      expect.objectContaining({ code: 'QUEUE_FULL' }),
    );
    runtime.run(work.task, { lane: 'tools', bytes: 100 });
    expect(() => runtime.run(work.task, { lane: 'tools' })).toThrow(
      expect.objectContaining({ code: 'QUEUE_FULL' }),
    );
    await flush();
    const status = runtime.status();
    expect(status.queued).toBe(2);
    expect(status.queuedBytes).toBe(700);
    expect(runtime.metrics().rejected.QUEUE_FULL).toBe(2);
    expect(runtime.metrics().submitted).toBe(3);
    work.release();
  });

  it('are found, listed and cancelled by id, and their events reach subscribers', async () => {
    const runtime = instance({});
    const events: RuntimeEvent[] = [];
    runtime.subscribe((event) => events.push(event));
    const work = gate();
    const handle = runtime.run(work.task, { lane: 'tools', label: 'my-tool' });
    await flush();
    const id = handle.id;
    expect(runtime.session(id)).toMatchObject({ sessionId: id, state: 'running', label: 'my-tool' });
    expect(runtime.sessions().map((s) => s.sessionId)).toContain(id);
    expect(runtime.cancel(id, 'stop it')).toBe(true);
    const result = (await handle.result) as TaskResult<string>;
    expect(result.ok).toBe(false);
    expect(result.metadata.state).toBe('cancelled');
    expect(runtime.session(id)).toMatchObject({ state: 'cancelled' });
    expect(runtime.status().recent.map((s) => s.sessionId)).toContain(id);
    expect(runtime.metrics().ended.cancelled).toBe(1);
    const mine = events.filter((e) => 'sessionId' in e && e.sessionId === id).map((e) => e.type);
    expect(mine).toEqual(expect.arrayContaining(['session.queued', 'session.started', 'session.ended']));
  });

  it('page on after a cursor through sessions and tasks ended here, in the order they ended', async () => {
    const clock = new SimulatedClock();
    const provider = new ScriptedProvider('p');
    const runtime = createRuntime({
      providers: [provider],
      defaults: { model: 'm' },
      clock,
      backend: memoryClusterBackend({ hub: new MemoryClusterHub({ clock }), sweepIntervalMs: 1000 }),
    });
    runtimes.push({ runtime, clock });
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) {
      clock.increment(10);
      const handle =
        i % 3 === 1
          ? runtime.run(async () => 'x', { lane: 'tools' })
          : runtime.submit({ messages: [{ role: 'user', content: `q${i}` }] });
      ids.push(handle.id);
      await flush();
      provider.pending()[0]?.settle('ok');
      await handle.result;
    }
    const newest = ids.reverse();
    expect(runtime.status({ recent: 6 }).recent.map((s) => s.sessionId)).toEqual(newest);
    // A cursor of either list: the next in the order both are listed, from either.
    for (let at = 0; at < newest.length; at++)
      expect(runtime.status({ recent: 2, after: newest[at] }).recent.map((s) => s.sessionId)).toEqual(
        newest.slice(at + 1, at + 3),
      );
    expect(runtime.status({ recent: 2, after: 'no-such-session' }).recent).toEqual([]);
  });

  it('list a task’s end in `recent` by the time a listener hears it', async () => {
    const runtime = instance({});
    const listed: boolean[] = [];
    runtime.subscribe((event) => {
      if (event.type === 'session.ended')
        listed.push(runtime.status().recent.some((s) => s.sessionId === event.sessionId));
    });
    await runtime.run(async () => 'x', { lane: 'tools' }).result;
    expect(listed).toEqual([true]);
  });

  it('are cancelled by a shutdown past its deadline and named in its report; a task after it is refused', async () => {
    const clock = new SimulatedClock();
    const runtime = instance({}, undefined, clock);
    const work = gate();
    const handle = runtime.run(work.task, { lane: 'tools' });
    await flush();
    const report = await stop(runtime, clock);
    expect(report.cancelled).toContain(handle.id);
    expect((await handle.result).metadata.state).toBe('cancelled');
    expect(() => runtime.run(work.task, { lane: 'tools' })).toThrow(
      expect.objectContaining({ code: 'SHUTTING_DOWN' }),
    );
  });
});

describe('tasks on a cluster on Redis', () => {
  let redis: RedisServer | undefined;
  afterAll(async () => {
    await redis?.stop();
  });

  it("run under the instance's `maxConcurrent` and are seen and cancelled there", async () => {
    redis = await startRedis();
    const runtime = createRuntime({
      providers: [new ScriptedProvider('p')],
      defaults: { model: 'm' },
      limits: { maxConcurrent: 1 },
      backend: await redisBackend({ url: redis.url, prefix: 'tasks' }),
    });
    runtimes.push({ runtime });
    await runtime.ready;
    const work = gate();
    const first = runtime.run(work.task, { lane: 'tools' });
    const second = runtime.run(work.task, { lane: 'tools' });
    await flush();
    expect(work.started()).toBe(1);
    expect(runtime.status()).toMatchObject({ running: 1, queued: 1 });
    expect(runtime.cancel(second.id)).toBe(true);
    expect((await second.result).metadata.state).toBe('cancelled');
    work.release();
    expect((await first.result).ok).toBe(true);
    expect(work.started()).toBe(1);
  });
});

describe('a task within a task on a cluster', () => {
  it('runs on its parent’s slot when every slot is a task’s, as in one process', async () => {
    const runtime = instance({ maxConcurrent: 1 });
    const inner = (parent?: string) =>
      runtime.run(async () => 'inner', { lane: 'lookups', ...(parent === undefined ? {} : { parent }) });
    let waitingInner: string | undefined;
    const outer = runtime.run(
      async ({ sessionId }) => {
        // Without `parent` it waits for the one slot, its parent's.
        const alone = inner();
        waitingInner = alone.id;
        await flush();
        const state = runtime.session(alone.id)?.state;
        alone.cancel('not needed');
        const within = await inner(sessionId).result;
        return `${state} ${within.ok ? within.value : within.error.code}`;
      },
      { lane: 'tools' },
    );
    await flush();
    await flush();
    expect(waitingInner).toBeDefined();
    expect(await outer.result).toMatchObject({ ok: true, value: 'queued inner' });
  });
});

describe('tasks within tasks on a cluster, more deeply', () => {
  /** The instance's `session.started` events of tasks: each one's lender (`lentBy`), if any. */
  function lenders(runtime: Runtime) {
    const seen = new Map<string, string | undefined>();
    runtime.subscribe((event) => {
      if (event.type === 'session.started') seen.set(event.sessionId, event.lentBy);
    });
    return seen;
  }

  it('passes a lent slot down to a task within a task within a task, and gives it back once', async () => {
    const runtime = instance({ maxConcurrent: 1 });
    const started = lenders(runtime);
    const work = gate();
    let innerId = '';
    let middleId = '';
    const outer = runtime.run(
      async ({ sessionId }) => {
        const middle = runtime.run(
          async ({ sessionId: within }) => {
            innerId = runtime.run(work.task, { lane: 'lookups', parent: within }).id;
            await flush();
            // Returns first: the innermost goes on, on the slot its parent was lent.
            return 'left';
          },
          { lane: 'lookups', parent: sessionId },
        );
        middleId = middle.id;
        const result = await middle.result;
        return result.ok ? result.value : result.error.code;
      },
      { lane: 'tools' },
    );
    await flush();
    expect(work.started()).toBe(1);
    expect(started.get(middleId)).toBe(outer.id);
    expect(started.get(innerId)).toBe(middleId);
    expect(await outer.result).toMatchObject({ ok: true, value: 'left' });
    // The innermost runs on the one slot now, which it was left: the next task waits for it.
    const next = gate();
    const waiting = runtime.run(next.task, { lane: 'tools' });
    await flush();
    expect(runtime.status()).toMatchObject({ running: 1, queued: 1 });
    expect(runtime.session(waiting.id)?.state).toBe('queued');
    work.release();
    await flush();
    expect(runtime.session(innerId)?.state).toBe('done');
    expect(next.started()).toBe(1);
    // One slot, not two: a second task waits.
    const second = runtime.run(next.task, { lane: 'tools' });
    await flush();
    expect(runtime.session(second.id)?.state).toBe('queued');
    next.release();
    await flush();
    next.release();
    expect((await second.result).ok).toBe(true);
    expect(runtime.status()).toMatchObject({ running: 0, queued: 0 });
  });

  it("runs a task within a task of its caller in its parent's place in the instance's share", async () => {
    const runtime = instance({ maxConcurrent: 2, maxRunningPerCaller: 1 });
    const started = lenders(runtime);
    const bobs = gate();
    runtime.run(bobs.task, { lane: 'hold', metadata: { owner: 'bob' } });
    let childId = '';
    const outer = runtime.run(
      async ({ sessionId }) => {
        const child = runtime.run(async () => 'inner', {
          lane: 'lookups',
          parent: sessionId,
          metadata: { owner: 'alice' },
        });
        childId = child.id;
        const result = await child.result;
        return result.ok ? result.value : result.error.code;
      },
      { lane: 'tools', metadata: { owner: 'alice' } },
    );
    expect(await outer.result).toMatchObject({ ok: true, value: 'inner' });
    expect(started.get(childId)).toBe(outer.id);
    bobs.release();
    await flush();
    // Alice's one place is free again, and hers alone.
    const alice = gate();
    const hers = [1, 2].map(() => runtime.run(alice.task, { lane: 'hold', metadata: { owner: 'alice' } }));
    await flush();
    expect(alice.started()).toBe(1);
    expect(runtime.status()).toMatchObject({ running: 1, queued: 1 });
    alice.release();
    await flush();
    alice.release();
    await Promise.all(hers.map((handle) => handle.result));
  });

  it('runs a chat that names a task as its parent in the shared queue, apart from the tasks’ slots', async () => {
    const clock = new SimulatedClock();
    const provider = new ScriptedProvider('p');
    const runtime = createRuntime({
      providers: [provider],
      defaults: { model: 'm' },
      clock,
      limits: { maxConcurrent: 1 },
      backend: memoryClusterBackend({ hub: new MemoryClusterHub({ clock }), sweepIntervalMs: 1000 }),
    });
    runtimes.push({ runtime, clock });
    const started = lenders(runtime);
    let chatId = '';
    const outer = runtime.run(
      async ({ sessionId }) => {
        const chat = runtime.submit({ messages: [{ role: 'user', content: 'x' }] }, { parent: sessionId });
        chatId = chat.id;
        const result = await chat.result;
        return result.ok ? result.content : result.error.code;
      },
      { lane: 'tools' },
    );
    await flush();
    await flush();
    expect(provider.pending()).toHaveLength(1);
    expect(started.has(chatId)).toBe(true);
    expect(started.get(chatId)).toBeUndefined();
    provider.pending()[0]?.settle('ok');
    expect(await outer.result).toMatchObject({ ok: true, value: 'answer 0' });
  });
});
