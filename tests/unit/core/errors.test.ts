/**
 * troupe's error type and its one converter: what a caller sees for each kind of thrown value,
 * and what survives the trip through plain data between actors.
 */
import { describe, expect, it } from 'vitest';
import {
  describe as describeValue,
  isAbortError,
  isRetryableCode,
  providerError,
  runtimeError,
  TroupeError,
  toErrorData,
  toTroupeError,
} from '../../../src/core/errors.js';

describe('the retry table', () => {
  it('retries rate limits, unavailable providers and network failures, and nothing else', () => {
    expect(isRetryableCode('provider', 'RATE_LIMITED')).toBe(true);
    expect(isRetryableCode('provider', 'PROVIDER_UNAVAILABLE')).toBe(true);
    expect(isRetryableCode('provider', 'NETWORK')).toBe(true);
    for (const code of [
      'AUTH_FAILED',
      'MODEL_NOT_FOUND',
      'INVALID_REQUEST',
      'BAD_RESPONSE',
      'CANCELLED',
    ] as const) {
      expect(isRetryableCode('provider', code)).toBe(false);
    }
    for (const code of ['QUEUE_FULL', 'TIMED_OUT', 'CANCELLED', 'INTERNAL', 'BACKEND_UNAVAILABLE'] as const) {
      expect(isRetryableCode('runtime', code)).toBe(false);
    }
  });

  it('an error takes its retryability from the table unless told otherwise', () => {
    expect(providerError('RATE_LIMITED', 'x').retryable).toBe(true);
    expect(providerError('AUTH_FAILED', 'x').retryable).toBe(false);
    expect(providerError('RATE_LIMITED', 'x', { retryable: false }).retryable).toBe(false);
    expect(providerError('BAD_RESPONSE', 'x', { retryable: true }).retryable).toBe(true);
    expect(runtimeError('QUEUE_FULL', 'x').retryable).toBe(false);
  });
});

describe('TroupeError', () => {
  it('names its family, so a stack trace says which side failed', () => {
    expect(runtimeError('INTERNAL', 'x').name).toBe('TroupeRuntimeError');
    expect(providerError('NETWORK', 'x').name).toBe('TroupeProviderError');
    expect(runtimeError('INTERNAL', 'x').family).toBe('runtime');
    expect(providerError('NETWORK', 'x').family).toBe('provider');
  });

  it('keeps a cause only when one was given', () => {
    const cause = new Error('root');
    expect(runtimeError('INTERNAL', 'x', { cause }).cause).toBe(cause);
    expect('cause' in runtimeError('INTERNAL', 'x')).toBe(false);
  });

  it('keeps the provider details it was given', () => {
    const e = providerError('RATE_LIMITED', 'slow down', { retryAfterMs: 250, status: 429 });
    expect(e.message).toBe('slow down');
    expect(e.code).toBe('RATE_LIMITED');
    expect(e.retryAfterMs).toBe(250);
    expect(e.status).toBe(429);
    expect(runtimeError('TIMED_OUT', 'late', { timeout: 'idle' }).timeout).toBe('idle');
  });

  it('caps a long message at 1000 characters, marking the cut', () => {
    expect(runtimeError('INTERNAL', 'x'.repeat(1000)).message).toBe('x'.repeat(1000));
    const cut = runtimeError('INTERNAL', 'y'.repeat(1001)).message;
    expect(cut).toHaveLength(1000);
    expect(cut).toBe(`${'y'.repeat(999)}…`);
  });

  it('becomes plain data with only the fields it has, and back', () => {
    expect(providerError('AUTH_FAILED', 'no').toData()).toEqual({
      family: 'provider',
      code: 'AUTH_FAILED',
      message: 'no',
      retryable: false,
    });
    expect(Object.keys(providerError('AUTH_FAILED', 'no').toData())).toEqual([
      'family',
      'code',
      'message',
      'retryable',
    ]);
    const full = providerError('RATE_LIMITED', 'wait', { retryAfterMs: 10, status: 429 }).toData();
    expect(full).toEqual({
      family: 'provider',
      code: 'RATE_LIMITED',
      message: 'wait',
      retryable: true,
      retryAfterMs: 10,
      status: 429,
    });
    const back = TroupeError.fromData(full);
    expect(back).toBeInstanceOf(TroupeError);
    expect(back.toData()).toEqual(full);
    // Data that says "not retryable" stays so, whatever the table says.
    expect(TroupeError.fromData({ ...full, retryable: false }).retryable).toBe(false);
    // An error of the model alone says so, and keeps saying so through its data; others never do.
    const busy = providerError('PROVIDER_UNAVAILABLE', 'busy', { modelScoped: true }).toData();
    expect(busy.modelScoped).toBe(true);
    expect(TroupeError.fromData(busy).toData()).toEqual(busy);
    expect(providerError('PROVIDER_UNAVAILABLE', 'down', { modelScoped: false }).toData()).not.toHaveProperty(
      'modelScoped',
    );
    // Which silence an idle timeout ended travels through the data too; left out, it is not there.
    const stalled = runtimeError('TIMED_OUT', 'quiet', { timeout: 'idle', stalled: 'stream' }).toData();
    expect(stalled).toMatchObject({ timeout: 'idle', stalled: 'stream' });
    expect(TroupeError.fromData(stalled).toData()).toEqual(stalled);
    expect(runtimeError('TIMED_OUT', 'quiet', { timeout: 'idle' }).toData()).not.toHaveProperty('stalled');
  });
});

