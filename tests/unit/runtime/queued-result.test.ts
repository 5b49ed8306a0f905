/**
 * The result of a session that never ran here, built by the session machine from `queued`: the
 * same messages and metadata as a session run here, with its label and caller data.
 */
import { describe, expect, it } from 'vitest';
import { resultOf } from '../../../src/runtime/queued-result.js';
import { request, sessionInput } from './session-fixtures.js';

const input = sessionInput();

describe('resultOf', () => {
  it('ends a queued session cancelled, with its label and caller data', () => {
    const result = resultOf({ input, request, label: 'l', caller: { user: 'u' }, callerTruncated: true }, [
      { type: 'session.cancel', now: 400, reason: 'not needed' },
    ]);
    expect(result).toEqual({
      ok: false,
      error: { family: 'runtime', code: 'CANCELLED', message: 'Cancelled: not needed', retryable: false },
      metadata: {
        sessionId: 's1',
        requestId: 'r1',
        provider: 'p',
        model: 'm',
        priority: 3,
        state: 'cancelled',
        queuedMs: 300,
        runMs: 0,
        totalMs: 300,
        attempts: 0,
        code: 'CANCELLED',
        label: 'l',
        caller: { user: 'u' },
        truncated: true,
      },
    });
  });

  it('says it was not cut when the caller data was not', () => {
    const cancel = [{ type: 'session.cancel' as const, now: 400, reason: 'x' }];
    expect(resultOf({ input, request }, cancel).metadata).not.toHaveProperty('truncated');
    expect(resultOf({ input, request, callerTruncated: false }, cancel).metadata).not.toHaveProperty(
      'truncated',
    );
  });

  it('names the limit that held a session back past its queue deadline', () => {
    const tick = [{ type: 'session.tick' as const, now: 1100 }];
    const held = resultOf({ input, request }, tick, 'tokensPerMinute');
    expect(held.ok).toBe(false);
    expect(held.metadata).toMatchObject({
      state: 'timedOut',
      code: 'TIMED_OUT',
      waitingFor: 'tokensPerMinute',
    });
    expect(held.ok ? '' : held.error.message).toBe(
      "Expected the session to start within 1000 ms of queueing, it waited 1000 ms; held back by its provider's tokensPerMinute limit",
    );
    const free = resultOf({ input, request }, tick);
    expect(free.ok ? '' : free.error.message).toBe(
      'Expected the session to start within 1000 ms of queueing, it waited 1000 ms',
    );
  });

  it('reports a session the events did not end as failed, INTERNAL', () => {
    const result = resultOf({ input, request }, [{ type: 'session.admit', now: 200 }]);
    expect(result).toMatchObject({
      ok: false,
      error: { code: 'INTERNAL', message: 'Expected an error for a session that ended failed, got none' },
      metadata: { state: 'failed' },
    });
  });
});
