/**
 * The in-memory runtime's admission loop: what starts next, and when. A pass lets go the due
 * retries its provider's limits held, moves on the queued sessions a cooldown holds past their
 * queue deadline, then admits by the scheduler's order while there is room. A pass runs on a
 * submit, after an end or a call's outcome (`soon`, in a microtask), and when the limits' alarm
 * rings. `retry` answers the session driver's question whether a due retry may go now.
 */
import type { SessionMachineEvent } from '../../machines/session.js';
import type { Clock } from '../core/clock.js';
import type { QueueRoom } from '../core/queue-room.js';
import type { Scheduler } from '../core/scheduler.js';
import type { Lending, LentSlotStarter } from './lending.js';
import type { LocalLimits } from './local-limits.js';
import { heldGoes } from './reroute.js';
import type { RunningShare } from './running-share.js';
import type { SessionRecord } from './session-record.js';

/** What the loop reads and moves; the runtime's composition (`local-runtime.ts`) gives them. */
export interface PumpPorts {
  readonly clock: Clock;
  readonly scheduler: Scheduler<SessionRecord>;
  /** The queue's bytes: a session admitted or moved on gives back what it held. */
  readonly queueRoom: QueueRoom;
  /** Limits in providers' own units: the gate, the held retries, the cooldowns' reroutes. */
  readonly rates: LocalLimits;
  /** Each caller's share of the running sessions, if less than all (`running-share.ts`). */
  readonly share: RunningShare | undefined;
  /** Hands a session its machine's event (the session driver's `deliver`). */
  readonly deliver: (record: SessionRecord, event: SessionMachineEvent) => void;
  /** Whether a shutdown cancels what is left: nothing more starts. */
  readonly stopping: () => boolean;
  /** Sessions waited for by running sessions, which may run on their slots (`lending.ts`). */
  readonly lending: Lending;
}

const SETTLED = Promise.resolve();

export class Pump {
  private pumping = false;
  private queued = false;
  private readonly admitGate: (record: SessionRecord) => ReturnType<LocalLimits['gate']>;
  /** A provider's next session its caller's share holds is no offer when the providers' next sessions are compared. */
  private readonly heldByShare: ((record: SessionRecord) => boolean) | undefined;

  constructor(private readonly ports: PumpPorts) {
    const { rates, clock, share } = ports;
    this.admitGate = (record) => rates.gate(record, clock.now() + record.input.timeoutMs);
    this.heldByShare = share && ((record) => share.check(record) !== undefined);
  }

  /**
   * A pass after the current synchronous work: a caller cancelling 100,000 handles in a loop would
   * otherwise admit, start and abort a provider call for each queued session in turn, only to
   * cancel it on the next iteration.
   */
  soon(): void {
    // Stryker disable next-line ConditionalExpression: coalesces pumps only; one more pump finds nothing more to admit (speed).
    if (this.queued) return;
    // Stryker disable next-line BooleanLiteral: coalesces pumps only; one more pump finds nothing more to admit (speed).
    this.queued = true;
    // A reaction of a settled promise, not `queueMicrotask`: the same queue, without the async
    // resource Node makes, enters and leaves for each (about 160 bytes and 0.2 µs a session).
    void SETTLED.then(this.queuedPass);
  }

  /** The pass `soon` queues: one function for all (a closure a call was made for each). */
  private readonly queuedPass = (): void => {
    this.queued = false;
    try {
      this.run();
    } catch (error) {
      // As from `queueMicrotask`: an uncaught exception, not a rejection of a promise nobody holds.
      queueMicrotask(() => {
        throw error;
      });
    }
  };

