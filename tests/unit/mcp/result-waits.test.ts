/**
 * `tasks/result` waiters share one store subscription and one expiry poll per task: 200 waiters
 * on one task cost what one did (before, 200 subscriptions and 200 timers, each re-reading the
 * store every interval).
 */
import { describe, expect, it } from 'vitest';
import { LiveSessions } from '../../../src/mcp/live-sessions.js';
import { MemoryTaskStore } from '../../../src/mcp/tasks/memory-task-store.js';
import { ResultWaits, WaitLimitError } from '../../../src/mcp/tasks/result-waits.js';
import { TaskManager } from '../../../src/mcp/tasks/task-manager.js';
import type { TaskRecord, TaskStore } from '../../../src/ports/task-store.js';
import type { Runtime } from '../../../src/runtime/types.js';

/** A memory store that counts subscriptions held and reads made. */
function countingStore(): {
  store: TaskStore;
  subscribed: () => number;
  reads: () => number;
  vanish: () => void;
} {
  const inner = new MemoryTaskStore();
  let subscribed = 0;
  let reads = 0;
  let gone = false;
  const store: TaskStore = Object.assign(Object.create(inner) as TaskStore, {
    subscribe(listener: (record: TaskRecord) => void) {
      subscribed += 1;
      const stop = inner.subscribe(listener);
      return () => {
        subscribed -= 1;
        stop();
      };
    },
    get(taskId: string) {
      reads += 1;
      return gone ? Promise.resolve(undefined) : inner.get(taskId);
    },
    create: (record: TaskRecord) => inner.create(record),
    update: (taskId: string, patch: Parameters<TaskStore['update']>[1]) => inner.update(taskId, patch),
  });
  return {
    store,
    subscribed: () => subscribed,
    reads: () => reads,
    // Expiry: the record is gone and no change is emitted.
    vanish: () => {
      gone = true;
    },
  };
}

function record(taskId: string): TaskRecord {
  return {
    taskId,
    status: 'working',
    createdAt: Date.now(),
    lastUpdatedAt: Date.now(),
    ttlMs: 60_000,
    pollIntervalMs: 1000,
    toolName: 'chat',
    sessionIds: [],
  };
}

