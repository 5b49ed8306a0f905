/**
 * A leased session's run here, for the lease runner (`lease-runner.ts`), once its lease may run:
 * the local runtime runs it (`adopt`, the same session machine, restored from a run record when
 * taken over) until it ends here or a fallback hop stops it; a hop to another provider moves it to
 * that provider's queue, one to the same provider resumes it here. Its end is written through the
 * store's exactly-once `settle` (`settleHere`); one written first elsewhere is the session's.
 */
import type { AdoptedSession, Limiter } from '../runtime/backend.js';
import type { Held, Lease, LeaseState } from '../runtime/ports.js';
import type { FinalState, SessionResult } from '../runtime/types.js';
import { coolsPastRun } from './hop-target.js';
import { labelOf, targetProvider } from './job-data.js';
import { AWAY, type Leased, type LeaseRunnerSettings, SHUT_DOWN } from './lease-settings.js';
import type { RunProgress } from './run-progress.js';

export class RunsHere {
  constructor(
    private readonly s: LeaseRunnerSettings,
    private readonly limiter: Limiter,
    private readonly progress: RunProgress,
    /** The runner's local ends that were not the session's end (`LeaseRunner.stopped`), counted here too. */
    private readonly notEnds: Record<FinalState, number>,
    /** Whether the runner is draining (`LeaseRunner.stopTaking`): an end not written then hands its job back. */
    private readonly closing: () => boolean,
    /** The runner's retried settle, which gives up once the close lets go of Redis. */
    private readonly settle: (result: SessionResult, data: Lease['session']) => Promise<boolean>,
  ) {}

  /**
   * Runs a leased session in the local runtime until it ends here, then settles it. A fallback hop
   * stops it here and is recorded first (`RunProgress.hopped`): to another provider, the session
   * moves to that provider's queue, whose concurrency it then counts in (this lease ends, and the
   * first provider admits its next session); to the same one, it resumes here from that record.
   * A move that failed is left to the job's next lease (`AWAY`), as a taken-over hop's is.
   */
  async run(
    entry: Leased,
    state: LeaseState,
    admitted: Pick<AdoptedSession, 'limitStart' | 'reroute'> | undefined,
  ): Promise<Held | undefined> {
    const data = entry.lease.session;
    let restore = state.run;
    let charged = admitted;
    let cancelled = state.cancelReason ?? entry.cancelReason;
    for (;;) {
      const handle = this.s.local.adopt({
        input: data.input,
        request: data.request,
        ...labelOf(data),
        ...(data.caller === undefined ? {} : { caller: data.caller }),
        callerTruncated: data.callerTruncated === true,
        ...(restore === undefined ? {} : { restore }),
        ...charged,
        // Handed back while it waited for the store or the limits: it ends before its call starts.
        ...(entry.handover ? { signal: AbortSignal.abort(SHUT_DOWN) } : {}),
      });
      entry.handle = handle;
      if (entry.handover) this.notEnds.cancelled++;
      else if (cancelled !== null) handle.cancel(cancelled);
      const result = await handle.result;
      const hop = entry.hop;
      if (hop === null) {
        if (!entry.handover) await this.settleHere(entry, result);
        return undefined;
      }
      const { run, recorded, summary } = await hop;
      restore = run;
      entry.handle = null;
      charged = undefined;
      if (entry.handover) return undefined;
      const at = targetProvider(data.input, restore);
      // Not recorded: moved, it would be resumed from the old record, on the target it left. A
      // target cooling down past its run deadline: it resumes here to move on (`coolsPastRun`).
      const elsewhere = at !== entry.lease.provider && entry.cancelReason === null && recorded;
      if (elsewhere && !(await coolsPastRun(this.limiter, data.input, restore, this.s))) {
        try {
          // Until it is moved a cancel goes to the cluster (`cancel`): marked, the moved job ends cancelled.
          await this.progress.moving(summary, at);
          await entry.lease.moveTo(at, restore.runDeadlineAt);
          return undefined;
        } catch (error) {
          // Not answered (a cut): its add may have landed. Until 2026-12-07 it resumed here, calling
          // its target from this lease, so this provider's queue counted a session that no longer
          // called it (and, the add landed, the target's queue counted it too). Now this job waits a
          // moment and its next lease moves it again, or finds the move landed and ends (`takeOver`).
          this.s.onError(error);
          return AWAY;
        }
      }
      entry.hop = null;
      cancelled = entry.cancelReason;
    }
  }

  /**
   * Writes the end of a session that ended here (`entry.end`: that end, or the one written first).
   * One written first elsewhere is the session's end: the local one is not counted here (`LeaseRunner.stopped`).
   * Not written (Redis away past the retries, or the close let go of it: `LeaseRunner.letGo`), it is reported and
   * it is not the session's end. Outside a shutdown BullMQ fails the job (a later backstop ends the
   * session). At a shutdown the local end is not counted, the caller here is not told it, and the
   * job goes back to the queue, or keeps its lapsing lock if Redis is away: the instance that takes
   * it over ends it, as after a kill (a stream whose deltas went out: `cancelled`, without its text).
   */
  private async settleHere(entry: Leased, result: SessionResult): Promise<void> {
    const data = entry.lease.session;
    try {
      const written = await this.settle(result, data);
      if (written) {
        entry.end = result;
        return;
      }
      // Ended first elsewhere (a lapsed lease's other run): that end is the session's, counted there.
      // (A retry that found this very end written is `written`: the store tells it.)
      this.notEnds[result.metadata.state]++;
      entry.end = await this.s.store
        .result(data.input.sessionId)
        .catch((e: unknown) => void this.s.onError(e));
    } catch (error) {
      this.s.onError(error);
      if (!this.closing()) throw error;
      this.notEnds[result.metadata.state]++;
      if (!entry.handover) await entry.lease.handBack().catch(this.s.onError);
    }
  }
}
