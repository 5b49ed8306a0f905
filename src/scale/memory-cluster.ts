/**
 * `memoryClusterBackend({ hub })`: the cluster runtime (`cluster-runtime.ts`, the same composition
 * as on Redis) on in-memory ports (`MemoryClusterHub`, `src/runtime/memory-ports/`). Several
 * runtimes on one hub form a cluster in one process: any of them can submit, watch, cancel and
 * read any session, and each leases sessions from the shared queue to run them. It is for tests of
 * cluster behaviour (deterministic, on a simulated clock) and for embedding several runtimes in one
 * process; it is not the fast path: `createRuntime()` with no backend is the local runtime.
 *
 *   const hub = new MemoryClusterHub({ clock });
 *   const a = createRuntime({ providers, clock, backend: memoryClusterBackend({ hub }) });
 *   const b = createRuntime({ providers, clock, backend: memoryClusterBackend({ hub }) });
 */
import type { MemoryClusterHub, MemoryInstanceOptions, RuntimeBackend } from '../runtime/backend.js';
import { createClusterRuntime } from './cluster-runtime.js';

export interface MemoryClusterBackendOptions extends MemoryInstanceOptions {
  /** The cluster this instance joins; every runtime on one hub is one instance of it. */
  readonly hub: MemoryClusterHub;
}

export interface MemoryClusterBackend extends RuntimeBackend {
  readonly kind: 'memory-cluster';
}

export function memoryClusterBackend(options: MemoryClusterBackendOptions): MemoryClusterBackend {
  const { hub, ...instance } = options;
  return {
    kind: 'memory-cluster',
    createRuntime: (runtimeOptions, local) =>
      createClusterRuntime(runtimeOptions, local, (context) => hub.ports(context, instance)),
  };
}
