/**
 * What a session run here tells the cluster while it runs (the other half of `lease-runner.ts`): its
 * events on the bus and, with `session.started`, `session.retry` and its stream's first delta, the
 * run record an instance taking it over resumes from (`RunRecord`). A fallback hop stops the run
 * here and is recorded at its new target first (`hopped`). Its wait at its gate between attempts,
 * when it begins and when it ends, goes out as its summary alone (`waited`). `session.ended` goes
 * out through the runner's `settle`, not here.
 */
import type { RuntimeEvent, SessionSummary } from '../runtime/types.js';
import { queuedEvent } from './job-data.js';
import { type Leased, type LeaseRunnerSettings, RUN_RECORD_GRACE_MS } from './lease-settings.js';

export class RunProgress {
  /** A delta failed to go out, and none has gone out since (`deltaFailed`). */
  private deltasFailing = false;

  constructor(
    /** The runner's table of the sessions leased here. */
    private readonly leased: ReadonlyMap<string, Leased>,
    private readonly s: LeaseRunnerSettings,
    /** A local end that is a stop to go on elsewhere, not the session's end (`LeaseRunner.stopped`). */
    private readonly stopped: () => void,
  ) {
    // Events of sessions run here go to the cluster; `session.ended` goes out through `settle`.
    s.local.subscribe((event) => {
      if (!('sessionId' in event) || event.type === 'session.queued' || event.type === 'session.ended')
        return;
      if (event.type === 'session.fallback') {
        // After the transition, before the hop's next call (the driver arms it on a timer).
        queueMicrotask(() => this.hopped(event.sessionId, event));
      } else if (event.type === 'session.started' || event.type === 'session.retry') {
        // After the transition that emitted it, so the summary shows it.
        queueMicrotask(() => this.recordRun(event.sessionId, event).catch(s.onError));
      } else if (event.type === 'session.delta')
        this.publishDelta(event.sessionId, event).then(this.deltaSent, this.deltaFailed);
      else s.bus.publish(event).catch(s.onError);
    });
    // After the change, once what it set off has run (a hop's record, an end), so the summary says where it is.
    s.local.onWaiting((id) => queueMicrotask(() => this.waited(id)));
  }

  /**
   * A session running here began or ended a wait at its gate between attempts (a retry, or a hop
   * resumed here, held by its target's limits): its summary alone, for every instance, as one
   * process shows it (`waitingFor`). One write when held, one when let go; none when its gate let it
   * go at once, nor when it stops here (a hop, a hand-back: their own writes say where it is). Until
   * 2026-12-06 the other instances, and this one, showed it running with no `waitingFor`.
   */
  private waited(id: string): void {
    const entry = this.leased.get(id);
    const summary = this.s.local.session(id);
    if (entry === undefined || entry.handover || entry.hop !== null || summary?.state !== 'running') return;
    if (summary.waitingFor === entry.waiting) return;
    entry.waiting = summary.waitingFor;
    this.s.store.putSummary(summary).catch(this.s.onError);
  }

  /**
   * A session leased here fell back: it stops here, and its run record at the new target is written
   * before it goes on (`RunsHere.run`, `run-here.ts`), so an instance taking it over never resumes
   * it on the target it left. Its `session.fallback` event goes out with that record.
   */
  private hopped(id: string, event: RuntimeEvent): void {
    const entry = this.leased.get(id);
    const summary = this.s.local.session(id);
    const run = this.s.local.runRecord(id);
    const handle = entry === undefined || entry.handover ? null : entry.handle;
    if (entry === undefined || handle === null || summary?.state !== 'running' || run === undefined) {
      this.recordRun(id, event).catch(this.s.onError);
      return;
    }
    const { timeoutMs } = entry.lease.session.input;
    entry.waiting = summary.waitingFor;
    entry.hop = this.s.store.putRunning(summary, event, run, timeoutMs + RUN_RECORD_GRACE_MS).then(
      () => ({ run, recorded: true, summary }),
      (error: unknown) => {
        this.s.onError(error);
        return { run, recorded: false, summary };
      },
    );
    this.stopped();
    handle.cancel('the session fell back; it resumes on its next target');
  }

