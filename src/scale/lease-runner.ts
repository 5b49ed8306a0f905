/**
 * The instance's side of the shared queue: runs each session it leases in the local in-memory
 * runtime (`adopt`, the same session machine), records what a takeover needs once it starts, and
 * ends it through the store's exactly-once `settle`. On shutdown it hands running sessions back to
 * the queue, to be taken up elsewhere as a further attempt (a stream that began ends here). What
 * stays here is the lease: whether and how its session may run (confirmed, cancelled while queued,
 * past its queue deadline, taken over, the shared limits' answer: `lease-limits.ts`), the table of
 * the sessions leased here, cancels and the hand-back. The run itself in the local runtime, its
 * hops and the write of its end are `run-here.ts`; what a run tells the cluster while it runs
 * (events, run records, a hop's record) is `run-progress.ts`.
 */
import { Limiter, resultOf } from '../runtime/backend.js';
import type { Held, Lease, RunRecord } from '../runtime/ports.js';
import type { FinalState, SessionResult } from '../runtime/types.js';
import { confirmedState, unconfirmedEnd } from './confirmed.js';
import { releaseLost, takeOver } from './hop-target.js';
import { cancelledAt, targetProvider } from './job-data.js';
import { askLimits } from './lease-limits.js';
import {
  AWAY,
  ENDED_ELSEWHERE,
  LEASE_TAKEN,
  type Leased,
  type LeaseRunnerSettings,
  type Leasing,
  LOST_MID_STREAM,
  leasedEntry,
  SHUT_DOWN,
  settleRetried,
  unanswered,
} from './lease-settings.js';
import { RunsHere } from './run-here.js';
import { RunProgress } from './run-progress.js';

export type { LeaseRunnerSettings } from './lease-settings.js';

export class LeaseRunner {
  private readonly leased = new Map<string, Leased>();
  private readonly limiter: Limiter;
  /** Local ends not the session's: stops to go on (a hop, a hand-back, an end written elsewhere; each the local runtime's `cancelled`), ends a shutdown could not write. */
  private readonly notEnds: Record<FinalState, number> = { done: 0, failed: 0, timedOut: 0, cancelled: 0 };
  /** Draining (`stopTaking`): a lease that arrives goes back to the queue at once, but one of a session running here (`take`). */
  private closing = false;
  /** Aborted when the close lets go of Redis (`letGo`): an end still being written gives up. */
  private readonly lettingGo = new AbortController();

  private readonly progress: RunProgress;
  /** The runs here of the sessions whose lease may run (`run-here.ts`). */
  private readonly runs: RunsHere;
  constructor(private readonly s: LeaseRunnerSettings) {
    this.limiter = new Limiter(s.limits.rates, s.sharedState);
    this.progress = new RunProgress(this.leased, s, () => this.notEnds.cancelled++);
    this.runs = new RunsHere(s, this.limiter, this.progress, this.notEnds, () => this.closing, this.settle);
  }

  get size(): number {
    return this.leased.size;
  }

  /** The local ends that were not the session's end, by state (`metrics()` takes them out). */
  get stopped(): Readonly<Record<FinalState, number>> {
    return this.notEnds;
  }

  has = (id: string): boolean => this.leased.has(id);
  /** The sessions leased here (`Cancels.missed`, cancels.ts). */
  running = (): string[] => [...this.leased.keys()];

  /** Cancels a session running here (the cluster marks it too: its end may not be written); false otherwise: not
   * started (a limit may send it back), mid-hop or let go (handed back, ended elsewhere), its reason kept for a start. */
  cancel(id: string, reason: string): boolean {
    const entry = this.leased.get(id);
    if (entry === undefined) return false;
    if (entry.hop !== null || entry.handle === null || entry.handover) {
      entry.cancelReason ??= reason;
      return false;
    }
    entry.handle.cancel(reason);
    return true;
  }

