/**
 * The ports a cluster backend implements. The runtime's core (admission, the lifecycle, driving
 * each session's machine, building results) is written once, in this folder, and the cluster
 * composition over these ports once, in `src/scale/cluster-runtime.ts`; a backend supplies only
 * a `ClusterPorts`. Redis implements them in `src/scale/` (BullMQ queues, a Redis hash and result
 * keys, pub/sub); in memory, `memory-ports/` implements them in one process (`MemoryClusterHub`).
 * The default runtime (`createRuntime()` with no backend) uses none of them: it is the fast local
 * path, where the scheduler, the session table and the event hub play these roles synchronously.
 *
 * Every method that talks to a shared server is async and may reject; the caller either awaits it
 * or hands the rejection to the runtime's one `onError` reporter.
 */
import type { RoutingData } from '../../machines/routing.js';
import type { SessionInput } from '../../machines/session.js';
import type { Clock } from '../core/clock.js';
import type { ChatRequest } from '../providers/port.js';
import type { RuntimeEvent, SessionResult, SessionSummary } from './types.js';

/** A queued session as plain data: all any instance needs to run it. */
export interface QueuedSession {
  readonly input: SessionInput;
  readonly request: ChatRequest;
  readonly label?: string;
  readonly caller?: Readonly<Record<string, unknown>>;
  readonly callerTruncated?: boolean;
  /** Its turn among callers in its queue (`QueueRoom.depthOf` at the instance it was submitted to); 0 when absent. */
  readonly depth?: number;
}

/** A session's caller metadata as its submitter capped it: its results' `metadata.caller` and `metadata.truncated`. */
export type CallerOf = Pick<QueuedSession, 'caller' | 'callerTruncated'>;

/** A leased session its provider's limits held back: back to wait for `retryInMs`. */
export interface Held {
  readonly retryInMs: number;
  /** Only this session waits (held by a limit of its model, or by a cooldown it may leave for a fallback), not its provider's whole queue. */
  readonly modelOnly: boolean;
  /** Held by its provider's cooldown while this session probes it: its end wakes it (`SessionQueue.wake`). */
  readonly probe?: string;
  /**
   * Held by its caller's share of the sessions running at this instance (`limits.maxRunningPerCaller`):
   * one of that caller's sessions ending here lets it (or another of that caller's held here) go
   * again (`SessionQueue.wakeCaller`). With `modelOnly`: only this session waits.
   */
  readonly caller?: string;
}

/** A session this instance leased from the queue, to run here. */
export interface Lease {
  readonly session: QueuedSession;
  /** The provider whose queue (and concurrency) it was leased from: after a fallback hop, the one it moved to. */
  readonly provider: string;
  /** Gives the session back to the queue (this instance stops); another takes it up. */
  handBack(): Promise<void>;
  /**
   * A fallback hop to another provider: puts the session in `provider`'s queue ahead of its queued
   * sessions, to resume there from its run record (it counts in that provider's concurrency); this
   * lease ends when its run returns. It may be leased there at once, before this lease has ended
   * and before `moveTo` answers (as on BullMQ). Adding it twice changes nothing. While it waits
   * there, its `deadlineAt` (its run deadline) is its queue deadline, and `withdraw(provider, id)`
   * gives it back with its `input.provider` still the first one: the composition ends it from its
   * run record.
   */
  moveTo(provider: string, deadlineAt: number): Promise<void>;
  /**
   * Aborted once the queue has learned that another instance holds this session's lease now (its
   * lock lapsed while this instance ran it, and the other leased it): this run is no longer the
   * session's. Only a shared queue sets it.
   */
  readonly lost?: AbortSignal;
}

/**
 * Where sessions wait, in priority order, under the shared limits; instances lease them. A lease
 * lost with its instance (kill -9) returns to the queue by itself.
 */
export interface SessionQueue {
  add(session: QueuedSession): Promise<void>;
  /** Takes a session out if it is still waiting; `undefined` when it was leased or is gone. */
  withdraw(provider: string, sessionId: string): Promise<QueuedSession | undefined>;
  /**
   * Whether the session is still in the queue at all: waiting, delayed or leased (its job exists;
   * BullMQ removes a job only after its result is set). Used after a reconnect to tell a queue that
   * came back empty from a slow one.
   */
  waiting(provider: string, sessionId: string): Promise<boolean>;
  /** Waiting sessions whose queue deadline is at or before `now` (at most `limit`), from every instance. */
  overdue(now: number, limit: number): Promise<{ readonly provider: string; readonly sessionId: string }[]>;
  /**
   * Forgets a queue deadline whose session is no longer waiting (and its place in the arrival order),
   * or, with `until`, moves it there (a session that started: its run deadline; nothing if it had none).
   */
  clearDeadline(provider: string, sessionId: string, until?: number): Promise<void>;
  /**
   * The session `sessionId` of `provider` ended, retries or left it for a fallback, somewhere: if it
   * was probing the provider (so its probe was answered), the sessions this instance put back as
   * delayed behind it (`Held.probe`) look at the limits again now rather than at the probe's lapse.
   * No command unless this instance delayed some behind it; one put back while the probe's end came
   * is looked at too.
   */
  wake(provider: string, sessionId: string): void;
  /**
   * One of `caller`'s sessions running at this instance ended: the first of that caller's sessions
   * this instance put back as delayed (`Held.caller`) waits again now, rather than at its delay's end;
   * one put back while the place freed goes at once. Only one: each place lets one go.
   */
  wakeCaller(caller: string): void;
  /**
   * Starts leasing sessions to `run`; its promise settles when the session ended here, or with
   * `Held` when its provider's limits have no room: the session goes back to wait, in its place.
   */
  lease(run: (lease: Lease) => Promise<Held | undefined>): void;
  /**
   * This instance takes no new lease until `resumeLeasing` (it runs `limits.maxConcurrent` leased
   * sessions); the sessions it holds go on. A lease already on its way may still arrive.
   */
  pauseLeasing(): void;
  resumeLeasing(): void;
  /** Stops leasing; leased sessions go on. */
  stopLeasing(): Promise<void>;
  close(): Promise<void>;
}

