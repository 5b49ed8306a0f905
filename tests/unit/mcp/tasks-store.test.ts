/**
 * The in-memory task store (the shared store contract, and its own size) and the status mapping.
 */
import { describe, expect, it } from 'vitest';
import { runtimeError } from '../../../src/core/errors.js';
import { toolErrorInfo } from '../../../src/mcp/errors.js';
import { MemoryTaskStore } from '../../../src/mcp/tasks/memory-task-store.js';
import { TaskManager } from '../../../src/mcp/tasks/task-manager.js';
import { finalStatus, workingMessage } from '../../../src/mcp/tasks/task-status.js';
import { errorOutcome } from '../../../src/mcp/tool.js';
import { taskBounds } from '../../../src/ports/task-bounds.js';
import type { SessionState, SessionSummary } from '../../../src/runtime/types.js';
import { answer, record, taskStoreContract } from './tasks-store-contract.js';

taskStoreContract('MemoryTaskStore', async (options) => new MemoryTaskStore(options));

describe('MemoryTaskStore', () => {
  it('tells a subscriber every change until it unsubscribes', async () => {
    const store = new MemoryTaskStore({ now: () => 0 });
    const seen: string[] = [];
    const unsubscribe = store.subscribe((r) => seen.push(`${r.taskId}:${r.status}`));
    await store.create(record('a', 0));
    await store.update('a', { status: 'completed' });
    unsubscribe();
    await store.create(record('b', 0));
    expect(seen).toEqual(['a:working', 'a:completed']);
  });

  it('names its errors', async () => {
    const store = new MemoryTaskStore({ maxTasks: 1, maxResultBytes: 10, now: () => 0 });
    await store.create(record('a', 0));
    await expect(store.create(record('b', 0))).rejects.toMatchObject({ name: 'TaskLimitError' });
    await expect(store.update('a', { status: 'completed', result: answer(100) })).rejects.toMatchObject({
      name: 'TaskResultSizeError',
      bytes: 100,
      limit: 10,
    });
  });

  it('sweep frees the room of expired records', async () => {
    let now = 0;
    const store = new MemoryTaskStore({ now: () => now });
    await store.create(record('a', now, { ttlMs: 10 }));
    await store.create(record('b', now, { ttlMs: 100 }));
    now = 50;
    expect(await store.sweep()).toEqual(['a']);
    expect(store.size).toBe(1);
  });
});

