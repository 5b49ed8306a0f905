/**
 * The in-memory task store and the status mapping, on a hand-driven clock.
 */
import { describe, expect, it } from 'vitest';
import { runtimeError } from '../../../src/core/errors.js';
import { toolErrorInfo } from '../../../src/mcp/errors.js';
import { MemoryTaskStore } from '../../../src/mcp/tasks/memory-task-store.js';
import { finalStatus, workingMessage } from '../../../src/mcp/tasks/task-status.js';
import { InvalidCursorError, type TaskRecord } from '../../../src/mcp/tasks/task-store.js';
import { errorOutcome } from '../../../src/mcp/tool.js';

function record(taskId: string, now: number, patch: Partial<TaskRecord> = {}): TaskRecord {
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

describe('MemoryTaskStore', () => {
  it('serves a record until its TTL, then forgets it', async () => {
    let now = 0;
    const store = new MemoryTaskStore({ now: () => now });
    await store.create(record('a', now));
    now = 999;
    expect(await store.get('a')).toBeDefined();
    now = 1000;
    expect(await store.get('a')).toBeUndefined();
    expect(await store.update('a', { status: 'completed' })).toBeUndefined();
  });

  it('sweep drops expired records and names them', async () => {
    let now = 0;
    const store = new MemoryTaskStore({ now: () => now });
    await store.create(record('a', now, { ttlMs: 10 }));
    await store.create(record('b', now, { ttlMs: 100 }));
    now = 50;
    expect(await store.sweep()).toEqual(['a']);
    expect(store.size).toBe(1);
  });

  it('keeps a terminal status final but lets a missing result be set once', async () => {
    let now = 0;
    const store = new MemoryTaskStore({ now: () => now });
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
    expect(seen).toEqual(['working', 'cancelled', 'cancelled']);
  });

  it('makes room by dropping the oldest finished task, and refuses when all are unfinished', async () => {
    const store = new MemoryTaskStore({ maxTasks: 2, now: () => 0 });
    expect(await store.create(record('a', 0, { status: 'completed' }))).toBe(true);
    expect(await store.create(record('b', 0))).toBe(true);
    expect(await store.create(record('c', 0))).toBe(true);
    expect(await store.get('a')).toBeUndefined();
    expect(await store.create(record('d', 0))).toBe(false);
  });

  it('lists by owner in pages with opaque cursors', async () => {
    const store = new MemoryTaskStore({ now: () => 0 });
    for (const id of ['a', 'b', 'c']) await store.create(record(id, 0, { owner: 's1' }));
    await store.create(record('x', 0, { owner: 's2' }));
    const first = await store.list({ owner: 's1', limit: 2 });
    expect(first.tasks.map((t) => t.taskId)).toEqual(['a', 'b']);
    const second = await store.list({ owner: 's1', limit: 2, cursor: first.nextCursor! });
    expect(second.tasks.map((t) => t.taskId)).toEqual(['c']);
    expect(second.nextCursor).toBeUndefined();
    await expect(store.list({ limit: 2, cursor: 'nope' })).rejects.toBeInstanceOf(InvalidCursorError);
  });
});

describe('task status from session state', () => {
  const fail = (code: 'TIMED_OUT' | 'CANCELLED' | 'QUEUE_FULL') =>
    errorOutcome(toolErrorInfo(runtimeError(code, 'x').toData()));

  it('maps done to completed, failed and timed out to failed, cancelled to cancelled', () => {
    expect(finalStatus({ structured: { ok: true }, text: '' }).status).toBe('completed');
    expect(finalStatus(fail('TIMED_OUT'))).toEqual({ status: 'failed', statusMessage: 'TIMED_OUT: x' });
    expect(finalStatus(fail('QUEUE_FULL')).status).toBe('failed');
    expect(finalStatus(fail('CANCELLED')).status).toBe('cancelled');
  });

  it('describes working tasks from their live sessions', () => {
    const base = { provider: 'p', since: 0 };
    expect(workingMessage([undefined])).toBeUndefined();
    expect(
      workingMessage([
        { ...base, sessionId: 'a', state: 'queued', position: 2 },
        { ...base, sessionId: 'b', state: 'running', chars: 40 },
      ]),
    ).toBe('queued, position 2; running, 40 chars so far');
  });
});
