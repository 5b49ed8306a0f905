/** The lease runner's settings, its table's entries, its constants and its retried settle (`lease-runner.ts`). */
import { type Clock, retriedWhileAway } from '../core/clock.js';
import type { LocalRuntime, ProviderLimitsConfig, ResolvedLimits } from '../runtime/backend.js';
import type {
  EventBus,
  Held,
  Lease,
  RunRecord,
  SessionQueue,
  SessionStore,
  SharedState,
} from '../runtime/ports.js';
import type { SessionHandle, SessionResult, SessionSummary, WaitingFor } from '../runtime/types.js';
import type { CallerRuns } from './caller-runs.js';
import { endedAt } from './job-data.js';
import type { LimitsView } from './limits-view.js';

/** What the processor may do to the queue's leasing: an instance at its bound stops leasing. */
export type Leasing = Pick<SessionQueue, 'pauseLeasing' | 'resumeLeasing'>;

/** A session leased here, from the lease until it ends here. */
export interface Leased {
  /** The lease that holds its job (a later one when leased again while it runs here, `run`). */
  lease: Lease;
  readonly done: Promise<void>; // its run here ended: a later lease of its job waits for it
  handle: SessionHandle | null;
  /** A cancellation heard before the session started here. */
  cancelReason: string | null;
  handover: boolean;
  /** Stopped because another instance holds its lease now (`LeaseRunner.leaseLost`): a later lease here runs it anew. */
  lost: boolean;
  /**
   * A fallback hop under way: the session stopped here and its run record, at its new target,
   * being written (it never fails: a failed write is reported and the hop resumes here), and the
   * summary it wrote with it.
   */
  hop: Promise<{
    readonly run: RunRecord;
    readonly recorded: boolean;
    readonly summary: SessionSummary;
  }> | null;
  /** Its stream's first delta went out: its run record says so (`RunRecord.streamed`). */
  streamed: boolean;
  /** The session's end as written once its run here ended (`RunsHere.settleHere`, `run-here.ts`); none if not written. */
  end: SessionResult | undefined;
  /** The wait at its gate (`waitingFor`) of the summary this run last wrote (`RunProgress`). */
  waiting?: WaitingFor | undefined;
}

/** The entry of a session just leased, `done` once its run here ends. */
export function leasedEntry(lease: Lease, done: Promise<void>): Leased {
  return {
    lease,
    done,
    handle: null,
    cancelReason: null,
    handover: false,
    lost: false,
    hop: null,
    streamed: false,
    end: undefined,
  };
}

export interface LeaseRunnerSettings {
  readonly local: LocalRuntime;
  readonly store: SessionStore;
  readonly bus: EventBus;
  readonly clock: Clock;
  readonly onError: (error: unknown) => void;
  /** A session leased here ended here (or was handed back). */
  readonly ended: () => void;
  /** Limits in providers' own units, kept in `sharedState`: a leased session starts only when they have room. */
  readonly limits: {
    readonly rates: ReadonlyMap<string, ProviderLimitsConfig>;
    /** What a call is charged against limits in tokens (docs/providers.md, "Token estimates"). */
    readonly charge: ResolvedLimits['charge'];
    /** Leased sessions this instance runs at once, across its providers (`take`). */
    readonly maxConcurrent: number;
    /** Each provider's sessions running at once across the cluster: its queue's concurrency. */
    readonly perProvider: Readonly<Record<string, number>>;
  };
  readonly sharedState: SharedState;
  /** Whether a moved hop's job is in its target's queue (`takeOver`); a handed-back session's deadline moved to its run deadline (`handBackAll`). */
  readonly queue: Pick<SessionQueue, 'waiting' | 'clearDeadline'>;
  /** The cluster's view of the limits: holds are recorded there. */
  readonly view: LimitsView;
  /** Each caller's share of the sessions running here (`limits.maxRunningPerCaller`). */
  readonly callers: CallerRuns;
}

/** How long a session held by a probe in flight waits before it looks again, in ms. */
export const PROBE_POLL_MS = 1000;
/** A lease Redis did not answer before its session started (a cut): its job alone waits a moment and is leased again. */
export const AWAY: Held = { retryInMs: PROBE_POLL_MS, modelOnly: true };
/** For a read Redis did not answer: reports the error, and the read gives nothing. */
export const unanswered =
  (s: Pick<LeaseRunnerSettings, 'onError'>) =>
  (error: unknown): undefined =>
    void s.onError(error);

export const SHUT_DOWN = 'this instance shut down; the session goes on elsewhere';
export const ENDED_ELSEWHERE = "the session ended elsewhere in the cluster (this run's lease had lapsed)";
export const LEASE_TAKEN =
  "this run's lease had lapsed and another instance took the session over; it goes on there";
export const LOST_MID_STREAM =
  "the instance running it stopped after its stream's deltas reached observers; running it again would repeat them";

/** How long a run record outlives the run deadline, in ms. */
export const RUN_RECORD_GRACE_MS = 60_000;

/** `settle`, retried while Redis is away (up to about 30 s): a finished session's end is not dropped. */
export function settleRetried(
  s: LeaseRunnerSettings,
  result: SessionResult,
  data: Lease['session'],
  signal: AbortSignal,
): Promise<boolean> {
  const written = () => s.store.settle(result, data.label, endedAt(data, result));
  return retriedWhileAway(s.clock, written, 61, 500, signal);
}