  /**
   * The session's one end was written (heard on the bus) while it runs here: its lease had lapsed
   * and another instance ran it too (this one starved of CPU or frozen, or Redis frozen past the
   * locks), and one of the two settled first. The run here stops, its provider call with it, and
   * settles nothing: it would be a second paid call, holding a slot, for a session already ended.
   * The echo of this run's own settle finds its handle ended: stopping it does nothing.
   */
  endedElsewhere(id: string): void {
    const entry = this.leased.get(id);
    if (entry === undefined || entry.handover) return;
    entry.handover = true;
    // Not started yet, or between hops: `RunsHere.run` sees `handover` and ends it without a call.
    if (entry.hop === null && entry.handle?.cancel(ENDED_ELSEWHERE) === true) this.notEnds.cancelled++;
  }

  /**
   * Another instance holds the lease of a session running here (`Lease.lost`): this instance's lock
   * lapsed while it ran it (starved of CPU or frozen past `lockDurationMs`), a stalled check put its
   * job back and the other leased it, to run it from its run record. The run here stops as soon as
   * this is learned, its provider call with it, and settles nothing. Until 2026-12-07 it went on
   * until one of the two runs ended the session, both calling the provider at once. A run that has
   * already ended here is left to write its end, and a lease that is no longer this run's is ignored.
   */
  private leaseLost(id: string, lease: Lease): void {
    const entry = this.leased.get(id);
    if (entry === undefined || entry.lease !== lease || entry.handover) return;
    const handle = entry.hop === null ? entry.handle : null;
    if (handle !== null && !handle.cancel(LEASE_TAKEN)) return;
    entry.handover = true;
    entry.lost = true;
    if (handle !== null) this.notEnds.cancelled++;
  }

  /** Tells `leaseLost` of `lease` once its queue learns another instance holds it. */
  private watchLost(id: string, lease: Lease): void {
    lease.lost?.addEventListener('abort', () => this.leaseLost(id, lease), { once: true });
  }

  /** What the call of a session withdrawn from a lapsed lease held (`releaseLost`) is free now. */
  releaseLost(input: Lease['session']['input'], run: RunRecord): Promise<void> {
    return releaseLost(this.limiter, input, run, this.s.clock.now(), this.s);
  }

  /**
   * A fallback hop that waited in `provider`'s queue, withdrawn from it (cancelled, or past its run
   * deadline): it ends here from its run record, its route kept, without a call.
   */
  async endMoved(session: Lease['session'], provider: string): Promise<void> {
    const ignore = () => Promise.resolve();
    await this.moved(session.input.sessionId, provider);
    await this.run({ session, provider, handBack: ignore, moveTo: ignore });
  }

  /** A hop moved to `provider`'s queue and leased there before its run here let go (BullMQ adds the job at
   * once, a fetch may beat `moveTo`'s answer): waits for that run to end. Joined to it as a lapsed lock's
   * lease is (`run`), it would end with its job, never called. */
  private async moved(id: string, provider: string): Promise<void> {
    const left = this.leased.get(id);
    if (left !== undefined && left.lease.provider !== provider) await left.done;
  }

