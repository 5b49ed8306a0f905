/**
 * `tasks/result` waiters share one store subscription and one expiry poll per task: 200 waiters
 * on one task cost what one did (before, 200 subscriptions and 200 timers, each re-reading the
 * store every interval).
 */
import { describe, expect, it } from 'vitest';
import { LiveSessions } from '../../../src/mcp/live-sessions.js';
import { MemoryTaskStore } from '../../../src/mcp/tasks/memory-task-store.js';
import { ResultWaits } from '../../../src/mcp/tasks/result-waits.js';
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
});
