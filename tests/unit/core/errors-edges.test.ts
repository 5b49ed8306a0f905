/** `src/core/errors.ts` at its edges: which family retries, what a thrown non-Error keeps, what an abort is. */
import { describe, expect, it } from 'vitest';
import { isAbortError, isRetryableCode, toTroupeError } from '../../../src/core/errors.js';

describe('errors at their edges', () => {
  it('only the provider family retries: the same code from the runtime does not', () => {
    expect(isRetryableCode('provider', 'RATE_LIMITED')).toBe(true);
    expect(isRetryableCode('runtime', 'RATE_LIMITED')).toBe(false);
    expect(isRetryableCode('runtime', 'NETWORK')).toBe(false);
  });

  it('a thrown value that is not an Error becomes INTERNAL and keeps the value as its cause', () => {
    const error = toTroupeError('boom');
    expect(error.code).toBe('INTERNAL');
    expect(error.message).toContain('"boom"');
    expect(error.cause).toBe('boom');
  });

  it('an abort is an object named AbortError; a function of that name is not one', () => {
    expect(isAbortError({ name: 'AbortError' })).toBe(true);
    function AbortError(): void {}
    expect(isAbortError(AbortError)).toBe(false);
    expect(toTroupeError(AbortError).code).toBe('INTERNAL');
  });
});
