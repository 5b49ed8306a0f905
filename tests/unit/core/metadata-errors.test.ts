import { describe, expect, it, vi } from 'vitest';
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

  it('drops a value over the cap unread: an array’s entries, a long string, a wide object', () => {
    let reads = 0;
    const blob = new Proxy(['x'], {
      get(target, key, receiver) {
        if (key === 'length') return 1e7;
        // Past a thousand, a walk of all 1e7: stopped here.
        if (typeof key === 'string' && /^\d+$/.test(key) && ++reads > 1000) throw new Error('walked');
        return Reflect.get(target, key, receiver);
      },
    });
    expect(capMetadata({ owner: 'ann', blob, after: 1 }, 4096)).toEqual({
      value: { owner: 'ann', after: 1 },
      truncated: true,
    });
    expect(reads).toBe(0);
    // Until 2026-12-07 each value was serialised whole before the cap was checked.
    const wide = Object.fromEntries(Array.from({ length: 10_000 }, (_, i) => [`k${i}`, i]));
    const stringify = vi.spyOn(JSON, 'stringify');
    try {
      expect(capMetadata({ wide, text: 'y'.repeat(100_000), n: 7 }, 64)).toEqual({
        value: { n: 7 },
        truncated: true,
      });
      expect(stringify.mock.calls.map(([value]) => value)).toEqual([7]);
    } finally {
      stringify.mockRestore();
    }
  });

  it('keeps a value that fills the cap to the byte, and drops one a byte over', () => {
    // `{"a":"xxxx"}` is 12 bytes; with `b` after it, `,"b":1` is 6 more.
    expect(capMetadata({ a: 'xxxx', b: 1 }, 18)).toEqual({ value: { a: 'xxxx', b: 1 }, truncated: false });
    expect(capMetadata({ a: 'xxxx', b: 1 }, 17)).toEqual({ value: { a: 'xxxx' }, truncated: true });
    expect(capMetadata({ a: 'xxxxx' }, 12)).toEqual({ value: {}, truncated: true });
    expect(capMetadata({ a: [1, 2] }, 11)).toEqual({ value: { a: [1, 2] }, truncated: false });
    expect(capMetadata({ a: [1, 2] }, 10)).toEqual({ value: {}, truncated: true });
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