describe('toTroupeError: any thrown value becomes one error', () => {
  it('returns a TroupeError as it is', () => {
    const own = providerError('NETWORK', 'down');
    expect(toTroupeError(own)).toBe(own);
  });

  it('turns both abort errors into CANCELLED, keeping the cause', () => {
    for (const name of ['AbortError', 'APIUserAbortError']) {
      const abort = Object.assign(new Error('stop'), { name });
      const e = toTroupeError(abort);
      expect(e.family).toBe('runtime');
      expect(e.code).toBe('CANCELLED');
      expect(e.retryable).toBe(false);
      expect(e.message).toBe('Expected the operation to finish, got an abort');
      expect(e.cause).toBe(abort);
    }
  });

  it('turns any other Error into INTERNAL with its message', () => {
    const boom = new TypeError('boom');
    const e = toTroupeError(boom);
    expect(e.code).toBe('INTERNAL');
    expect(e.message).toBe('Unexpected error: boom');
    expect(e.cause).toBe(boom);
  });

  it('turns a thrown non-Error into INTERNAL that shows the value', () => {
    const e = toTroupeError({ status: 500 });
    expect(e.code).toBe('INTERNAL');
    expect(e.message).toBe('Unexpected thrown value: `{"status":500}` (object)');
    expect(toErrorData(42)).toEqual({
      family: 'runtime',
      code: 'INTERNAL',
      message: 'Unexpected thrown value: `42` (number)',
      retryable: false,
    });
  });

  it('turns a value that throws as it is read into INTERNAL, keeping it as the cause, and throws nothing', () => {
    const unreadable = new Error('hidden');
    Object.defineProperty(unreadable, 'message', {
      get() {
        throw new Error('getter');
      },
    });
    const { proxy: revoked, revoke } = Proxy.revocable({}, {});
    revoke();
    const trapped = new Proxy(
      {},
      {
        getPrototypeOf() {
          throw new Error('trap');
        },
      },
    );
    for (const value of [unreadable, revoked, trapped]) {
      const e = toTroupeError(value);
      expect(e.code).toBe('INTERNAL');
      expect(e.message).toBe('Unexpected thrown value, which threw as it was read');
      expect(e.retryable).toBe(false);
      expect(e.cause).toBe(value);
    }
  });
});

describe('isAbortError', () => {
  it('recognises aborts by name, and nothing else', () => {
    expect(isAbortError({ name: 'AbortError' })).toBe(true);
    expect(isAbortError({ name: 'APIUserAbortError' })).toBe(true);
    expect(isAbortError(new DOMException('x', 'AbortError'))).toBe(true);
    expect(isAbortError(new Error('AbortError'))).toBe(false);
    expect(isAbortError({ name: 'TimeoutError' })).toBe(false);
    expect(isAbortError({})).toBe(false);
    expect(isAbortError(null)).toBe(false);
    expect(isAbortError('AbortError')).toBe(false);
  });
});

describe('describe: what came, for messages', () => {
  it('shows a value and its type', () => {
    expect(describeValue(null)).toBe('`null`');
    expect(describeValue(undefined)).toBe('`undefined`');
    expect(describeValue(12)).toBe('`12` (number)');
    expect(describeValue('x')).toBe('`"x"` (string)');
    expect(describeValue([1])).toBe('`[1]` (array)');
    expect(describeValue({ a: true })).toBe('`{"a":true}` (object)');
    expect(describeValue(() => 1)).toBe('`() => 1` (function)');
    expect(describeValue(Symbol('s'))).toBe('`Symbol(s)` (symbol)');
    // JSON would say `null` for these, or throw for a bigint: their own text says what came.
    expect(describeValue(Number.POSITIVE_INFINITY)).toBe('`Infinity` (number)');
    expect(describeValue(Number.NEGATIVE_INFINITY)).toBe('`-Infinity` (number)');
    expect(describeValue(Number.NaN)).toBe('`NaN` (number)');
    expect(describeValue(10n)).toBe('`10n` (bigint)');
  });

  it('shows what cannot be serialised by its tag instead of throwing', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(describeValue(cyclic)).toBe('`[object Object]` (object)');
  });

  it('cuts a long value at 80 characters', () => {
    expect(describeValue('a'.repeat(78))).toBe(`\`"${'a'.repeat(78)}"\` (string)`);
    expect(describeValue('a'.repeat(79))).toBe(`\`"${'a'.repeat(78)}…\` (string)`);
  });
});
