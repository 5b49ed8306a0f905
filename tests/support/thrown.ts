import { TroupeError } from '../../src/core/errors.js';

/** The `TroupeError` that `fn` throws; anything else it throws propagates, and no throw fails the test. */
export function thrown(fn: () => unknown): TroupeError {
  try {
    fn();
  } catch (error) {
    if (error instanceof TroupeError) return error;
    throw error;
  }
  throw new Error('Expected a throw, got none');
}
