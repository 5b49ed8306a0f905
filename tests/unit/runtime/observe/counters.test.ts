/**
 * `RuntimeCounters` (`src/runtime/counters.ts`): what `metrics()` reports, counted as sessions are
 * submitted, rejected and ended; a snapshot is a copy later counting does not change.
 */
import { describe, expect, it } from 'vitest';
import { RuntimeCounters } from '../../../../src/runtime/counters.js';
import type { SessionMetadata, SessionResult } from '../../../../src/runtime/types.js';

const metadata = (over: Partial<SessionMetadata> = {}): SessionMetadata => ({
  sessionId: 's',
  requestId: 'r',
  provider: 'p',
  model: 'm',
  priority: 5,
  state: 'done',
  queuedMs: 0,
  runMs: 0,
  totalMs: 0,
  attempts: 1,
  ...over,
});

const done = (over: Partial<SessionMetadata> = {}): SessionResult => ({
  ok: true,
  content: '',
  metadata: metadata(over),
});

const failed = (family: 'provider' | 'runtime', code: string): SessionResult => ({
  ok: false,
  error: { family, code, message: 'x', retryable: false } as SessionResult extends { error: infer E }
    ? E
    : never,
  metadata: metadata({ state: 'failed', code }),
});

describe('RuntimeCounters', () => {
  it('starts at zero', () => {
    expect(new RuntimeCounters().snapshot(0, 0)).toEqual({
      submitted: 0,
      rejected: {},
      ended: { done: 0, failed: 0, timedOut: 0, cancelled: 0 },
      retries: 0,
      providerErrors: {},
      queued: 0,
      running: 0,
      tokens: { prompt: 0, completion: 0 },
      cost: {},
    });
  });

  it('counts rejections by code, ends by final state, and provider errors by code (also those of ended sessions)', () => {
    const counters = new RuntimeCounters();
    counters.submitted += 3;
    counters.retries += 2;
    counters.reject('QUEUE_FULL');
    counters.reject('QUEUE_FULL');
    counters.reject('INVALID_REQUEST');
    counters.providerError('RATE_LIMITED');
    counters.ended('done', done());
    counters.ended('failed', failed('provider', 'RATE_LIMITED'));
    counters.ended('failed', failed('provider', 'UNAVAILABLE'));
    counters.ended('failed', failed('runtime', 'INTERNAL'));
    counters.ended('cancelled', failed('runtime', 'CANCELLED'));
    const metrics = counters.snapshot(4, 2);
    expect(metrics).toMatchObject({
      submitted: 3,
      retries: 2,
      rejected: { QUEUE_FULL: 2, INVALID_REQUEST: 1 },
      ended: { done: 1, failed: 3, timedOut: 0, cancelled: 1 },
      queued: 4,
      running: 2,
    });
    // Only provider errors: not the runtime's INTERNAL or CANCELLED.
    expect(metrics.providerErrors).toEqual({ RATE_LIMITED: 2, UNAVAILABLE: 1 });
  });

  it("adds up ended sessions' tokens and their cost by currency, rounded", () => {
    const counters = new RuntimeCounters();
    counters.ended(
      'done',
      done({ usage: { promptTokens: 10, completionTokens: 5 } as SessionMetadata['usage'] }),
    );
    counters.ended(
      'done',
      done({ usage: { promptTokens: 1, completionTokens: 2 } as SessionMetadata['usage'] }),
    );
    counters.ended('done', done({ cost: { amount: 0.1, currency: 'USD' } }));
    counters.ended('done', done({ cost: { amount: 0.2, currency: 'USD' } }));
    counters.ended('timedOut', done({ cost: { amount: 3, currency: 'CNY' } }));
    const metrics = counters.snapshot(0, 0);
    expect(metrics.tokens).toEqual({ prompt: 11, completion: 7 });
    // 0.1 + 0.2 is 0.30000000000000004 in floating point.
    expect(metrics.cost).toEqual({ USD: 0.3, CNY: 3 });
    expect(metrics.ended.timedOut).toBe(1);
  });

  it('hands out a copy: counting after a snapshot does not change it', () => {
    const counters = new RuntimeCounters();
    const before = counters.snapshot(0, 0);
    counters.reject('QUEUE_FULL');
    counters.providerError('RATE_LIMITED');
    counters.ended('done', done({ cost: { amount: 1, currency: 'USD' } }));
    expect(before.rejected).toEqual({});
    expect(before.providerErrors).toEqual({});
    expect(before.ended.done).toBe(0);
    expect(before.cost).toEqual({});
  });
});