describe('ResultWaits', () => {
  it("TaskManager's waitForResult holds one subscription for 200 waiters on a task", async () => {
    const { store, subscribed } = countingStore();
    const live = new LiveSessions({ subscribe: () => () => {} } as unknown as Runtime);
    const tasks = new TaskManager(live, { store, pollIntervalMs: 20 });
    let finish: (value: { structured: { ok: true }; text: string }) => void = () => {};
    const task = await tasks.start({
      toolName: 'chat',
      work: () => new Promise((resolve) => (finish = resolve)),
    });
    const waiting = Array.from({ length: 200 }, () =>
      tasks.waitForResult(task.taskId, new AbortController().signal),
    );
    expect(subscribed()).toBe(1);
    finish({ structured: { ok: true }, text: 'done' });
    expect((await Promise.all(waiting)).every((r) => r?.status === 'completed')).toBe(true);
    expect(subscribed()).toBe(0);
    tasks.close();
    live.close();
  });

  it('serves every waiter on one task from one subscription, and ends them together on its change', async () => {
    const { store, subscribed } = countingStore();
    await store.create(record('t1'));
    // A poll too slow to matter here: the change event must end the waits.
    const waits = new ResultWaits(store, 60_000);
    const waiting = Array.from({ length: 200 }, () => waits.wait('t1', new AbortController().signal));
    expect(subscribed()).toBe(1);
    expect(waits.tasks).toBe(1);
    await store.update('t1', { status: 'completed', result: { content: [] } });
    const ended = await Promise.all(waiting);
    expect(ended.every((r) => r?.status === 'completed')).toBe(true);
    expect(subscribed()).toBe(0);
    expect(waits.tasks).toBe(0);
  });

  it('polls once per interval per task, not per waiter, and ends the waits when the task expires', async () => {
    const { store, reads, vanish } = countingStore();
    await store.create(record('t3'));
    const waits = new ResultWaits(store, 20);
    const waiting = Array.from({ length: 100 }, () => waits.wait('t3', new AbortController().signal));
    await new Promise((r) => setTimeout(r, 210));
    // One read per waiter joining, then about one per 20 ms for the task (not 100 per 20 ms).
    expect(reads()).toBeLessThan(100 + 20);
    vanish();
    expect(await Promise.all(waiting)).toEqual(Array(100).fill(undefined));
    expect(waits.tasks).toBe(0);
  });

  it('lets one waiter leave by its signal, and stops the task’s poll when the last one leaves', async () => {
    const { store, subscribed } = countingStore();
    await store.create(record('t2'));
    const waits = new ResultWaits(store, 20);
    const first = new AbortController();
    const second = new AbortController();
    const a = waits.wait('t2', first.signal);
    const b = waits.wait('t2', second.signal);
    first.abort('client left');
    await expect(a).rejects.toBe('client left');
    expect(subscribed()).toBe(1);
    second.abort('gone too');
    await expect(b).rejects.toBe('gone too');
    expect(subscribed()).toBe(0);
    expect(waits.tasks).toBe(0);
  });

  it('ends the wait with undefined once the task is gone (expired)', async () => {
    const { store } = countingStore();
    const waits = new ResultWaits(store, 20);
    await expect(waits.wait('never-created', new AbortController().signal)).resolves.toBeUndefined();
    expect(waits.tasks).toBe(0);
  });

  it('holds at most maxWaits, and maxWaitsPerOwner of one owner, and gives each place back however its wait ends', async () => {
    const { store, vanish } = countingStore();
    await store.create(record('t4'));
    await store.create(record('t5'));
    const waits = new ResultWaits(store, 20, { maxWaits: 3, maxWaitsPerOwner: 2 });
    const signal = () => new AbortController().signal;
    const a = [waits.wait('t4', signal(), 'token:a'), waits.wait('t5', signal(), 'token:a')];
    await expect(waits.wait('t4', signal(), 'token:a')).rejects.toEqual(new WaitLimitError(2, 'token:a'));
    const leaving = new AbortController();
    const b = waits.wait('t4', leaving.signal, 'token:b');
    // Full: any owner, and a wait with none (stdio's one client), is refused by the server's bound.
    await expect(waits.wait('t4', signal(), 'token:c')).rejects.toThrow(
      'Expected at most 3 tasks/result requests waiting on the server at once',
    );
    await expect(waits.wait('t4', signal())).rejects.toBeInstanceOf(WaitLimitError);
    expect(waits.held).toBe(3);
    // Left by its signal: b's place is back.
    leaving.abort('left');
    await expect(b).rejects.toBe('left');
    expect(waits.held).toBe(2);
    // Ended by the task's change, and by its expiry: a's places are back.
    await store.update('t4', { status: 'completed', result: { content: [] } });
    await a[0];
    expect(waits.held).toBe(1);
    vanish();
    await expect(a[1]).resolves.toBeUndefined();
    expect(waits.held).toBe(0);
    await expect(waits.wait('t4', signal(), 'token:a')).resolves.toBeUndefined();
    expect(waits.held).toBe(0);
  });

  it('refuses bounds on waits that are not positive whole numbers, naming the option', () => {
    const live = new LiveSessions({ subscribe: () => () => {} } as unknown as Runtime);
    expect(() => new TaskManager(live, { maxResultWaits: 0 })).toThrow(
      'Expected `maxResultWaits` to be a positive integer, got 0',
    );
    expect(() => new TaskManager(live, { maxResultWaitsPerOwner: 2.5 })).toThrow(
      'Expected `maxResultWaitsPerOwner` to be a positive integer, got 2.5',
    );
    live.close();
  });

  it.each([
    ['pollIntervalMs', 0],
    ['pollIntervalMs', -5],
    ['pollIntervalMs', Number.NaN],
    ['maxTtlMs', Number.POSITIVE_INFINITY],
    ['defaultTtlMs', 0],
    ['pollIntervalMs', 3e9],
    ['sweepIntervalMs', 0],
  ])('refuses %s = %d: a poll every millisecond, or a task kept for ever', (name, value) => {
    const live = new LiveSessions({ subscribe: () => () => {} } as unknown as Runtime);
    expect(() => new TaskManager(live, { [name]: value })).toThrow(
      `Expected \`${name}\` to be a number of ms from 1 to 2147483647, got ${value}`,
    );
    live.close();
  });
});
