/**
 * Where a runtime keeps what several instances would share: the queue that admits sessions, the
 * store of live sessions, and the bus for events and cancellations. The default backend keeps them
 * in this process, synchronously: the scheduler, the live map and the listener set inside the
 * local runtime. A cluster backend hands the ports (`ClusterPorts`, `ports.ts`) to the one cluster
 * composition in `src/scale/cluster-runtime.ts`, which builds on a local runtime that runs the
 * sessions it leases: `redisBackend` on a shared server, `memoryClusterBackend` on the in-memory
 * ports exported here (`MemoryClusterHub`, `memory-ports/`), several instances in one process.
 */
import type { SessionInput } from '../../machines/session.js';
import type { TroupeErrorData } from '../core/errors.js';
import type { ChatRequest } from '../providers/port.js';
import type { Budgets } from './budgets.js';
import type { Start } from './limiter.js';
import type { RunRecord } from './ports.js';
import type { Runtime, RuntimeOptions, SessionHandle } from './types.js';

export { estimateTokens } from '../providers/estimate.js';
// The runtime's core, as a backend builds on it: `src/scale/` imports from `src/runtime/` only this
// file, `ports.ts` and `types.ts` (see `layers.json`).
export { Admission, type Admitted } from './admission.js';
export { RuntimeCounters } from './counters.js';
export { Listeners, safeReporter, tell } from './event-hub.js';
export { EventStream } from './event-stream.js';
export { History } from './history.js';
export { Lifecycle } from './lifecycle.js';
export type {
  Acquired,
  LimitName,
  ProviderBudget,
  ProviderLimitsConfig,
  Start,
} from './limiter.js';
export { budgetOf, type ProviderState, providerKey } from './limiter.js';
export { Limiter, windowLimits } from './limits.js';
export { MemoryEventBus } from './memory-ports/bus.js';
export {
  MemoryClusterHub,
  type MemoryClusterHubOptions,
  type MemoryInstanceOptions,
} from './memory-ports/hub.js';
export { MemorySessionQueue } from './memory-ports/instance-queue.js';
export { callerKept, MemorySessionStore } from './memory-ports/store.js';
export { MemorySharedState } from './memory-state.js';
export {
  type ResolvedLimits,
  resolveDefaults,
  resolveLimits,
  resolveProviders,
  withSharedSlots,
} from './options.js';
export { resultOf } from './queued-result.js';
export { reasonOf, reportError } from './requests.js';
export { rerouteOfRun, rerouteOnCooldown } from './reroute.js';
export { cancelEvent, reasonText, SUBMITTER_SHUT_DOWN } from './session-driver.js';
export { withoutObserver } from './session-handle.js';
export {
  buildResult,
  endedSummary,
  inputSummary,
  metadataSummary,
  type ResultSource,
} from './session-record.js';

export interface RuntimeBackend {
  /** `memory`, or the name of a shared backend (`redis`). */
  readonly kind: string;
  /** Builds the runtime over this backend; `local` makes the in-memory runtime that runs sessions here. */
  createRuntime(options: RuntimeOptions, local: (options: RuntimeOptions) => LocalRuntime): Runtime;
  /**
   * Lets go of what it holds (a connection) when `createRuntime` refuses its options, whether
   * before or while asking this backend: no runtime exists to close it, and an open connection
   * keeps the process from exiting. It keeps what a runtime built on it already holds.
   * @default none: the backend holds nothing
   */
  release?(): void;
}

/** A session admitted by a shared queue, to run on this instance. All plain data. */
export interface AdoptedSession {
  readonly input: SessionInput;
  readonly request: ChatRequest;
  readonly label?: string;
  readonly caller?: Readonly<Record<string, unknown>>;
  readonly callerTruncated?: boolean;
  /** Present when another instance started it and was lost: what it had done, and where it was in its chain. */
  readonly restore?: RunRecord;
  readonly signal?: AbortSignal;
  /** Its first start, charged to the shared limits when the queue leased it. */
  readonly limitStart?: Start;
  /** Not charged: its provider cools down past its queue deadline, so it moves on at once (`rerouteOnCooldown`). */
  readonly reroute?: TroupeErrorData;
}

/** The in-memory runtime, with the one entry a scale-out backend needs. */
export interface LocalRuntime extends Runtime {
  /** Runs an admitted session now (it skips this instance's queue); its queue deadline still holds. */
  adopt(session: AdoptedSession): SessionHandle;
  /** What a takeover needs of a session running here, from its machine's context; `undefined` before it starts. */
  runRecord(id: string): RunRecord | undefined;
  /** Its daily budgets (`budgets`), when set: a cluster's admission refuses a caller this instance saw spent. */
  readonly budgets: Pick<Budgets, 'precheck'> | undefined;
  /** A session of `provider` ended, or retries, on some instance: the retries here held behind it, if it probed, look again (`LocalLimits.wake`). */
  wake(provider: string, sessionId: string): void;
  /**
   * `listener` hears the id of a running session whose wait at its gate between attempts began,
   * changed or ended (its summary's `waitingFor`), on a shared limiter; its summary read after the
   * call says it. Nothing for a session its gate lets go at once. One listener: a later one replaces it.
   */
  onWaiting(listener: (sessionId: string) => void): void;
}

/** The default backend: one process, nothing shared, nothing to install. */
export function memoryBackend(): RuntimeBackend {
  return { kind: 'memory', createRuntime: (options, local) => local(options) };
}
