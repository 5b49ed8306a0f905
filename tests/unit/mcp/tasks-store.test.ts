/**
 * The in-memory task store (the shared store contract, and its own size) and the status mapping.
 */
import { describe, expect, it } from 'vitest';
import { runtimeError } from '../../../src/core/errors.js';
import { toolErrorInfo } from '../../../src/mcp/errors.js';
import { MemoryTaskStore } from '../../../src/mcp/tasks/memory-task-store.js';
import { finalStatus, workingMessage } from '../../../src/mcp/tasks/task-status.js';
import { errorOutcome } from '../../../src/mcp/tool.js';
import { record, taskStoreContract } from './tasks-store-contract.js';

taskStoreContract('MemoryTaskStore', async (options) => new MemoryTaskStore(options));

describe('MemoryTaskStore', () => {
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
