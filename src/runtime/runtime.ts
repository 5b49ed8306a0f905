/**
 * `createRuntime()`: the runtime on the backend the options name. In memory (the default) it is
 * the local runtime (`local-runtime.ts`); a scale-out backend builds its runtime around one.
 */
import { createLocalRuntime } from './local-runtime.js';
import type { Runtime, RuntimeOptions } from './types.js';

export { createLocalRuntime };

export function createRuntime(options: RuntimeOptions): Runtime {
  const backend = options.backend;
  return backend === undefined || backend.kind === 'memory'
    ? createLocalRuntime(options)
    : backend.createRuntime(options, createLocalRuntime);
}