  /**
   * The queue's processor. An instance runs at most `limits.maxConcurrent` leased sessions, across
   * its providers, as one process does: at the bound it takes no new lease (`pauseLeasing`) until
   * one ends, and one already on its way is handed back at once, for an instance with room.
   */
  async take(lease: Lease, queue: Leasing): Promise<Held | undefined> {
    const max = this.s.limits.maxConcurrent;
    const id = lease.session.input.sessionId;
    await this.moved(id, lease.provider);
    // Its run here stopped for a lost lease (`leaseLost`): this lease runs it anew once that run let
    // go (joined, it would end with that run, the session never ended).
    for (let left = this.leased.get(id); left?.lost === true; left = this.leased.get(id)) await left.done;
    // A session already running here (its lease lapsed) is joined (`run`), not counted, draining too:
    // handed back, it would run or end elsewhere while it still runs or ends here (a stream ending
    // here with its partial, raced by a taker ending it without). Unless it is itself being handed
    // back. A new one goes back when draining (nothing would stop it here) or at the bound.
    const running = this.leased.get(id);
    const back =
      running === undefined ? this.closing || this.leased.size >= max : this.closing && running.handover;
    if (back) {
      await lease.handBack();
      return undefined;
    }
    // Its caller runs its share here: it goes back, delayed, alone (`caller-runs.ts`).
    const held = running === undefined ? this.s.callers.take(lease.session) : undefined;
    if (held !== undefined) return await this.s.view.holdCaller(id, held);
    const ran = this.run(lease);
    if (this.leased.size >= max) queue.pauseLeasing();
    try {
      return await ran;
    } finally {
      if (running === undefined) this.s.callers.give(id);
      if (this.leased.size < max) queue.resumeLeasing();
    }
  }

  /** Runs one leased session here. */
  async run(lease: Lease): Promise<Held | undefined> {
    const data = lease.session;
    const id = data.input.sessionId;
    const running = this.leased.get(id);
    if (running !== undefined) {
      // Leased again while it runs here (its lock lapsed): it goes on under the new lease, no second call.
      running.lease = lease;
      this.watchLost(id, lease);
      await running.done;
      return undefined;
    }
    let finish = () => {};
    const done = new Promise<void>((resolve) => (finish = resolve));
    const entry = leasedEntry(lease, done);
    // From here on a cancellation heard on the bus is kept until the session starts.
    this.leased.set(id, entry);
    this.watchLost(id, lease);
    try {
      // Only a job its submitter confirmed runs; one whose summary never landed ends as its caller was told.
      // Unanswered (a cut, a reconnect): thrown, BullMQ would drop the job, the session left to its backstop.
      const gone = () => entry.handover;
      const state = await confirmedState(this.s, id, gone, this.lettingGo.signal).catch(unanswered(this.s));
      if (state === undefined) return AWAY;
      if (state.ended || entry.handover) return;
      if (!state.confirmed) return void (await this.settle(unconfirmedEnd(data, this.s.clock.now()), data));
      // Cancelled while queued, and leased before the withdrawal: it ends with no provider call.
      const early = state.run === undefined ? (state.cancelReason ?? entry.cancelReason) : null;
      if (early !== null) return void (await this.cancelEarly(data, early));
      const now = this.s.clock.now();
      // Leased past its queue deadline (a sweep came late): it times out uncharged, naming what held it, as in memory.
      if (state.run === undefined && now >= data.input.queueDeadlineAt) {
        const held = await this.s.view.heldBy(data.input).catch(unanswered(this.s));
        await this.settle(resultOf(data, [{ type: 'session.tick', now }], held), data);
        return;
      }
      // Taken over: it resumes between attempts, and its next call asks the limits of its route's current
      // target as any retry does (charged once, to the right provider). A hop recorded but not yet moved
      // (its instance lost in between) moves on to its target's queue first; a job a move left, freeing nothing.
      if (state.run !== undefined) {
        // Its deltas reached observers before its instance was lost: running it again would repeat them.
        // Past its run deadline it times out, as it would have where it ran (until 2026-12-07 `cancelled`).
        if (state.run.streamed === true && now < state.run.runDeadlineAt)
          entry.cancelReason ??= LOST_MID_STREAM;
        const at = targetProvider(data.input, state.run);
        const taken = takeOver(this.limiter, this.s, data.input, state.run, lease.provider);
        const next = await taken.catch(unanswered(this.s));
        if (next === undefined) return AWAY;
        if (next !== 'here') {
          if (next === 'move') await this.progress.moving(this.s.store.liveSession(id), at);
          // Unanswered (a cut): thrown, BullMQ would drop the job. It waits a moment, and its next lease moves
          // it again (a job id is added once: one that landed is not doubled; one run there ends this one).
          const moved = await lease.moveTo(at, state.run.runDeadlineAt).then(() => true, unanswered(this.s));
          return moved === true ? undefined : AWAY;
        }
        return await this.runs.run(entry, state, undefined);
      }
      // The shared limits (windows, cooldown): no room, and it goes back to wait in its place (`lease-limits.ts`).
      const asked = await askLimits(this.limiter, this.s, data, now);
      if (!('got' in asked)) return asked;
      const { start, got, reroute } = asked;
      if (got.ok && entry.cancelReason !== null) {
        await this.limiter
          .giveBackWhileAway(this.s.clock, data.input.provider, start, got.probe, this.lettingGo.signal)
          .catch(this.s.onError);
        return void (await this.cancelEarly(data, entry.cancelReason));
      }
      return await this.runs.run(entry, state, reroute === undefined ? { limitStart: start } : { reroute });
    } finally {
      this.leased.delete(id);
      finish();
      this.s.ended();
    }
  }

