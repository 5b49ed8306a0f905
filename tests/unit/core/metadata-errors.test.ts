import { describe, expect, it } from 'vitest';
import { runtimeError, TroupeError, toTroupeError } from '../../../src/core/errors.js';
import { capMetadata } from '../../../src/core/metadata.js';

describe('capMetadata', () => {
  it('keeps metadata that fits, unchanged', () => {
    expect(capMetadata({ a: 1, b: 'two' }, 100)).toEqual({ value: { a: 1, b: 'two' }, truncated: false });
  });

  it('drops keys that do not fit and says so, never exceeding the cap', () => {
    const big = { small: 'x', huge: 'y'.repeat(500), after: 1 };
    const capped = capMetadata(big, 64);
    expect(capped.truncated).toBe(true);
    expect(capped.value).toEqual({ small: 'x', after: 1 });
    expect(JSON.stringify(capped.value).length).toBeLessThanOrEqual(64);
  });

  it('counts bytes, not characters, for non-ASCII text', () => {
    const capped = capMetadata({ s: 'é'.repeat(20) }, 30);
    expect(capped.truncated).toBe(true);
  });

  it('replaces what cannot be serialised instead of throwing', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(capMetadata({ ok: 1, cyclic, n: 10n }, 100)).toEqual({ value: { ok: 1 }, truncated: true });
  });
});

describe('errors', () => {
  it('converts anything thrown into one family and code, keeping the cause', () => {
    const abort = Object.assign(new Error('aborted'), { name: 'AbortError' });
    expect(toTroupeError(abort).code).toBe('CANCELLED');
    const boom = new Error('boom');
    const converted = toTroupeError(boom);
    expect(converted).toBeInstanceOf(TroupeError);
    expect(converted.code).toBe('INTERNAL');
    expect(converted.cause).toBe(boom);
    expect(toTroupeError('text').message).toContain('`"text"` (string)');
    const own = runtimeError('QUEUE_FULL', 'full');
    expect(toTroupeError(own)).toBe(own);
  });

  it('round-trips through plain data, as errors travel between actors', () => {
    const e = runtimeError('TIMED_OUT', 'late', { timeout: 'run' });
    const data = JSON.parse(JSON.stringify(e.toData()));
    expect(TroupeError.fromData(data).toData()).toEqual(e.toData());
    expect(data).toEqual({
      family: 'runtime',
      code: 'TIMED_OUT',
      message: 'late',
      retryable: false,
      timeout: 'run',
    });
  });
});
