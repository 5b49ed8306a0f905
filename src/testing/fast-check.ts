/**
 * fast-check is an optional peer dependency: `troupe/testing` must import without it, so the
 * property functions load it on first use and say what to install when it is missing.
 */
import { TroupeError } from '../core/errors.js';

export type FastCheck = typeof import('fast-check').default;

let loaded: Promise<FastCheck> | undefined;

export function loadFastCheck(): Promise<FastCheck> {
  loaded ??= import('fast-check').then(
    (module) => module.default,
    (error: unknown) => {
      loaded = undefined;
      throw new TroupeError(
        'runtime',
        'INVALID_REQUEST',
        "Expected the optional peer dependency `fast-check` to be installed for troupe's property tests " +
          '(npm install --save-dev fast-check), got an import failure',
        { cause: error },
      );
    },
  );
  return loaded;
}