describe('task bounds', () => {
  it('defaults to 1000 tasks and 256 MiB of results, a quarter of each per owner, at least one', () => {
    const bytes = { maxResultBytes: 268_435_456, maxResultBytesPerOwner: 67_108_864 };
    expect(taskBounds({})).toEqual({ maxTasks: 1000, maxTasksPerOwner: 250, ...bytes });
    expect(taskBounds({ maxTasks: 10 })).toMatchObject({ maxTasks: 10, maxTasksPerOwner: 2 });
    expect(taskBounds({ maxTasks: 3 })).toMatchObject({ maxTasks: 3, maxTasksPerOwner: 1 });
    expect(taskBounds({ maxTasks: 3, maxTasksPerOwner: 3 })).toMatchObject({
      maxTasks: 3,
      maxTasksPerOwner: 3,
    });
    expect(taskBounds({ maxResultBytes: 10 })).toMatchObject({
      maxResultBytes: 10,
      maxResultBytesPerOwner: 2,
    });
    expect(taskBounds({ maxResultBytes: 3 })).toMatchObject({ maxResultBytesPerOwner: 1 });
    // 1 is a bound, the smallest.
    expect(taskBounds({ maxTasks: 1, maxResultBytes: 1 })).toEqual({
      maxTasks: 1,
      maxTasksPerOwner: 1,
      maxResultBytes: 1,
      maxResultBytesPerOwner: 1,
    });
    expect(taskBounds({ maxResultBytes: 3, maxResultBytesPerOwner: 3 })).toMatchObject({
      maxResultBytesPerOwner: 3,
    });
  });

  it('refuses byte bounds that are not whole numbers in range, naming the option', () => {
    for (const maxResultBytes of [0, -1, 1.5, Number.NaN]) {
      expect(() => taskBounds({ maxResultBytes })).toThrow(
        `Expected \`maxResultBytes\` to be a positive integer, got ${maxResultBytes}`,
      );
    }
    for (const maxResultBytesPerOwner of [0, 11, 2.5]) {
      expect(() => new MemoryTaskStore({ maxResultBytes: 10, maxResultBytesPerOwner })).toThrow(
        `Expected \`maxResultBytesPerOwner\` to be an integer from 1 to \`maxResultBytes\` (10), got ${maxResultBytesPerOwner}`,
      );
    }
  });

  it('refuses bounds that are not whole numbers in range, naming the option', () => {
    for (const maxTasks of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => taskBounds({ maxTasks })).toThrow(
        `Expected \`maxTasks\` to be a positive integer, got ${maxTasks}`,
      );
    }
    for (const maxTasksPerOwner of [0, 11, 2.5, Number.NaN]) {
      expect(() => new MemoryTaskStore({ maxTasks: 10, maxTasksPerOwner })).toThrow(
        `Expected \`maxTasksPerOwner\` to be an integer from 1 to \`maxTasks\` (10), got ${maxTasksPerOwner}`,
      );
    }
  });

  it('the task manager does not call a task cancelled that ended between its read and its write', async () => {
    const live = { get: () => undefined } as unknown as ConstructorParameters<typeof TaskManager>[0];
    const store = new MemoryTaskStore();
    const manager = new TaskManager(live, { store });
    try {
      const now = Date.now();
      await store.create(record('t1', now, { ttlMs: 60_000 }));
      const get = store.get.bind(store);
      // The call finishes as tasks/cancel reads the record: its write finds it completed.
      store.get = async (id) => {
        const read = await get(id);
        await store.update(id, { status: 'completed', statusMessage: 'done' });
        store.get = get;
        return read;
      };
      const outcome = await manager.cancel('t1');
      expect(outcome.kind).toBe('terminal');
      expect(outcome.kind === 'unknown' ? undefined : outcome.record.status).toBe('completed');
    } finally {
      manager.close();
    }
  });

  it("the task manager says a store's failing sweep once until a sweep succeeds, naming it", async () => {
    const live = { get: () => undefined } as unknown as ConstructorParameters<typeof TaskManager>[0];
    const store = new MemoryTaskStore();
    let away = true;
    const sweep = store.sweep.bind(store);
    store.sweep = () => (away ? Promise.reject(new Error("Stream isn't writeable")) : sweep());
    const errors: unknown[] = [];
    const manager = new TaskManager(live, { store, onError: (e) => errors.push(e) });
    try {
      for (let i = 0; i < 3; i++) await manager.sweep();
      expect(errors.map((e) => (e as Error).message)).toEqual([
        "Expected the store to sweep its expired tasks, got Stream isn't writeable; said once until a sweep succeeds",
      ]);
      away = false;
      await manager.sweep();
      away = true;
      await manager.sweep();
      expect(errors).toHaveLength(2);
    } finally {
      manager.close();
    }
  });

  it('the task manager passes its bounds to its own store, and refuses them beside a given store', async () => {
    const live = { get: () => undefined } as unknown as ConstructorParameters<typeof TaskManager>[0];
    const store = new MemoryTaskStore();
    expect(() => new TaskManager(live, { store, maxTasksPerOwner: 2 })).toThrow(
      'Expected `maxTasks`, `maxTasksPerOwner`, `maxResultBytes`, `maxResultBytesPerOwner` only without `store`, got `store` and `maxTasksPerOwner`: give them to the store itself',
    );
    expect(() => new TaskManager(live, { maxTasks: 4, maxTasksPerOwner: 5 })).toThrow(/maxTasksPerOwner/);
    const manager = new TaskManager(live, { maxTasks: 4, maxTasksPerOwner: 1 });
    const work = () => new Promise<never>(() => {});
    try {
      await manager.start({ toolName: 'chat', owner: 'A', work });
      await expect(manager.start({ toolName: 'chat', owner: 'A', work })).rejects.toThrow(
        'Expected at most 1 tasks held by one caller',
      );
      await manager.start({ toolName: 'chat', owner: 'B', work });
    } finally {
      manager.close();
    }
  });

  it('the task manager fails a task whose result is too large to keep, saying so; a smaller one is kept', async () => {
    const live = { get: () => undefined } as unknown as ConstructorParameters<typeof TaskManager>[0];
    const manager = new TaskManager(live, { maxResultBytes: 40_000, maxResultBytesPerOwner: 20_000 });
    const answering = (text: string) => async () => ({ structured: { ok: true, text }, text });
    try {
      const big = await manager.start({ toolName: 'chat', owner: 'A', work: answering('y'.repeat(12_000)) });
      const small = await manager.start({ toolName: 'chat', owner: 'A', work: answering('fits') });
      const [failed, kept] = await Promise.all(
        [big, small].map((t) => manager.waitForResult(t.taskId, AbortSignal.timeout(5_000), 'A')),
      );
      // 12,000 characters twice (text and structured content) and more: over A's 20,000 bytes.
      expect(failed?.status).toBe('failed');
      expect(failed?.statusMessage).toMatch(
        /^Expected a task result of at most 20000 bytes \(maxResultBytesPerOwner\), got 24\d{3} bytes: the answer was not kept; ask for a shorter one \(max_tokens\) or call the tool without a task$/,
      );
      expect(failed?.result).toMatchObject({
        isError: true,
        structuredContent: { ok: false, error: { code: 'INVALID_REQUEST' } },
      });
      expect(JSON.stringify(failed?.result)).not.toContain('yyyy');
      expect(kept).toMatchObject({
        status: 'completed',
        result: { structuredContent: { ok: true, text: 'fits' } },
      });
    } finally {
      manager.close();
    }
  });

  it('the task manager ends a refused task whatever its share: the metadata goes where it does not fit', async () => {
    const live = { get: () => undefined } as unknown as ConstructorParameters<typeof TaskManager>[0];
    const answer = 'y'.repeat(3_000);
    const work = async () => ({
      structured: { ok: true, text: answer, session: { sessionId: 's1', note: 'm'.repeat(2_500) } },
      text: answer,
    });
    for (const [share, kept] of [
      [2_000, 'bare error'],
      [60, 'empty'],
    ] as const) {
      const manager = new TaskManager(live, { maxResultBytes: 10_000, maxResultBytesPerOwner: share });
      try {
        const task = await manager.start({ toolName: 'chat', owner: 'A', work });
        const ended = await manager.waitForResult(task.taskId, AbortSignal.timeout(5_000), 'A');
        expect(ended?.status).toBe('failed');
        expect(ended?.statusMessage).toMatch(/^Expected a task result of at most \d+ bytes/);
        // Before: the error with the session's metadata did not fit either, and the task stayed working.
        const result = ended?.result as { isError?: boolean; structuredContent?: Record<string, unknown> };
        expect(result.isError).toBe(true);
        expect(JSON.stringify(result)).not.toContain('mmmm');
        if (kept === 'bare error')
          expect(result.structuredContent).toMatchObject({ ok: false, error: { code: 'INVALID_REQUEST' } });
        else expect(result).toEqual({ content: [], isError: true });
      } finally {
        manager.close();
      }
    }
  });

  it('the task manager grants at most maxTtlMs, whatever ttl a client asks for', () => {
    const live = { get: () => undefined } as unknown as ConstructorParameters<typeof TaskManager>[0];
    const manager = new TaskManager(live, { maxTtlMs: 60_000 });
    try {
      // Ten years asked: the record, and the result in it, are kept for the server's retention.
      expect(manager.grantedTtl(10 * 365 * 86_400_000)).toBe(60_000);
      expect(manager.grantedTtl(60_001)).toBe(60_000);
      expect(manager.grantedTtl(30_000)).toBe(30_000);
    } finally {
      manager.close();
    }
  });

  it('the task manager grants at least two poll intervals, so a client polling as told finds its task', () => {
    const live = { get: () => undefined } as unknown as ConstructorParameters<typeof TaskManager>[0];
    const manager = new TaskManager(live, { pollIntervalMs: 1000 });
    const tight = new TaskManager(live, { pollIntervalMs: 1000, maxTtlMs: 1500 });
    try {
      // `ttl: 60` meant as seconds: until 2026-12-07 the task was gone before its first poll.
      expect(manager.grantedTtl(60)).toBe(2000);
      expect(manager.grantedTtl(1)).toBe(2000);
      expect(manager.grantedTtl(1999)).toBe(2000);
      expect(manager.grantedTtl(2001)).toBe(2001);
      expect(manager.grantedTtl(0)).toBe(3_600_000);
      // The operator's ceiling wins over the floor.
      expect(tight.grantedTtl(60)).toBe(1500);
    } finally {
      manager.close();
      tight.close();
    }
  });

  it('the task manager aborts a task another instance cancelled before its session was known, once it records the session', async () => {
    const live = { get: () => undefined } as unknown as ConstructorParameters<typeof TaskManager>[0];
    const store = new MemoryTaskStore();
    const here = new TaskManager(live, { store });
    // Another instance over the same store: the session is not its own to cancel.
    const there = new TaskManager(live, { store, cancelSession: () => {} });
    try {
      let aborted = false;
      let announce: (id: string) => void = () => {};
      const record = await here.start({
        toolName: 'chat',
        work: (signal, onSession) =>
          new Promise((resolve) => {
            announce = onSession;
            signal.addEventListener('abort', () => {
              aborted = true;
              resolve(errorOutcome(toolErrorInfo(runtimeError('CANCELLED', 'cancelled').toData())));
            });
          }),
      });
      expect((await there.cancel(record.taskId)).kind).toBe('cancelled');
      // The run here records its session now, reads the task cancelled and stops the work.
      announce('session-1');
      await expect.poll(() => aborted, { timeout: 2000 }).toBe(true);
    } finally {
      here.close();
      there.close();
    }
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

  it('says a cancelled call’s reason once, whoever worded it', () => {
    const cancelled = (message: string) =>
      finalStatus(errorOutcome(toolErrorInfo(runtimeError('CANCELLED', message).toData()))).statusMessage;
    expect(cancelled('Cancelled: cancelled with cancel_session')).toBe('cancelled with cancel_session');
    expect(cancelled('Cancelled: user pressed stop')).toBe('cancelled: user pressed stop');
    expect(cancelled('Cancelled: Cancelled twice over')).toBe('Cancelled twice over');
    expect(cancelled('Expected the call to sim to finish, got an abort')).toBe(
      'cancelled: Expected the call to sim to finish, got an abort',
    );
    expect(cancelled('Cancelled: cancellation pending')).toBe('cancelled: cancellation pending');
  });

  it('describes working tasks from their sessions, one part each, an ended one saying how it ended', () => {
    const base = { provider: 'p', since: 0 };
    const summary = (state: SessionState, code?: string) =>
      ({ provider: 'p', model: 'm', state, ...(code === undefined ? {} : { code }) }) as SessionSummary;
    expect(workingMessage([{}])).toBeUndefined();
    expect(workingMessage([{ live: { ...base, sessionId: 'a', state: 'running', chars: 40 } }])).toBe(
      'running, 40 chars so far',
    );
    expect(
      workingMessage([
        { live: { ...base, sessionId: 'a', state: 'queued', position: 2 }, summary: summary('queued') },
        { live: { ...base, sessionId: 'b', state: 'running', chars: 40 }, summary: summary('running') },
        { summary: summary('done') },
        { summary: summary('failed', 'AUTH_FAILED') },
        { summary: summary('timedOut', 'TIMED_OUT') },
        { summary: summary('cancelled', 'CANCELLED') },
        { summary: { ...summary('running'), provider: 'q' } },
        {},
      ]),
    ).toBe(
      'p/m: queued, 2 ahead when it joined; p/m: running, 40 chars so far; p/m: done; p/m: failed (AUTH_FAILED); ' +
        'p/m: timed out (TIMED_OUT); p/m: cancelled; q/m: running',
    );
  });
});