/**
 * The queue's own concurrency limit per provider, which BullMQ enforces for every instance
 * (`setGlobalConcurrency`). Everything else every instance shares (a provider's rate limiter and
 * cooldown, circuit breakers, budgets) is a small state in `SharedState`.
 */
export interface SharedLimits {
  /** Sets the cluster-wide limits (again after a reconnect: a Redis that came back empty lost them). */
  apply(): Promise<void>;
}

/**
 * Small shared states (a provider's limiter and cooldown, a breaker, a budget), each under a key,
 * changed atomically. The updates of one key made by one instance apply in the order they were
 * made (`Limiter.tryStartFresh` relies on it: an ask made after a settle finds what it wrote).
 * A failure is a rejection; the limits, the breakers and the budgets take a throw as one
 * (`rejectingState`; until 2026-12-06 only the limits did).
 */
export interface SharedState {
  /** Reads the JSON-able state under `key` (or `init()` when none), applies `change` (pure; may run more than once on a conflict), stores the state it returns (expiring after `ttlMs` when given) and resolves to its `result`. */
  update<S, R>(
    key: string,
    init: () => S,
    change: (state: S) => { readonly state: S; readonly result: R },
    ttlMs?: number,
  ): Promise<R>;
  read<S>(key: string): Promise<S | undefined>;
}

/** What an instance running a session records, so another can take it up after a crash. */
export interface RunRecord {
  readonly attempts: number;
  readonly startedAt: number;
  readonly runDeadlineAt: number;
  /** With fallbacks: where it is in its chain (the current target and the route so far), plain data. */
  readonly routing?: RoutingData;
  /** Its stream's deltas reached observers: taken over, it ends rather than run again (and repeat them). */
  readonly streamed?: true;
}

/** What a leased session needs to know before it starts: all in one read. */
export interface LeaseState {
  readonly ended: boolean;
  readonly run: RunRecord | undefined;
  readonly cancelReason: string | null;
  /**
   * Its live summary is there (`put` wrote it): its submitter's enqueue landed whole. A job without
   * one (its summary refused or cut off at `submit`, its caller told `BACKEND_UNAVAILABLE`) runs
   * nowhere: it ends so, with no call. Its summary may be a moment late (another connection).
   */
  readonly confirmed: boolean;
}

/**
 * Live sessions and results. `settle` ends a session exactly once across every instance: it
 * sets the result only if none is set. Reads of live sessions are from a local mirror, so
 * `status()` and `session(id)` stay synchronous.
 */
