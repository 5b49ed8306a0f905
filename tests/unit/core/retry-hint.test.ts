/**
 * A provider error's `retryAfterMs` as the runtime may follow it, whoever built the error (an
 * adapter's own `providerError` included). Before, an adapter that read a missing `Retry-After`
 * as `Number(undefined) * 1000` gave `NaN`: the provider's cooldown ended at `NaN` and the next
 * `submit` never returned (its pump spun at 100 % CPU, no timer ever fired); `1e12` paused the
 * provider for 31 years, past the documented 10-minute bound that only the built-in adapters kept.
 */
import { describe, expect, it } from 'vitest';
import { MAX_COOLDOWN_HINT_MS, providerError, runtimeError, TroupeError } from '../../../src/core/errors.js';
import type { ChatProvider } from '../../../src/providers/port.js';
import { createRuntime } from '../../../src/runtime/runtime.js';

const hint = (code: 'RATE_LIMITED' | 'PROVIDER_UNAVAILABLE' | 'QUOTA_EXHAUSTED', ms: number) =>
  providerError(code, 'x', { retryAfterMs: ms }).retryAfterMs;

describe('a retry hint', () => {
  it('is no hint when it is not a number of ms from 0 up', () => {
    for (const ms of [Number.NaN, -5, -Number.POSITIVE_INFINITY]) {
      expect(hint('RATE_LIMITED', ms)).toBeUndefined();
      expect(hint('QUOTA_EXHAUSTED', ms)).toBeUndefined();
    }
    expect(hint('RATE_LIMITED', 0)).toBe(0);
    expect(hint('RATE_LIMITED', 1500)).toBe(1500);
    expect(providerError('RATE_LIMITED', 'x', {}).retryAfterMs).toBeUndefined();
  });

  it('holds a rate limit’s to 10 minutes; an outage’s and a quota’s reset are told as they are', () => {
    expect(MAX_COOLDOWN_HINT_MS).toBe(600_000);
    expect(hint('RATE_LIMITED', 1e12)).toBe(600_000);
    expect(hint('RATE_LIMITED', Number.POSITIVE_INFINITY)).toBe(600_000);
    // A circuit breaker open for an hour says so (review: its hint was cut to 10 minutes, and a
    // client that followed it was refused again); a vendor's outage hint is held in http-errors.
    expect(hint('PROVIDER_UNAVAILABLE', 3_600_000)).toBe(3_600_000);
    expect(hint('PROVIDER_UNAVAILABLE', Number.POSITIVE_INFINITY)).toBeUndefined();
    expect(hint('QUOTA_EXHAUSTED', 86_400_000)).toBe(86_400_000);
    expect(hint('QUOTA_EXHAUSTED', Number.POSITIVE_INFINITY)).toBeUndefined();
    const fromRedis = TroupeError.fromData({
      ...providerError('RATE_LIMITED', 'x').toData(),
      retryAfterMs: 1e12,
    });
    expect(fromRedis.retryAfterMs).toBe(600_000);
    expect(runtimeError('INVALID_REQUEST', 'x').retryAfterMs).toBeUndefined();
  });

  it('an adapter’s NaN hint leaves the provider cooling for the default second, not for ever', async () => {
    let calls = 0;
    const provider: ChatProvider = {
      name: 'p',
      async complete() {
        calls++;
        if (calls === 1) {
          throw providerError('RATE_LIMITED', 'HTTP 429', {
            status: 429,
            retryAfterMs: Number(undefined) * 1000,
          });
        }
        return { content: 'ok' };
      },
      async *stream() {},
    };
    const runtime = createRuntime({
      providers: [provider],
      defaults: { model: 'm', maxAttempts: 1 },
    });
    const first = await runtime.submit({ messages: [{ role: 'user', content: 'x' }] }).result;
    expect(first.ok ? 'ok' : first.error.code).toBe('RATE_LIMITED');
    // Before, this submit never returned.
    const second = await runtime.submit({ messages: [{ role: 'user', content: 'y' }] }).result;
    expect(second.ok ? second.content : second.error.code).toBe('ok');
    expect(calls).toBe(2);
    await runtime.shutdown();
  });
});
