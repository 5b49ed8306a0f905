/**
 * The two in-process shapes of the runtime a test can run the same case on: one instance, and an
 * instance of a cluster on in-memory ports (a hub of its own). For `it.each`: each entry names
 * itself and makes the runtime options fresh for each case.
 */
import { MemoryClusterHub } from '../../src/runtime/backend.js';
import type { RuntimeOptions } from '../../src/runtime/types.js';
import { memoryClusterBackend } from '../../src/scale/memory-cluster.js';

export const IN_MEMORY_BACKENDS: readonly (readonly [string, () => Partial<RuntimeOptions>])[] = [
  ['one instance', () => ({})],
  [
    'a memory cluster',
    () => ({ backend: memoryClusterBackend({ hub: new MemoryClusterHub(), sweepIntervalMs: 1000 }) }),
  ],
];