  /** A due retry of an admitted session: `true` when it may start now, else held for a later pass. */
  retry(record: SessionRecord): boolean {
    const { rates, clock } = this.ports;
    // Taken over between attempts and still queued: its next attempt waits for admission.
    if (!record.admitted) return false;
    // Stryker disable next-line OptionalChaining: a retry is asked for only by a session with an actor (session-driver.ts, retryMay).
    const runDeadlineAt = record.actor?.getSnapshot().context.runDeadlineAt ?? clock.now();
    const from = record.provider;
    const goes = rates.retry(record, runDeadlineAt);
    // Held: it goes when a pass (or the shared limiter) finds room; a hop that goes left its provider's slot to that queue.
    // Stryker disable next-line ConditionalExpression: `true` pumps after every retry, one pass more (`soon` coalesces; `false` planted: 4 tests of local-runtime-limits fail).
    if (!goes || record.provider !== from) this.soon();
    return goes;
  }

  /** One admission pass (not re-entered). */
  run(): void {
    // Stryker disable next-line ConditionalExpression: a re-entry guard; nothing run() calls runs it synchronously (ends and observations pump in a microtask, the alarm on a timer).
    if (this.pumping) return;
    // Stryker disable next-line BooleanLiteral: a re-entry guard; nothing run() calls runs it synchronously (see above).
    this.pumping = true;
    const { rates } = this.ports;
    rates.begin();
    /** Sessions to move on that their caller's share held: looked at again next pass. */
    let later: SessionRecord[] | undefined;
    try {
      this.heldRetries();
      // As in `admit`, nothing starts once a shutdown cancels what is left.
      // Stryker disable next-line ConditionalExpression: a shutdown cancels every queued session in the slice that sets `stopping`, in the tests' small runtimes, before any pass.
      if (!this.ports.stopping()) {
        // Queued sessions a cooldown known before holds past their queue deadline move on first.
        // Stryker disable next-line ConditionalExpression: a shortcut; with nothing to look at, `reroutes` moves nothing.
        if (rates.mayReroute) later = this.reroutes(later);
        this.admit();
        this.ports.lending.lend(this.lentSlots);
        // A cooldown the gate or the lending look just found may hold sessions that cannot wait for
        // it: they move on now, on a free slot or, a child, on its parent's (until 2026-12-06 a child
        // found so with no slot free timed out queued; a loop of reroutes and admissions did the rest).
        // Stryker disable next-line ConditionalExpression: a shortcut, as above.
        if (rates.mayReroute) later = this.reroutes(later);
      }
    } finally {
      this.pumping = false;
      for (const record of later ?? []) rates.queued(record);
      rates.end();
    }
  }

  /**
   * Due retries held by their provider's limits first: they already hold a slot. One a cooldown
   * holds past its run deadline moves on (the gate sets its `reroute`, `heldGoes` sends it); one
   * whose run deadline passed asks the gate nothing (it charges what it lets go).
   */
  private heldRetries(): void {
    const { rates, clock, deliver, stopping } = this.ports;
    for (const record of rates.held) {
      if (stopping()) break;
      // Stryker disable next-line OptionalChaining: a held retry has an actor (it was held by mayRetry).
      const runDeadlineAt = record.actor?.getSnapshot().context.runDeadlineAt ?? clock.now();
      // Its run deadline passed, its timer due in this same step: that timer ends it. The gate would
      // charge a request no call sends (a simulated clock's step, or a timer late under load).
      if (clock.now() >= runDeadlineAt) continue;
      if (rates.gate(record, runDeadlineAt) !== true && record.reroute === undefined) continue;
      rates.held.delete(record);
      deliver(record, heldGoes(record, clock.now()));
    }
  }

  /**
   * Queued for a provider that cools down past their queue deadline: they move on now, out of their
   * queue's order (they take no slot of that provider), within the global limit or, a child, on its
   * parent's slot. Returns `later` with those their caller's share holds added (looked at next pass).
   */
  private reroutes(later: SessionRecord[] | undefined): SessionRecord[] | undefined {
    const { rates, scheduler, share, queueRoom, deliver, clock, lending } = this.ports;
    for (const record of rates.reroutes((provider) => scheduler.queuedOf(provider))) {
      const error = record.reroute as NonNullable<SessionRecord['reroute']>;
      record.reroute = undefined;
      // Its caller runs its share: only its parent's slot, in its parent's place, takes it now; else
      // it waits for the next pass (this one would look at it again and again).
      if (share?.check(record) !== undefined) {
        if (!lending.lendTo(record, this.moveOn(error))) {
          later ??= [];
          later.push(record);
        }
        continue;
      }
      // No global room: its parent's slot may take it, else it is looked at again next pass.
      if (!scheduler.take(record)) {
        if (!lending.lendTo(record, this.moveOn(error))) rates.queued(record);
        continue;
      }
      record.admitted = true;
      share?.started(record);
      queueRoom.release(record);
      rates.leaveLane(record);
      deliver(record, { type: 'session.reroute', now: clock.now(), error });
    }
    return later;
  }

