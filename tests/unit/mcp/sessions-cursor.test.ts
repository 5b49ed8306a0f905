/**
 * The `sessions` tool's pages after a `cursor` on one process and on a cluster's in-memory ports
 * (`sessions-cursor-contract.ts`; on Redis: `tests/scale/sessions-cursor.test.ts`).
 */
import { describe } from 'vitest';
import { createSimulatedProvider } from '../../../src/providers/simulated.js';
import { MemoryClusterHub } from '../../../src/runtime/backend.js';
import { createRuntime } from '../../../src/runtime/runtime.js';
import type { RuntimeOptions } from '../../../src/runtime/types.js';
import { memoryClusterBackend } from '../../../src/scale/memory-cluster.js';
import { sessionsCursorContract } from './sessions-cursor-contract.js';

const options = (): RuntimeOptions => ({
  providers: [createSimulatedProvider({ name: 'sim', latencyMs: { min: 0, max: 0 } })],
  defaults: { model: 'sim-fast' },
  limits: { historySize: 1000 },
});

describe('sessions: pages after a cursor, on one process', () => {
  sessionsCursorContract(async () => createRuntime(options()));
});

describe('sessions: pages after a cursor, on a cluster’s in-memory ports', () => {
  sessionsCursorContract(async () => {
    const runtime = createRuntime({
      ...options(),
      backend: memoryClusterBackend({ hub: new MemoryClusterHub() }),
    });
    await runtime.ready;
    return runtime;
  });
});
