/**
 * `createRuntime()`: the runtime on the backend the options name. In memory (the default) it is
 * the local runtime (`local-runtime.ts`); a scale-out backend builds its runtime around one.
 */
import { checkPriceTable } from '../providers/prices.js';
import { createLocalRuntime } from './local-runtime.js';
import { checkOptionKeys } from './option-keys.js';
import type { Runtime, RuntimeOptions } from './types.js';

export { createLocalRuntime };

export function createRuntime(options: RuntimeOptions): Runtime {
  try {
    return onBackend(options);
  } catch (error) {
    // Every refusal here, before the runtime exists (a misspelt key, a price table, a clock, a
    // backend's ports): nothing else would let go of what the backend holds (a `redisBackend()`'s
    // connections, which kept the process from exiting until 2026-12-08).
    options?.backend?.release?.();
    throw error;
  }
}

function onBackend(options: RuntimeOptions): Runtime {
  checkOptionKeys(options);
  // `prices` is checked as the providers file's are (a missing `currency` is USD; a code that is no
  // currency, a negative rate or an unknown field is refused here): from JavaScript a table without
  // `currency` gave costs in `undefined`, which no budget ever counted.
  const checked =
    options.prices === undefined ? options : { ...options, prices: checkPriceTable(options.prices) };
  const backend = checked.backend;
  return backend === undefined || backend.kind === 'memory'
    ? createLocalRuntime(checked)
    : backend.createRuntime(checked, createLocalRuntime);
}
