/**
 * MCP tasks kept in memory when the wall clock steps (NTP, someone setting the date): their `ttl`
 * counts on the steady clock, their times as a client reads them stay the wall clock's. Real
 * timers; `Date.now` is stepped an hour (`tests/support/wall-step.ts`).
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { MemoryTaskStore } from '../../../src/mcp/tasks/memory-task-store.js';
import { TaskManager } from '../../../src/mcp/tasks/task-manager.js';
import { HOUR, steppable, wall } from '../../support/wall-step.js';
import { record } from './tasks-store-contract.js';

afterEach(() => {
  vi.restoreAllMocks();
  wall.stepMs = 0;
});

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('MemoryTaskStore when the wall clock steps', () => {
  it('keeps a task with most of its ttl left when the date is set forward past it', async () => {
    steppable();
    const store = new MemoryTaskStore();
    await store.create(record('t1', Date.now(), { ttlMs: 60_000 }));
    wall.stepMs = HOUR;
    expect((await store.get('t1'))?.taskId).toBe('t1');
    expect((await store.list({ limit: 10 })).tasks.map((t) => t.taskId)).toEqual(['t1']);
    expect(await store.sweep()).toEqual([]);
    // What a client reads is the wall clock's: an update after the step is stamped with it.
    const updated = await store.update('t1', { status: 'completed' });
    expect(updated?.lastUpdatedAt).toBeGreaterThanOrEqual(Date.now() - 1000);
    expect(updated?.lastUpdatedAt).toBeGreaterThan((updated?.createdAt ?? 0) + HOUR - 1000);
  });

  it('drops a task at its ttl when the date is set back an hour meanwhile', async () => {
    steppable();
    const store = new MemoryTaskStore();
    await store.create(record('t1', Date.now(), { ttlMs: 150 }));
    wall.stepMs = -HOUR;
    await pause(250);
    expect(await store.list({ limit: 10 })).toEqual({ tasks: [] });
    expect(await store.sweep()).toEqual(['t1']);
    expect(await store.get('t1')).toBeUndefined();
  });

  it('lists for its whole ttl a task created after the date was set back an hour', async () => {
    steppable();
    wall.stepMs = -HOUR;
    const store = new MemoryTaskStore();
    await store.create(record('t1', Date.now(), { ttlMs: 60_000 }));
    expect((await store.list({ limit: 10 })).tasks.map((t) => t.taskId)).toEqual(['t1']);
    expect((await store.get('t1'))?.taskId).toBe('t1');
    expect(await store.sweep()).toEqual([]);
  });

  it('counts what was left of the ttl when stored: a record created 100 ms ago with 150 ms goes in 50', async () => {
    steppable();
    const store = new MemoryTaskStore();
    await store.create(record('t1', Date.now() - 100, { ttlMs: 150 }));
    expect((await store.get('t1'))?.taskId).toBe('t1');
    await pause(120);
    expect(await store.get('t1')).toBeUndefined();
  });

  it('is what the task manager builds when it is given no store: its tasks keep their ttl too', async () => {
    steppable();
    const live = { get: () => undefined } as unknown as ConstructorParameters<typeof TaskManager>[0];
    const manager = new TaskManager(live);
    try {
      await manager.store.create(record('t1', Date.now(), { ttlMs: 60_000 }));
      wall.stepMs = HOUR;
      expect((await manager.store.get('t1'))?.taskId).toBe('t1');
    } finally {
      manager.close();
    }
  });
});