  /**
   * Moves a child on to its next target on its parent's slot, as `reroutes` does on a free one: it
   * leaves its provider's slot at once, so neither that provider's slots nor its gate hold it.
   */
  private moveOn(error: NonNullable<SessionRecord['reroute']>): LentSlotStarter {
    return {
      take: (child, sameCaller) => {
        if (!this.mayBorrow(child, sameCaller)) return false;
        this.borrow(child, sameCaller);
        // Its caller's share may have marked it held; it runs now, in its parent's place.
        child.waitingFor = undefined;
        this.ports.rates.leaveLane(child);
        return true;
      },
      begin: (child) =>
        this.ports.deliver(child, { type: 'session.reroute', now: this.ports.clock.now(), error }),
    };
  }

  /**
   * Starts a child on its parent's slot, as `admit` starts a session on a free one: within its
   * provider's slots and gate, and its caller's share unless it takes its parent's place there.
   */
  private readonly lentSlots: LentSlotStarter = {
    take: (child, sameCaller) => {
      if (!this.mayBorrow(child, sameCaller)) return false;
      // Within its provider's slots (all a task's lane has) and its gate, which charges it when it goes.
      if (!this.ports.scheduler.hasRoom(child.provider) || this.admitGate(child) !== true) return false;
      this.borrow(child, sameCaller);
      return true;
    },
    begin: (child) => this.ports.deliver(child, { type: 'session.admit', now: this.ports.clock.now() }),
  };

  /** Whether its caller's share lets a child onto its parent's slot: of another caller, it needs a place of its own. */
  private mayBorrow(child: SessionRecord, sameCaller: boolean): boolean {
    return sameCaller || this.ports.share?.check(child) === undefined;
  }

  /** Takes a queued child out of its queue onto its parent's slot (`lend` and `lendTo` offer only children still waiting). */
  private borrow(child: SessionRecord, sameCaller: boolean): void {
    const { scheduler, share, queueRoom } = this.ports;
    scheduler.borrow(child);
    child.admitted = true;
    // Of its parent's caller, it runs in its parent's place.
    if (!sameCaller) share?.started(child);
    queueRoom.release(child);
  }

  /** Admits by the scheduler's order while there is room. */
  private admit(): void {
    const { rates, scheduler, share, queueRoom, deliver, clock, stopping } = this.ports;
    while (!stopping()) {
      // Every waiting session's caller runs its share: none could start, so none is looked at.
      // Stryker disable next-line ConditionalExpression,ArrowFunction,EqualityOperator: a shortcut (speed): without it the pass looks at each held session and starts none.
      if (share?.holdsAll(scheduler.queued, (caller) => queueRoom.heldBy(caller)) === true) break;
      const record = scheduler.next(this.admitGate, this.heldByShare);
      if (record === undefined) break;
      record.admitted = true;
      share?.started(record);
      queueRoom.release(record);
      const reroute = record.reroute;
      if (reroute !== undefined) {
        // Leased by a shared queue only to move on (`AdoptedSession.reroute`).
        record.reroute = undefined;
        rates.leaveLane(record);
        deliver(record, { type: 'session.reroute', now: clock.now(), error: reroute });
        continue;
      }
      // The admission time is read before the actor starts: that is the runtime's cost, not queue wait.
      deliver(record, { type: 'session.admit', now: clock.now() });
    }
  }
}