export interface SessionStore {
  liveSession(id: string): SessionSummary | undefined;
  liveSessions(): Iterable<SessionSummary>;
  ended(id: string): SessionSummary | undefined;
  /**
   * The newest ended sessions, at most `limit`; with `owner`, only those of that `metadata.owner`.
   * With `after` (a session id), those older than it in the same list, reading none before it: a
   * page of a listing goes on from its last entry, its cost the page's (none when `after` is not
   * in the history, or is not `owner`'s).
   */
  recent(limit: number, owner?: string, after?: string): SessionSummary[];
  /**
   * Keeps an end in this instance's history only, as the newest: a task's (`run`), which runs on
   * this instance alone and is told nobody else. `recent` lists it among the cluster's ends in the
   * one order they came here, so a page after a cursor of either kind reads on from its entry.
   */
  remember(summary: SessionSummary): void;
  /** Loads (or reloads, after a reconnect) the mirror of live sessions. */
  load(): Promise<void>;
  /** Applies one message heard on the bus to the mirror. */
  apply(message: BusMessage): void;
  /**
   * A live summary, unless the session has ended meanwhile; tells the cluster. With `caller` (a
   * submit's), its caller metadata is kept beside it, in the same write, until the session ends:
   * the one end built from the summary alone (`orphanEnd`) carries it as the job would have.
   */
  put(summary: SessionSummary, event: RuntimeEvent, caller?: CallerOf): Promise<void>;
  /** The caller metadata `put` kept beside a live summary; `undefined` when none was (nor after its end). */
  callerOf(id: string): Promise<CallerOf | undefined>;
  /**
   * A live summary whose change no event tells (a running session's wait at its gate, begun or
   * ended), unless the session has ended meanwhile; every instance's reads show it, and subscribers
   * hear nothing (a summary-only `BusMessage`).
   */
  putSummary(summary: SessionSummary): Promise<void>;
  /** A running session's summary and its run record, in one write. */
  putRunning(summary: SessionSummary, event: RuntimeEvent, run: RunRecord, ttlMs: number): Promise<void>;
  /**
   * Ends a session if nobody has; `true` when this call did, or when this very end was written
   * already (a retry of a settle whose answer was lost: the same result, as written), so a retry
   * never reads as another's end. `endedAt` is when it ended, on the
   * clock of the instance that ended it (`endedAt()` in `src/scale/job-data.ts`): its
   * `session.ended` event says so, however late the settle is written (a store that was away).
   */
  settle(result: SessionResult, label: string | undefined, endedAt: number): Promise<boolean>;
  result(id: string): Promise<SessionResult | undefined>;
  /**
   * The submitter has told its caller the end: the stored result need keep only the mark that ends
   * the session (`settle`'s exactly-once, `leaseState().ended`), not its content; `result(id)` then
   * reads `undefined`. Optional: a store in the caller's own process has nobody else to keep it for.
   */
  delivered?(result: SessionResult): Promise<void>;
  leaseState(id: string): Promise<LeaseState>;
  /** Marks a session cancelled, for an instance that leases it before it hears. */
  markCancelled(id: string, reason: string): Promise<void>;
  /** Ends a session in the mirror only (the shared server could not be told). */
  forget(result: SessionResult): void;
  /** Puts the cluster's end in the mirror in place of one `forget` told while the shared server did not answer. */
  correctEnded(result: SessionResult, endedAt: number): void;
}

/**
 * What travels on the bus: an event and the session's summary after it, or a summary alone (a
 * change no event tells, `SessionStore.putSummary`: instances mirror it, subscribers hear nothing).
 */
export type BusMessage = EventMessage | SummaryMessage;

export interface EventMessage {
  readonly origin: string;
  readonly event: RuntimeEvent;
  readonly summary?: SessionSummary;
}

export interface SummaryMessage {
  readonly origin: string;
  readonly event?: undefined;
  readonly summary: SessionSummary;
}

export interface CancelMessage {
  readonly sessionId: string;
  readonly reason: string;
}

/** Events and cancellations between instances. */
export interface EventBus {
  publish(event: RuntimeEvent): Promise<void>;
  publishCancel(message: CancelMessage): Promise<void>;
  /** Starts listening; `reconnected` runs when the bus comes back after a cut. */
  listen(handlers: {
    readonly event: (message: BusMessage) => void;
    readonly cancel: (message: CancelMessage) => void;
    readonly reconnected: () => void;
  }): Promise<void>;
}

/** The shared server's connection, as the cluster composition needs to know it. */
export interface ClusterConnection {
  /** What to name in errors: `Redis`, `the in-memory hub`. */
  readonly name: string;
  /** `'ready'` while the server answers; anything else (e.g. `'reconnecting'`) while it does not. */
  status(): string;
  /** `listener` runs each time the connection is ready again after a cut. */
  onReady(listener: () => void): void;
}

/** What the cluster composition needs to build its ports: known before the local runtime exists. */
export interface ClusterContext {
  readonly providers: readonly string[];
  readonly limits: {
    readonly perProvider: Readonly<Record<string, number>>;
    readonly maxConcurrent: number;
    readonly fairnessEvery: number;
    readonly historySize: number;
  };
  readonly clock: Clock;
  readonly onError: (error: unknown) => void;
}

/** Everything one cluster instance is built on: the ports, and how this instance takes part. */
export interface ClusterPorts {
  /** This instance, unique in its cluster: the `origin` of what it publishes. */
  readonly instanceId: string;
  readonly queue: SessionQueue;
  readonly limits: SharedLimits;
  readonly state: SharedState;
  readonly store: SessionStore;
  readonly bus: EventBus;
  readonly connection: ClusterConnection;
  /** How often this instance ends queued sessions past their deadline, whoever submitted them, in ms. */
  readonly sweepIntervalMs: number;
  /** Whether this instance leases sessions to run; `false` makes it a front that only submits and reads. */
  readonly work: boolean;
  /** Closes what the ports hold (connections); the last step of `shutdown()`. */
  close(): Promise<void>;
  /**
   * Drops every connection at once, without waiting for an answer: what `shutdown()` does when it
   * could not close within `closeTimeoutMs` (a server that stopped answering). None when closing
   * cannot hang (in memory).
   */
  readonly disconnect?: () => void;
  /** How long `shutdown()` may take to close after its drain deadline, in ms. @default 10000 */
  readonly closeTimeoutMs?: number;
}
