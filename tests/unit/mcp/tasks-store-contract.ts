/**
 * What every `TaskStore` must do, on a hand-driven clock: run by `tasks-store.test.ts` against the
 * in-memory store and by `tasks-store-redis.test.ts` against the Redis one.
 */
import { describe, expect, it } from 'vitest';
import { TaskLimitError } from '../../../src/ports/task-bounds.js';
import { InvalidCursorError, type TaskRecord, type TaskStore } from '../../../src/ports/task-store.js';

export interface StoreFactoryOptions {
  readonly now: () => number;
  readonly maxTasks?: number;
  readonly maxTasksPerOwner?: number;
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
      // No owner: exempt from the per-owner bound (1 here), bounded by the store's.
      let now = 0;
      const store = await make({ maxTasks: 2, now: () => now });
      await store.create(record('a', 0, { status: 'completed' }));
      await store.create(record('b', 0));
      await store.create(record('c', 0));
      expect(await store.get('a')).toBeUndefined();
      const refused = await store.create(record('d', 0)).catch((error: unknown) => error);
      expect(refused).toBeInstanceOf(TaskLimitError);
      expect(refused).toMatchObject({
        bound: 'store',
        message:
          'Expected at most 2 tasks held by the server, got 2 unfinished: wait for one to finish or cancel one',
      });
      expect(await store.get('d')).toBeUndefined();
      expect((await store.list({ limit: 10 })).tasks.map((t) => t.taskId)).toEqual(['b', 'c']);
      // What made room is gone, not expired: no sweep names it.
      now = 5000;
      expect([...(await store.sweep())].sort()).toEqual(['b', 'c']);
    });

    it("keeps B's finished unread result through a burst of A's tasks", async () => {
      const store = await make({ maxTasks: 4, maxTasksPerOwner: 2, now: () => 0 });
      await store.create(record('b1', 0, { owner: 'B' }));
      await store.update('b1', { status: 'completed', result: { content: [] } });
      for (let i = 1; i <= 10; i++) {
        await store.create(record(`a${i}`, 0, { owner: 'A' }));
        await store.update(`a${i}`, { status: 'completed', result: { content: [] } });
      }
      expect(await store.get('b1')).toMatchObject({ status: 'completed', result: { content: [] } });
      // A past its bound made room with its own oldest finished tasks.
      expect((await store.list({ owner: 'A', limit: 10 })).tasks.map((t) => t.taskId)).toEqual(['a9', 'a10']);
    });

    it("past its bound, an owner's own oldest finished task makes room: not its unfinished, not another's", async () => {
      const store = await make({ maxTasks: 10, maxTasksPerOwner: 3, now: () => 0 });
      await store.create(record('b1', 0, { owner: 'B', status: 'completed' }));
      await store.create(record('a1', 0, { owner: 'A' }));
      await store.create(record('a2', 0, { owner: 'A', status: 'completed' }));
      await store.create(record('a3', 0, { owner: 'A', status: 'failed' }));
      await store.create(record('a4', 0, { owner: 'A' }));
      expect((await store.list({ limit: 10 })).tasks.map((t) => t.taskId)).toEqual(['b1', 'a1', 'a3', 'a4']);
      await store.create(record('a5', 0, { owner: 'A' }));
      expect((await store.list({ limit: 10 })).tasks.map((t) => t.taskId)).toEqual(['b1', 'a1', 'a4', 'a5']);
    });

    it('refuses only the owner full of unfinished tasks, losing nothing; another owner still creates', async () => {
      const store = await make({ maxTasks: 10, maxTasksPerOwner: 2, now: () => 0 });
      await store.create(record('a1', 0, { owner: 'A' }));
      await store.create(record('a2', 0, { owner: 'A' }));
      const refused = await store.create(record('a3', 0, { owner: 'A' })).catch((error: unknown) => error);
      expect(refused).toBeInstanceOf(TaskLimitError);
      expect(refused).toMatchObject({
        bound: 'owner',
        limit: 2,
        message:
          'Expected at most 2 tasks held by one caller, got 2 unfinished: wait for one to finish or cancel one',
      });
      await store.create(record('b1', 0, { owner: 'B' }));
      expect((await store.list({ limit: 10 })).tasks.map((t) => t.taskId)).toEqual(['a1', 'a2', 'b1']);
      // Once one of A's finishes, it makes room for A's next.
      await store.update('a2', { status: 'cancelled' });
      await store.create(record('a3', 0, { owner: 'A' }));
      expect((await store.list({ owner: 'A', limit: 10 })).tasks.map((t) => t.taskId)).toEqual(['a1', 'a3']);
    });

    it('when full, drops the oldest finished task of the largest holder that has one', async () => {
      const store = await make({ maxTasks: 6, maxTasksPerOwner: 3, now: () => 0 });
      // C's finished task is the oldest of all; A holds the most, none finished; B is next.
      await store.create(record('c1', 0, { owner: 'C', status: 'completed' }));
      await store.create(record('a1', 0, { owner: 'A' }));
      await store.create(record('b1', 0, { owner: 'B' }));
      await store.create(record('b2', 0, { owner: 'B', status: 'completed' }));
      await store.create(record('a2', 0, { owner: 'A' }));
      await store.create(record('a3', 0, { owner: 'A' }));
      await store.create(record('d1', 0, { owner: 'D' }));
      expect((await store.list({ limit: 10 })).tasks.map((t) => t.taskId)).toEqual([
        'c1',
        'a1',
        'b1',
        'a2',
        'a3',
        'd1',
      ]);
      // A finishes one: now the largest holder with a finished task, it gives up that one.
      await store.update('a2', { status: 'completed' });
      await store.create(record('d2', 0, { owner: 'D' }));
      expect((await store.list({ limit: 10 })).tasks.map((t) => t.taskId)).toEqual([
        'c1',
        'a1',
        'b1',
        'a3',
        'd1',
        'd2',
      ]);
    });

    it('when full, breaks a tie between the largest holders by the oldest finished task', async () => {
      // Both ways round: the holder with the oldest finished task is named first, then last.
      for (const [older, newer] of [
        ['A', 'B'],
        ['B', 'A'],
      ] as const) {
        const store = await make({ maxTasks: 5, maxTasksPerOwner: 5, now: () => 0 });
        await store.create(record('o1', 0, { owner: older, status: 'completed' }));
        await store.create(record('n1', 0, { owner: newer, status: 'completed' }));
        await store.create(record('o2', 0, { owner: older }));
        await store.create(record('n2', 0, { owner: newer }));
        await store.create(record('c1', 0, { owner: 'C', status: 'completed' }));
        await store.create(record('c2', 0, { owner: 'C' }));
        expect((await store.list({ limit: 10 })).tasks.map((t) => t.taskId)).toEqual([
          'n1',
          'o2',
          'n2',
          'c1',
          'c2',
        ]);
      }
    });

    it('counts tasks without an owner as one holder, exempt from the per-owner bound', async () => {
      const store = await make({ maxTasks: 4, maxTasksPerOwner: 1, now: () => 0 });
      await store.create(record('x1', 0, { status: 'completed' }));
      await store.create(record('x2', 0, { status: 'completed' }));
      await store.create(record('x3', 0));
      await store.create(record('a1', 0, { owner: 'A', status: 'completed' }));
      // Full: the owner-less tasks are the largest holder, so their oldest finished one goes.
      await store.create(record('b1', 0, { owner: 'B' }));
      expect((await store.list({ limit: 10 })).tasks.map((t) => t.taskId)).toEqual(['x2', 'x3', 'a1', 'b1']);
    });

    it("frees an owner's share when its tasks expire", async () => {
      let now = 0;
      const store = await make({ maxTasks: 10, maxTasksPerOwner: 1, now: () => now });
      await store.create(record('a1', now, { owner: 'A', ttlMs: 10 }));
      await expect(store.create(record('a2', now, { owner: 'A' }))).rejects.toMatchObject({ bound: 'owner' });
      now = 50;
      await store.create(record('a2', now, { owner: 'A', ttlMs: 10 }));
      now = 100;
      expect(await store.sweep()).toEqual(['a1', 'a2']);
      await store.create(record('a3', now, { owner: 'A' }));
      expect((await store.list({ limit: 10 })).tasks.map((t) => t.taskId)).toEqual(['a3']);
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
