/**
 * What every `TaskStore` must do, on a hand-driven clock: run by `tasks-store.test.ts` against the
 * in-memory store and by `tasks-store-redis.test.ts` against the Redis one.
 */
import { describe, expect, it } from 'vitest';
import { InvalidCursorError, type TaskRecord, type TaskStore } from '../../../src/ports/task-store.js';

export interface StoreFactoryOptions {
  readonly now: () => number;
  readonly maxTasks?: number;
}

export type StoreFactory = (options: StoreFactoryOptions) => Promise<TaskStore>;

export function record(taskId: string, now: number, patch: Partial<TaskRecord> = {}): TaskRecord {
  return {
    taskId,
    status: 'working',
    createdAt: now,
    lastUpdatedAt: now,
    ttlMs: 1000,
    pollIntervalMs: 100,
    toolName: 'chat',
    sessionIds: [],
    ...patch,
  };
}

export function taskStoreContract(name: string, make: StoreFactory): void {
  describe(`${name}: the TaskStore contract`, () => {
    it('serves a record until its TTL, then forgets it', async () => {
      let now = 0;
      const store = await make({ now: () => now });
      await store.create(record('a', now));
      now = 999;
      expect(await store.get('a')).toBeDefined();
      now = 1000;
      expect(await store.get('a')).toBeUndefined();
      expect(await store.update('a', { status: 'completed' })).toBeUndefined();
    });

    it('sweep drops expired records and names them', async () => {
      let now = 0;
      const store = await make({ now: () => now });
      await store.create(record('a', now, { ttlMs: 10 }));
      await store.create(record('b', now, { ttlMs: 100 }));
      now = 50;
      expect(await store.sweep()).toEqual(['a']);
      expect(await store.get('a')).toBeUndefined();
      expect(await store.get('b')).toBeDefined();
    });

    it('names at the next sweep an expired record that a read or a create dropped first', async () => {
      // The task manager cancels the call behind each id sweep names: one dropped unnamed kept running.
      let now = 0;
      const store = await make({ now: () => now });
      await store.create(record('a', now, { ttlMs: 10 }));
      await store.create(record('b', now, { ttlMs: 10 }));
      now = 50;
      expect(await store.get('a')).toBeUndefined();
      await store.create(record('c', now, { ttlMs: 100 }));
      expect([...(await store.sweep())].sort()).toEqual(['a', 'b']);
      expect(await store.sweep()).toEqual([]);
      expect(await store.get('c')).toBeDefined();
    });

    it('keeps a terminal status final but lets a missing result be set once', async () => {
      let now = 0;
      const store = await make({ now: () => now });
      const seen: string[] = [];
      store.subscribe((r) => seen.push(r.status));
      await store.create(record('a', now));
      now = 5;
      await store.update('a', { status: 'cancelled', statusMessage: 'cancelled by tasks/cancel' });
      const after = await store.update('a', {
        status: 'completed',
        statusMessage: 'done',
        result: { content: [] },
      });
      expect(after).toMatchObject({
        status: 'cancelled',
        statusMessage: 'cancelled by tasks/cancel',
        lastUpdatedAt: 5,
      });
      expect(after?.result).toEqual({ content: [] });
      const again = await store.update('a', { result: { content: [{ type: 'text', text: 'late' }] } });
      expect(again?.result).toEqual({ content: [] });
      expect(await store.get('a')).toEqual(after);
      expect(seen).toEqual(['working', 'cancelled', 'cancelled']);
    });

    it('makes room by dropping the oldest finished task, and refuses when all are unfinished', async () => {
      const store = await make({ maxTasks: 2, now: () => 0 });
      expect(await store.create(record('a', 0, { status: 'completed' }))).toBe(true);
      expect(await store.create(record('b', 0))).toBe(true);
      expect(await store.create(record('c', 0))).toBe(true);
      expect(await store.get('a')).toBeUndefined();
      expect(await store.create(record('d', 0))).toBe(false);
    });

    it('lists by owner in pages with opaque cursors', async () => {
      const store = await make({ now: () => 0 });
      for (const id of ['a', 'b', 'c']) await store.create(record(id, 0, { owner: 's1' }));
      await store.create(record('x', 0, { owner: 's2' }));
      const first = await store.list({ owner: 's1', limit: 2 });
      expect(first.tasks.map((t) => t.taskId)).toEqual(['a', 'b']);
      const second = await store.list({ owner: 's1', limit: 2, cursor: first.nextCursor! });
      expect(second.tasks.map((t) => t.taskId)).toEqual(['c']);
      expect(second.nextCursor).toBeUndefined();
      // No owner: every record, as an admin lists them.
      expect((await store.list({ limit: 10 })).tasks.map((t) => t.taskId)).toEqual(['a', 'b', 'c', 'x']);
      await expect(store.list({ limit: 2, cursor: 'nope' })).rejects.toBeInstanceOf(InvalidCursorError);
    });
  });
}