  /**
   * A hop about to move to `provider`'s queue, whose slots (`limits.perProvider`) the cluster shows
   * all taken by others: it will wait there for one, and every instance shows it as one process does,
   * held by `maxConcurrent` (`summary`: the one its hop wrote). A summary alone, written before the
   * move; the lease that takes it up writes it again, as a takeover's does, when its gate holds it
   * (`waited`) or lets it go (its attempt's `session.started`: `recordRun`). None when the target
   * shows room. Until 2026-12-06 it showed `running` with no `waitingFor` while it waited there.
   */
  async moving(summary: SessionSummary | undefined, provider: string): Promise<void> {
    const slots = this.s.limits.perProvider[provider];
    const entry = this.leased.get(summary?.sessionId ?? '');
    if (summary === undefined || entry === undefined || slots === undefined) return;
    let taken = 0;
    for (const other of this.s.store.liveSessions())
      if (other.provider === provider && other.state === 'running' && other.sessionId !== summary.sessionId)
        taken++;
    if (taken < slots) return;
    entry.waiting = 'maxConcurrent';
    await this.s.store.putSummary({ ...summary, waitingFor: 'maxConcurrent' }).catch(this.s.onError);
  }

  /** Writes the run record and the summary, and publishes `event` with them; false if it is not running here. */
  private recordRun(id: string, event: RuntimeEvent): Promise<boolean> {
    const summary = this.s.local.session(id);
    // From the session's machine: attempts, start, run deadline and, with fallbacks, its target and route.
    const run = this.s.local.runRecord(id);
    const entry = this.leased.get(id);
    if (summary === undefined || run === undefined || entry === undefined || summary.state !== 'running')
      return Promise.resolve(false);
    const { timeoutMs } = entry.lease.session.input;
    const record = entry.streamed ? { ...run, streamed: true as const } : run;
    const ttlMs = timeoutMs + RUN_RECORD_GRACE_MS;
    entry.waiting = summary.waitingFor;
    return this.s.store.putRunning(summary, event, record, ttlMs).then(() => true);
  }

  /**
   * A session running here handed back to the queue at a shutdown: queued again for every instance,
   * its attempts and start kept, until an instance leases it (until 2026-12-06 the others showed it
   * `running` until then). Nothing when it had not started here.
   */
  requeued(id: string): Promise<void> {
    const entry = this.leased.get(id);
    const running = this.s.local.session(id);
    if (entry === undefined || running?.state !== 'running') return Promise.resolve();
    const { waitingFor: _held, ...summary } = running;
    const queued: SessionSummary = { ...summary, state: 'queued' };
    const event = { ...queuedEvent(entry.lease.session, this.s.store, []), at: this.s.clock.now() };
    return this.s.store.put(queued, event);
  }

  private readonly deltaSent = (): void => {
    this.deltasFailing = false;
  };

  /**
   * A delta that did not go out (Redis away): told once, saying what failed, until one goes out
   * again. Each delta is one publish: until 2026-12-07 each failed one was an error line of its own
   * saying only Redis's words, dozens a second for each answer streamed while Redis was down.
   */
  private readonly deltaFailed = (error: unknown): void => {
    if (this.deltasFailing) return;
    this.deltasFailing = true;
    const why = error instanceof Error ? error.message : String(error);
    this.s.onError(
      new Error(
        `Expected Redis to carry the deltas of sessions run here to the other instances, got ${why}; said once until one goes out`,
        { cause: error },
      ),
    );
  };

  /**
   * A delta of a session run here. The first one goes out with the run record that says the stream
   * began (so a takeover does not repeat it), in the same write: sent on the connection before the
   * deltas after it, it reaches observers before them.
   */
  private publishDelta(id: string, event: RuntimeEvent): Promise<unknown> {
    const entry = this.leased.get(id);
    if (entry === undefined || entry.streamed) return this.s.bus.publish(event);
    entry.streamed = true;
    return this.recordRun(id, event).then((sent) => (sent ? undefined : this.s.bus.publish(event)));
  }
}