  /** Ends with no call a session cancelled while queued or while its lease asked (adopted, it called: until 2026-12-06). */
  private cancelEarly(data: Lease['session'], reason: string): Promise<boolean> {
    return this.settle(cancelledAt(data, this.s.clock.now(), reason), data);
  }

  /** From now on a lease that arrives goes back to the queue at once, unless its session runs here (joined: `take`). */
  stopTaking(): void {
    this.closing = true;
  }

  /**
   * Hands every running session but those `kept` (to be cancelled here) back to the queue, all marked
   * first (one whose hand-back never answers lapses instead); returns their ids. A stream whose deltas
   * went out would only be ended by a taker, with none of its text: it ends here, with its `partial`.
   */
  async handBackAll(kept: ReadonlySet<string> = new Set()): Promise<string[]> {
    this.closing = true;
    const entries = [...this.leased].filter(([id]) => !kept.has(id));
    const streamed = entries.filter(([, entry]) => entry.streamed);
    const back = entries.filter(([, entry]) => !entry.streamed);
    for (const [, entry] of back) entry.handover = true;
    await Promise.all([
      ...back.map(async ([id, entry]) => {
        // Queued again for every instance, what it ran kept, before its job is back (a taker's start
        // comes after); the job is back before the run here stops: its processor returns only then.
        await this.progress.requeued(id).catch(this.s.onError);
        // Swept at its run deadline while it waits, also one before its queue deadline (until 2026-12-07
        // it waited to that queue deadline when no instance took it up).
        const run = this.s.local.runRecord(id);
        if (run !== undefined)
          await this.s.queue.clearDeadline(entry.lease.provider, id, run.runDeadlineAt).catch(this.s.onError);
        await entry.lease.handBack().catch(this.s.onError);
        if (entry.handle?.cancel(SHUT_DOWN) === true) this.notEnds.cancelled++;
      }),
      ...streamed.map(([, entry]) => {
        entry.handle?.cancel(LOST_MID_STREAM);
        return entry.done;
      }),
    ]);
    return back.map(([id]) => id);
  }

  /**
   * The end of a session running here whose stream went out, which ends here at a shutdown: once
   * written, that end (or the one written first); `undefined` if it could not be written, and then
   * the session goes on in the cluster (`RunsHere.settleHere`).
   */
  streamedHere(id: string): Promise<SessionResult | undefined> | undefined {
    const entry = this.leased.get(id);
    return entry?.streamed === true ? entry.done.then(() => entry.end) : undefined;
  }

  /** The close lets go of Redis: an end still being written gives up at once (`RunsHere.settleHere`). */
  letGo(): void {
    this.lettingGo.abort();
  }

  /** Resolves once the session run here (if any) has ended and let go of its lease. */
  ended = (id: string): Promise<void> => this.leased.get(id)?.done ?? Promise.resolve();

  private readonly settle = (result: SessionResult, data: Lease['session']): Promise<boolean> =>
    settleRetried(this.s, result, data, this.lettingGo.signal);
}
