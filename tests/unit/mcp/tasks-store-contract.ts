/**
 * What every `TaskStore` must do, on a hand-driven clock: run by `tasks-store.test.ts` against the
 * in-memory store and by `tasks-store-redis.test.ts` against the Redis one.
 */
import { describe, expect, it } from 'vitest';
import { resultBytes, TaskLimitError, TaskResultSizeError } from '../../../src/ports/task-bounds.js';
import { InvalidCursorError, type TaskRecord, type TaskStore } from '../../../src/ports/task-store.js';

export interface StoreFactoryOptions {
  readonly now: () => number;
  readonly maxTasks?: number;
  readonly maxTasksPerOwner?: number;
  readonly maxResultBytes?: number;
  readonly maxResultBytesPerOwner?: number;
}

/** A result of `size` bytes of JSON, as a tool call's answer. */
export function answer(size: number): { content: { type: 'text'; text: string }[] } {
  const empty = resultBytes({ content: [{ type: 'text', text: '' }] });
  return { content: [{ type: 'text', text: 'x'.repeat(size - empty) }] };
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

    it('lists a record until its TTL, then leaves it out, before any read or sweep drops it', async () => {
      let now = 0;
      const store = await make({ now: () => now });
      await store.create(record('a', now, { ttlMs: 1000 }));
      await store.create(record('b', now, { ttlMs: 2000 }));
      now = 999;
      expect((await store.list({ limit: 10 })).tasks.map((t) => t.taskId)).toEqual(['a', 'b']);
      now = 1000;
      expect((await store.list({ limit: 10 })).tasks.map((t) => t.taskId)).toEqual(['b']);
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

    it("keeps an owner's results within its bytes: its own oldest result makes room, not its unfinished, not another's", async () => {
      const store = await make({ maxResultBytes: 10_000, maxResultBytesPerOwner: 2_000, now: () => 0 });
      expect(resultBytes(answer(1_000))).toBe(1_000);
      for (const id of ['a0', 'b1', 'a1', 'a2', 'a3', 'a4']) {
        await store.create(record(id, 0, { owner: id.startsWith('a') ? 'A' : 'B' }));
      }
      // A finished task without a result holds no bytes and is no victim, however old.
      await store.update('a0', { status: 'cancelled' });
      await store.update('b1', { status: 'completed', result: answer(1_000) });
      await store.update('a1', { status: 'completed', result: answer(900) });
      await store.update('a2', { status: 'failed', result: answer(1_000) });
      // 1,900 kept for A: a 200-byte result makes a1 go (its oldest), and a 1,000-byte one a2.
      await store.update('a4', { status: 'completed', result: answer(200) });
      expect((await store.list({ limit: 10 })).tasks.map((t) => t.taskId)).toEqual([
        'a0',
        'b1',
        'a2',
        'a3',
        'a4',
      ]);
      await store.update('a3', { status: 'completed', result: answer(1_000) });
      expect((await store.list({ limit: 10 })).tasks.map((t) => t.taskId)).toEqual(['a0', 'b1', 'a3', 'a4']);
      expect(await store.get('a4')).toMatchObject({ status: 'completed', result: answer(200) });
      expect(await store.get('b1')).toMatchObject({ status: 'completed', result: answer(1_000) });
    });

    it('past the whole bound, the oldest result of the holder keeping the most bytes goes; a tie, the oldest', async () => {
      const store = await make({ maxResultBytes: 3_000, maxResultBytesPerOwner: 3_000, now: () => 0 });
      for (const id of ['b1', 'a1', 'a2', 'c1', 'c2']) {
        await store.create(record(id, 0, { owner: id[0]!.toUpperCase() }));
      }
      await store.update('b1', { status: 'completed', result: answer(1_000) });
      await store.update('a1', { status: 'completed', result: answer(800) });
      await store.update('a2', { status: 'completed', result: answer(800) });
      // 2,600 kept, A keeping the most: C's 1,000 bytes take A's oldest (a1), not B's older b1.
      await store.update('c1', { status: 'completed', result: answer(1_000) });
      expect((await store.list({ limit: 10 })).tasks.map((t) => t.taskId)).toEqual(['b1', 'a2', 'c1', 'c2']);
      // 2,800 kept, B and C tied at 1,000: the older of their oldest results (b1) goes.
      await store.update('c2', { status: 'completed', result: answer(300) });
      expect((await store.list({ limit: 10 })).tasks.map((t) => t.taskId)).toEqual(['a2', 'c1', 'c2']);
    });

    it('refuses a result larger than its holder may keep, dropping nothing and changing nothing', async () => {
      const store = await make({ maxResultBytes: 5_000, maxResultBytesPerOwner: 1_000, now: () => 0 });
      await store.create(record('a1', 0, { owner: 'A' }));
      await store.create(record('a2', 0, { owner: 'A' }));
      await store.update('a1', { status: 'completed', result: answer(1_000) });
      const refused = await store
        .update('a2', { status: 'completed', result: answer(1_001) })
        .catch((error: unknown) => error);
      expect(refused).toBeInstanceOf(TaskResultSizeError);
      expect(refused).toMatchObject({
        option: 'maxResultBytesPerOwner',
        message: 'Expected a task result of at most 1000 bytes (maxResultBytesPerOwner), got 1001 bytes',
      });
      expect(await store.get('a1')).toMatchObject({ status: 'completed', result: answer(1_000) });
      const a2 = await store.get('a2');
      expect(a2?.status).toBe('working');
      expect(a2?.result).toBeUndefined();
      // Without an owner only the whole bound holds: 1,001 bytes kept, 5,001 refused.
      await store.create(record('x1', 0));
      await store.create(record('x2', 0));
      await store.update('x1', { status: 'completed', result: answer(1_001) });
      await expect(store.update('x2', { status: 'completed', result: answer(5_001) })).rejects.toMatchObject({
        option: 'maxResultBytes',
        limit: 5_000,
      });
      expect((await store.list({ limit: 10 })).tasks.map((t) => t.taskId)).toEqual(['a1', 'a2', 'x1', 'x2']);
    });

    it("gives an owner's result bytes back when its tasks expire or make room for new ones", async () => {
      let now = 0;
      const store = await make({
        maxTasks: 10,
        maxTasksPerOwner: 2,
        maxResultBytesPerOwner: 1_500,
        now: () => now,
      });
      await store.create(record('a1', now, { owner: 'A', ttlMs: 10 }));
      await store.update('a1', { status: 'completed', result: answer(1_000) });
      now = 50;
      expect(await store.sweep()).toEqual(['a1']);
      await store.create(record('a2', now, { owner: 'A' }));
      await store.create(record('a3', now, { owner: 'A' }));
      await store.update('a2', { status: 'completed', result: answer(1_000) });
      // a2 made room by count (a4's create) and took its bytes along: a3's result drops nothing.
      await store.create(record('a4', now, { owner: 'A' }));
      await store.update('a3', { status: 'completed', result: answer(1_000) });
      expect((await store.list({ owner: 'A', limit: 10 })).tasks.map((t) => t.taskId)).toEqual(['a3', 'a4']);
    });

    it('when full, breaks a tie by the oldest finished task even when that holder came second', async () => {
      // A holds the first record but the newer finished one: B's b1 goes, not A's a2.
      const store = await make({ maxTasks: 5, maxTasksPerOwner: 5, now: () => 0 });
      await store.create(record('a1', 0, { owner: 'A' }));
      await store.create(record('b1', 0, { owner: 'B', status: 'completed' }));
      await store.create(record('a2', 0, { owner: 'A', status: 'completed' }));
      await store.create(record('b2', 0, { owner: 'B' }));
      await store.create(record('c1', 0, { owner: 'C' }));
      await store.create(record('d1', 0, { owner: 'D' }));
      expect((await store.list({ limit: 10 })).tasks.map((t) => t.taskId)).toEqual([
        'a1',
        'a2',
        'b2',
        'c1',
        'd1',
      ]);
    });

    it('breaks a tie in result bytes by the oldest result even when that holder kept bytes second', async () => {
      const store = await make({ maxResultBytes: 2_500, maxResultBytesPerOwner: 2_500, now: () => 0 });
      for (const id of ['c1', 'b1', 'd1']) await store.create(record(id, 0, { owner: id[0]!.toUpperCase() }));
      await store.update('b1', { status: 'completed', result: answer(1_000) });
      await store.update('c1', { status: 'completed', result: answer(1_000) });
      // B and C tied at 1,000; C's c1 is the older task, though B kept bytes first.
      await store.update('d1', { status: 'completed', result: answer(1_000) });
      expect((await store.list({ limit: 10 })).tasks.map((t) => t.taskId)).toEqual(['b1', 'd1']);
    });

    it('keeps results up to each bound exactly, and an owner-less result past the whole bound makes room', async () => {
      const bounded = await make({ maxResultBytes: 3_000, maxResultBytesPerOwner: 2_000, now: () => 0 });
      for (const id of ['a1', 'a2', 'b1', 'x1', 'x2']) {
        await bounded.create(record(id, 0, id.startsWith('x') ? {} : { owner: id[0]!.toUpperCase() }));
      }
      await bounded.update('a1', { status: 'completed', result: answer(1_000) });
      await bounded.update('a2', { status: 'completed', result: answer(1_000) });
      await bounded.update('b1', { status: 'completed', result: answer(1_000) });
      // A at its 2,000 exactly and the store at its 3,000 exactly: nothing went.
      expect((await bounded.list({ limit: 10 })).tasks.map((t) => t.taskId)).toEqual([
        'a1',
        'a2',
        'b1',
        'x1',
        'x2',
      ]);
      // Owner-less, 1,500: past no share of its own, but past the whole bound: A's a1 goes (A keeps
      // the most), then a2 (A and B tied at 1,000, a2 the older).
      await bounded.update('x1', { status: 'completed', result: answer(1_500) });
      expect((await bounded.list({ limit: 10 })).tasks.map((t) => t.taskId)).toEqual(['b1', 'x1', 'x2']);
      // Owner-less, 2,100: over an owner's share, which it has none of, and past the whole bound:
      // the owner-less x1 goes (the most kept), then B's b1.
      await bounded.update('x2', { status: 'completed', result: answer(2_100) });
      expect((await bounded.list({ limit: 10 })).tasks.map((t) => t.taskId)).toEqual(['x2']);
      // One owner-less result of the whole bound exactly is kept.
      const whole = await make({ maxResultBytes: 1_000, now: () => 0 });
      await whole.create(record('y1', 0));
      await whole.update('y1', { status: 'completed', result: answer(1_000) });
      expect(await whole.get('y1')).toMatchObject({ result: answer(1_000) });
    });

    it('counts a result once, however often its record changes after it is kept', async () => {
      const store = await make({ maxResultBytesPerOwner: 2_000, now: () => 0 });
      await store.create(record('a1', 0, { owner: 'A' }));
      await store.create(record('a2', 0, { owner: 'A' }));
      await store.update('a1', { status: 'completed', result: answer(1_000) });
      // The session ids can still arrive after the end (the task manager writes them as they come).
      await store.update('a1', { sessionIds: ['s1'] });
      await store.update('a1', { sessionIds: ['s1', 's2'] });
      await store.update('a2', { status: 'completed', result: answer(1_000) });
      expect((await store.list({ limit: 10 })).tasks.map((t) => t.taskId)).toEqual(['a1', 'a2']);
    });

    it('keeps a task’s refused models in its record; a list shorter than the one held (a write overtaken) leaves it', async () => {
      let now = 0;
      const store = await make({ now: () => now });
      await store.create(record('a', 0, { owner: 'A' }));
      const first = { who: 'slow/no-such-model', code: 'MODEL_NOT_FOUND', at: 1 };
      const second = { who: 'slow/other', code: 'QUEUE_FULL', at: 2 };
      now = 5;
      await store.update('a', { sessionIds: ['s1', 's2'], refused: [first, second] });
      now = 9;
      expect(await store.update('a', { sessionIds: ['s1'], refused: [first] })).toMatchObject({
        sessionIds: ['s1', 's2'],
        refused: [first, second],
        lastUpdatedAt: 5,
      });
      await store.update('a', { status: 'completed', statusMessage: 'done' });
      expect(await store.get('a')).toMatchObject({
        status: 'completed',
        sessionIds: ['s1', 's2'],
        refused: [first, second],
      });
      expect((await store.list({ owner: 'A', limit: 10 })).tasks[0]?.refused).toEqual([first, second]);
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
      // A page of three continues after its last, not its second.
      const three = await store.list({ limit: 3 });
      expect(three.tasks.map((t) => t.taskId)).toEqual(['a', 'b', 'c']);
      const rest = await store.list({ limit: 3, cursor: three.nextCursor! });
      expect(rest.tasks.map((t) => t.taskId)).toEqual(['x']);
      expect(rest.nextCursor).toBeUndefined();
      await expect(store.list({ limit: 2, cursor: 'nope' })).rejects.toBeInstanceOf(InvalidCursorError);
    });

    it('gives a caller cursors that say nothing of other callers’ tasks, and refuses one it did not get', async () => {
      // The same page of s1's, once alone and once with s2's tasks made between s1's: a plain
      // store-wide position counted s2's (an audit). A sealed one is one length at any place, and
      // new each time it is given, though it marks the same place.
      const cursors: string[] = [];
      for (const others of [0, 40]) {
        const store = await make({ now: () => 0 });
        for (const id of ['a', 'b', 'c']) {
          await store.create(record(id, 0, { owner: 's1' }));
          for (let i = 0; i < others; i++) await store.create(record(`${id}-other-${i}`, 0, { owner: 's2' }));
        }
        const first = await store.list({ owner: 's1', limit: 2 });
        const again = await store.list({ owner: 's1', limit: 2 });
        expect(again.nextCursor).not.toBe(first.nextCursor);
        cursors.push(first.nextCursor!);
        for (const cursor of [first.nextCursor!, again.nextCursor!])
          expect((await store.list({ owner: 's1', limit: 2, cursor })).tasks.map((t) => t.taskId)).toEqual([
            'c',
          ]);
        // Another caller's cursor, or one made up as a position, is refused, not read as a place.
        const theirs = (await store.list({ owner: 's2', limit: 1 })).nextCursor;
        if (theirs !== undefined)
          await expect(store.list({ owner: 's1', limit: 2, cursor: theirs })).rejects.toBeInstanceOf(
            InvalidCursorError,
          );
        // s1's cursor is s1's listing's: not another caller's, nor an admin's (every owner's).
        for (const owner of ['s2', undefined])
          await expect(
            store.list({ ...(owner === undefined ? {} : { owner }), limit: 2, cursor: first.nextCursor! }),
          ).rejects.toBeInstanceOf(InvalidCursorError);
        for (const made of ['t1', 'r1', 't50', 'r50', 'ta', 'rb'])
          await expect(
            store.list({ owner: 's1', limit: 2, cursor: Buffer.from(made).toString('base64url') }),
          ).rejects.toBeInstanceOf(InvalidCursorError);
      }
      expect(cursors[0]!.length).toBe(cursors[1]!.length);
    });

    it('keeps an admin’s cursor from a caller whose name reads like no owner', async () => {
      // Every owner's listing is named apart from any one owner's: a caller named "undefined" (or
      // "*") is a caller, and an admin's cursor is not its.
      const store = await make({ now: () => 0 });
      for (const id of ['a', 'b', 'c']) await store.create(record(id, 0, { owner: 'undefined' }));
      const admins = (await store.list({ limit: 1 })).nextCursor!;
      for (const owner of ['undefined', '*'])
        await expect(store.list({ owner, limit: 1, cursor: admins })).rejects.toBeInstanceOf(
          InvalidCursorError,
        );
      const callers = (await store.list({ owner: 'undefined', limit: 1 })).nextCursor!;
      await expect(store.list({ limit: 1, cursor: callers })).rejects.toBeInstanceOf(InvalidCursorError);
    });

    it('refuses a cursor changed in any byte, or cut short, saying to list again from the start', async () => {
      const store = await make({ now: () => 0 });
      for (const id of ['a', 'b', 'c']) await store.create(record(id, 0, { owner: 's1' }));
      const cursor = (await store.list({ owner: 's1', limit: 1 })).nextCursor!;
      const bytes = Buffer.from(cursor, 'base64url');
      const changed = [bytes.subarray(0, -1), Buffer.concat([bytes, Buffer.from([0])])];
      for (let i = 0; i < bytes.length; i++) {
        const one = Buffer.from(bytes);
        one[i] = one[i]! ^ 1;
        changed.push(one);
      }
      for (const made of changed) {
        const refused = store.list({ owner: 's1', limit: 1, cursor: made.toString('base64url') });
        await expect(refused).rejects.toBeInstanceOf(InvalidCursorError);
        await expect(refused).rejects.toThrow(/returned to this caller, .*list again without a cursor/);
      }
      await expect(store.list({ owner: 's1', limit: 1, cursor: '' })).rejects.toBeInstanceOf(
        InvalidCursorError,
      );
    });

    it('goes on after a cursor whose task has gone since its page, skipping and repeating none', async () => {
      // Until 2026-12-05 the cursor named the page's last task, and once that task made room for
      // another (or expired) it was refused: a client paging its tasks had to start over.
      let now = 0;
      const store = await make({ maxTasksPerOwner: 4, now: () => now });
      for (const id of ['a', 'b', 'c']) {
        await store.create(record(id, now, { owner: 's1', ttlMs: 10_000 }));
        await store.update(id, { status: 'completed' });
      }
      await store.create(record('d', now, { owner: 's1', ttlMs: 50 }));
      const first = await store.list({ owner: 's1', limit: 2 });
      expect(first.tasks.map((t) => t.taskId)).toEqual(['a', 'b']);
      // Two more of s1's: each makes room by dropping s1's oldest finished task, a then b, the
      // cursor's own; another caller's between them changes nothing.
      await store.create(record('e', now, { owner: 's1', ttlMs: 10_000 }));
      await store.create(record('x', now, { owner: 's2', ttlMs: 10_000 }));
      await store.create(record('f', now, { owner: 's1', ttlMs: 10_000 }));
      expect(await store.get('b')).toBeUndefined();
      const second = await store.list({ owner: 's1', limit: 2, cursor: first.nextCursor! });
      expect(second.tasks.map((t) => t.taskId)).toEqual(['c', 'd']);
      // Its last task expires, and is swept: the third page goes on after it all the same.
      now = 50;
      expect(await store.sweep()).toEqual(['d']);
      const third = await store.list({ owner: 's1', limit: 5, cursor: second.nextCursor! });
      expect(third.tasks.map((t) => t.taskId)).toEqual(['e', 'f']);
      expect(third.nextCursor).toBeUndefined();
      // The whole listing again, a task a page: each live task once, in order.
      const seen: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await store.list({ owner: 's1', limit: 1, ...(cursor === undefined ? {} : { cursor }) });
        seen.push(...page.tasks.map((t) => t.taskId));
        cursor = page.nextCursor;
      } while (cursor !== undefined);
      expect(seen).toEqual(['c', 'e', 'f']);
    });
  });
}
