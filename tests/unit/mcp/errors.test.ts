/**
 * Tool error results: a model reading one learns the code, what happened and what to do next.
 */
import { describe, expect, it } from 'vitest';
import type { TroupeErrorCode } from '../../../src/core/errors.js';
import { providerError, runtimeError } from '../../../src/core/errors.js';
import { errorText, hintFor, toolErrorFrom, toolErrorInfo } from '../../../src/mcp/errors.js';

const CODES: readonly TroupeErrorCode[] = [
  'QUEUE_FULL',
  'SHUTTING_DOWN',
  'TIMED_OUT',
  'CANCELLED',
  'INVALID_REQUEST',
  'UNKNOWN_PROVIDER',
  'UNKNOWN_SESSION',
  'BACKEND_UNAVAILABLE',
  'BUDGET_EXCEEDED',
  'INTERNAL',
  'RATE_LIMITED',
  'AUTH_FAILED',
  'MODEL_NOT_FOUND',
  'PROVIDER_UNAVAILABLE',
  'NETWORK',
  'BAD_RESPONSE',
  'NOT_CONFIGURED',
  'QUOTA_EXHAUSTED',
  'CONTENT_FILTERED',
  'CONTEXT_TOO_LONG',
];

describe('hintFor', () => {
  it('gives every code a hint of its own', () => {
    const hints = CODES.map((code) => hintFor(code));
    for (const hint of hints) expect(hint.length).toBeGreaterThan(20);
    expect(new Set(hints).size).toBe(CODES.length);
  });

  it('tells the caller what to do for the codes a model meets most', () => {
    expect(hintFor('RATE_LIMITED')).toContain('retry_after_ms');
    expect(hintFor('TIMED_OUT')).toContain('timeout_ms');
    expect(hintFor('MODEL_NOT_FOUND')).toContain('list_models');
    expect(hintFor('QUEUE_FULL')).toContain('call again in a few seconds');
  });

  it('says "retry" only of troupe’s own retries, never to the caller, for every code and deadline', () => {
    const kinds = [undefined, 'queue', 'run', 'idle'] as const;
    for (const code of CODES) {
      for (const kind of kinds) {
        const hint = hintFor(code, kind);
        // `retryable` and `retry_after_ms` are fields' names; "troupe does not (queue or) retry" is of troupe.
        const told = hint.replace(/troupe does not (queue or )?retry/g, '');
        expect(told, `${code} ${kind}`).not.toMatch(/\bretry(ing)?\b/i);
      }
    }
  });

  it('says beside QUEUE_FULL’s retryable false that troupe did not retry it, and to call again', () => {
    const info = toolErrorInfo(runtimeError('QUEUE_FULL', 'Expected room in the queue, got 7').toData());
    expect(info.retryable).toBe(false);
    expect(info.hint).toContain(
      'troupe does not queue or retry a call it refused (so retryable is false): call again in a few seconds',
    );
  });

  it('says beside BACKEND_UNAVAILABLE’s retryable false that troupe did not retry it, and to call again', () => {
    const hint = hintFor('BACKEND_UNAVAILABLE');
    expect(hint).toContain(
      'troupe does not retry a call for it (so retryable is false): call again in a few seconds',
    );
    expect(hint).toContain("If the message says the call's end is not known, read the session by id first");
  });

  it('tells a TIMED_OUT by its deadline: only the run deadline is timeout_ms', () => {
    expect(hintFor('TIMED_OUT', 'run')).toBe(hintFor('TIMED_OUT'));
    expect(hintFor('TIMED_OUT', 'queue')).toBe(
      'The call waited in the queue past its queue deadline without starting: the server was busy. Call again in a few seconds, send fewer calls at once, or give it a higher priority; timeout_ms sets the run deadline, not this one.',
    );
    expect(hintFor('TIMED_OUT', 'idle')).toBe(
      'The provider stopped sending in the middle of its answer. Call again, or choose another provider.',
    );
    // Only TIMED_OUT reads the deadline.
    expect(hintFor('CANCELLED', 'queue')).toBe(hintFor('CANCELLED'));
    const queued = toolErrorInfo(
      runtimeError('TIMED_OUT', 'Expected the session to start within 1000 ms', {
        timeout: 'queue',
      }).toData(),
    );
    expect(queued).toMatchObject({ timeout: 'queue', hint: hintFor('TIMED_OUT', 'queue') });
  });

  it('falls back to the INTERNAL hint for a code it does not know (from a newer peer)', () => {
    expect(hintFor('SOMETHING_NEW' as TroupeErrorCode)).toBe(hintFor('INTERNAL'));
  });
});

describe('toolErrorInfo', () => {
  it('carries code, message, hint and retryability, and only the optional fields given', () => {
    const info = toolErrorInfo(providerError('AUTH_FAILED', 'Expected a valid key, got 401').toData());
    expect(info).toEqual({
      code: 'AUTH_FAILED',
      message: 'Expected a valid key, got 401',
      hint: hintFor('AUTH_FAILED'),
      retryable: false,
    });
    expect(Object.keys(info)).toEqual(['code', 'message', 'hint', 'retryable']);
  });

  it('passes the retry-after hint and the timeout kind on in snake case', () => {
    const limited = toolErrorInfo(providerError('RATE_LIMITED', 'slow', { retryAfterMs: 1500 }).toData());
    expect(limited.retryable).toBe(true);
    expect(limited.retry_after_ms).toBe(1500);
    const late = toolErrorInfo(runtimeError('TIMED_OUT', 'late', { timeout: 'queue' }).toData());
    expect(late.timeout).toBe('queue');
    expect(late).not.toHaveProperty('retry_after_ms');
  });
});

describe('toolErrorFrom and errorText', () => {
  it('turns anything thrown into a tool error a model can read', () => {
    const info = toolErrorFrom(new Error('disk full'));
    expect(info.code).toBe('INTERNAL');
    expect(errorText(info)).toBe(`INTERNAL: Unexpected error: disk full\n${hintFor('INTERNAL')}`);
  });
});
