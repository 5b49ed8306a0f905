/**
 * `MemoryClusterHub`: what the instances of one in-memory cluster share, in one process: the queue
 * (`MemoryQueueCore`, on the scheduler's admission policy), the store's live sessions (and their
 * callers' metadata), results,
 * run records and cancel marks, the bus, and the shared state (`MemorySharedState`). Each runtime
 * built with `memoryClusterBackend({ hub })` is one instance of the cluster over it, composed by
 * the same cluster runtime as on Redis; all on the hub's clock, so a test can drive a whole
 * cluster with a simulated one.
 */
import { type Clock, systemClock } from '../../core/clock.js';
import { MemorySharedState } from '../memory-state.js';
import type { CallerOf, ClusterContext, ClusterPorts, RunRecord } from '../ports.js';
import type { SessionResult, SessionSummary } from '../types.js';
import { MemoryBusCore, MemoryEventBus } from './bus.js';
import { MemorySessionQueue } from './instance-queue.js';
import { MemoryQueueCore } from './queue.js';
import { ExpiringMap, MemorySessionStore } from './store.js';

export interface MemoryClusterHubOptions {
  /** The clock of every instance on this hub (each runtime's `clock` must be this one). @default the system clock */
  readonly clock?: Clock;
}

export interface MemoryInstanceOptions {
  /** Whether this instance leases sessions to run; `false` makes it a front. @default true */
  readonly work?: boolean;
  /** How often this instance ends queued sessions past their deadline, whoever submitted them, in ms. @default 1000 */
  readonly sweepIntervalMs?: number;
}

export class MemoryClusterHub {
  readonly clock: Clock;
  readonly state: MemorySharedState;
  readonly queue: MemoryQueueCore;
  readonly bus = new MemoryBusCore();
  /** Live sessions of every instance, by id. */
  readonly live = new Map<string, SessionSummary>();
  /** The caller metadata kept beside a live summary (`SessionStore.put`'s `caller`), by id. */
  readonly callers = new Map<string, CallerOf>();
  readonly results: ExpiringMap<SessionResult>;
  readonly runs: ExpiringMap<RunRecord>;
  readonly cancels: ExpiringMap<string>;
  private instances = 0;

  constructor(options: MemoryClusterHubOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.state = new MemorySharedState(this.clock);
    this.queue = new MemoryQueueCore(this.clock);
    this.results = new ExpiringMap(this.clock);
    this.runs = new ExpiringMap(this.clock);
    this.cancels = new ExpiringMap(this.clock);
  }

  /** The ports of one more instance of this cluster. */
  ports(context: ClusterContext, options: MemoryInstanceOptions = {}): ClusterPorts {
    if (context.clock !== this.clock) {
      throw new Error(
        "Expected the runtime's clock to be its hub's, got another one; pass the same clock to new MemoryClusterHub({ clock }) and to createRuntime",
      );
    }
    const instanceId = `memory-${++this.instances}`;
    const queue = new MemorySessionQueue(this.queue, context.limits, context.onError);
    const bus = new MemoryEventBus(this.bus, instanceId, context.onError);
    return {
      instanceId,
      queue,
      limits: queue,
      state: this.state,
      store: new MemorySessionStore(this, instanceId, context.limits.historySize),
      bus,
      // Never cut: always ready, so `onReady` never runs.
      connection: { name: 'the in-memory hub', status: () => 'ready', onReady: () => undefined },
      sweepIntervalMs: options.sweepIntervalMs ?? 1000,
      work: options.work ?? true,
      close: () => {
        bus.close();
        return Promise.resolve();
      },
    };
  }
}
