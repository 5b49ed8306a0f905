/**
 * `LocalLimits` over a shared limiter (a shared state: a scale-out backend's, or one several
 * in-process runtimes share): sessions ask it for a start, asynchronously, until it lets them go;
 * calls' outcomes settle on it. Due retries ask; so do the first starts of sessions submitted here
 * (a session a shared queue leased was charged there, `SessionRecord.leased`), one per provider's
 * queue at a time (`QueuedAsks`). The runtime hears of a start let go through `go`.
 */
import type { Clock } from '../core/clock.js';
import { Recent } from '../core/recent.js';
import type { Verdict } from '../core/scheduler.js';
import { hops, type Target, targetOf } from './call-target.js';
import type { LimitCounters, WaitingFor } from './limit-types.js';
import { type CallOutcome, ENDED, type Start } from './limiter.js';
import type { Limiter } from './limits.js';
import type { PassHolds } from './pass-holds.js';
import { type Asking, QueuedAsks } from './queued-asks.js';
import { markHeldReroute } from './reroute.js';
import type { SessionRecord } from './session-record.js';

/** The limiter every instance (or runtime) shares, and where the runtime hears of a start let go. */
export interface SharedLimiter {
  readonly limiter: Limiter;
  /** A held retry may go now (or move on to its next target: its `reroute` is set); a queued session was let go (or refused). */
  readonly go: (record: SessionRecord) => void;
  readonly onError: (error: unknown) => void;
  /**
   * A due retry's wait began, changed or ended (its `waitingFor`): told at once, before it goes on
   * (a cluster writes its summary then, `LocalRuntime.onWaiting`). Never while it asks with no change.
   */
  readonly waited: (record: SessionRecord) => void;
}

/** What it needs of `LocalLimits`. */
export interface AskHost {
  readonly clock: Clock;
  readonly counters: LimitCounters;
  readonly holds: PassHolds;
  startOf(record: SessionRecord, target: Target, lapsesAt: number): Start;
  /** A hop leaves its provider's slot while it waits; once let go it takes its target's. */
  leaveLane(record: SessionRecord): void;
  enterLane(record: SessionRecord, provider: string): void;
  /** A queued session refused for its provider's (or model's) cooldown until `at`: those behind it with fallbacks are looked at. */
  coolingRefused(provider: string, model: string, at: number): void;
}

export class SharedAsks {
  /**
   * Sessions asking the shared limiter until it lets them go: due retries, and first starts of
   * sessions submitted here (`queued`). A session's end clears it (`ended`).
   */
  private readonly asking = new Map<SessionRecord, Asking>();
  /** The queued sessions of each provider that ask, or were let go and wait for their pass. */
  private readonly queued = new QueuedAsks((record) => this.forget(record));
  /** The sessions whose end the bus told of last (`provider|session`): an ask answered with one of them as the probe asks again. */
  private readonly endsHeard = new Recent(256);
  /** Retries let go with a charge, while in their `go` (whether the charge began the probe): one that ends there sent no call. */
  private readonly going = new Map<SessionRecord, boolean>();

  constructor(
    private readonly host: AskHost,
    private readonly shared: SharedLimiter,
  ) {}

  /** A due retry asks (once: asked again while it asks, nothing more). */
  retry(record: SessionRecord, lapsesAt: number): void {
    if (!this.asking.has(record)) this.startAsking(record, { queued: false, lapsesAt });
  }

  /** A queued session left its queue uncharged (moved on), or ended: it asks no more. */
  left(record: SessionRecord): void {
    this.queued.delete(record);
    this.forget(record);
  }

  private startAsking(record: SessionRecord, asking: Asking): void {
    this.asking.set(record, asking);
    this.ask(record, asking);
  }

  /** A queued session's ask ends unanswered (it moved on, or one ahead of it asks instead): its next look is off. */
  private forget(record: SessionRecord): void {
    this.host.clock.clearTimeout(this.asking.get(record)?.timer);
    this.asking.delete(record);
  }

  /**
   * Asks the shared limiter for a start; `after`: the probe it asks again for, once (its end may not
   * be written yet). An answer for an ask that is no longer its session's (`forget`, its end) only
   * gives back what it got.
   */
  private ask(record: SessionRecord, asking: Asking, after?: string): void {
    const shared = this.shared;
    asking.timer = undefined;
    // A hop asks its target's limits, and leaves its provider's slot while it waits.
    const target = targetOf(record);
    if (hops(record, target.provider)) this.host.leaveLane(record);
    // A queued session's charge lapses a run's length after it would start.
    const start = this.host.startOf(
      record,
      target,
      asking.lapsesAt ?? this.host.clock.now() + record.input.timeoutMs,
    );
    // A RATE_LIMITED answer received here while it asks sends it to ask again, after that answer's settle.
    shared.limiter
      .tryStartFresh(target.provider, start, () => this.host.counters.rateLimited)
      .then(
        (got) => {
          if (this.asking.get(record) !== asking) {
            // Its session ended, or moved on, while it asked: no call uses the charge.
            if (got.ok) this.giveBack(target.provider, start, got.probe);
            return;
          }
          if (got.ok) {
            this.asking.delete(record);
            this.goes(record, asking, target.provider);
            record.limitStart = start;
            // A retry's call goes in `go`, or its session ends there (its run deadline due in this step).
            this.going.set(record, got.probe);
            shared.go(record);
            this.going.delete(record);
            return;
          }
          if (record.waitingFor !== got.limit) this.host.counters.waits[got.limit]++;
          this.waits(record, asking, got.limit);
          // Held by a probe whose end was told: that end's settle, written on another connection, may
          // come after this read. It asks again at once, then after 50, 100, 200 ms... while that is
          // before the probe's lapse; until 2026-12-05 it asked once, and a settle slower than that
          // ask held it until the lapse (2 s: tests/scale/probe-wake.test.ts, 1 run in 7 or 8).
          const probe = got.probe;
          // Stryker disable next-line ConditionalExpression: no end is heard as `<provider>|undefined`.
          if (probe !== undefined && this.endsHeard.has(`${target.provider}|${probe}`)) {
            if (probe !== after) {
              asking.settleWaitMs = undefined;
              this.ask(record, asking, probe);
              return;
            }
            const waitMs = 2 * (asking.settleWaitMs ?? 25);
            // Stryker disable next-line ConditionalExpression,EqualityOperator: a probe's refusal has a time (its lapse); a look due at the lapse itself is the lapse's look.
            if (got.at === null || this.host.clock.now() + waitMs < got.at) {
              asking.settleWaitMs = waitMs;
              this.askAgain(record, asking, waitMs, probe, probe);
              return;
            }
          }
          // Its provider cools down past its run deadline: it moves on instead (`markHeldReroute`).
          if (markHeldReroute(record, target.provider, got, this.host.clock.now())) {
            this.asking.delete(record);
            this.waits(record, asking, undefined);
            shared.go(record);
            return;
          }
          const now = this.host.clock.now();
          asking.modelOnly = got.model === true;
          // Stryker disable next-line ConditionalExpression: a cooldown's refusal always has a time (its end, or its probe's lapse).
          if (asking.queued && got.limit === 'cooldown' && got.at !== null)
            this.host.coolingRefused(target.provider, target.model, got.at);
          // A slot frees when some call ends, on any instance (its lapse bounds only a lost one's): look again soon.
          const at = got.limit === 'maxConcurrent' ? null : got.at;
          this.askAgain(record, asking, Math.max(50, (at ?? now + 1000) - now), probe);
          // A queued session's cooldown may move those behind it to their fallbacks (`reroutes`).
          if (asking.queued) shared.go(record);
        },
        (error: unknown) => {
          shared.onError(error);
          if (this.asking.get(record) !== asking) return;
          // The shared limiter is away: a queued session asks again in a second (its queue deadline
          // holds); a retry goes rather than wait on a Redis that may not return.
          if (asking.queued) return this.askAgain(record, asking, 1000, undefined);
          this.asking.delete(record);
          this.goes(record, asking, target.provider);
          shared.go(record);
        },
      );
  }

  /**
   * Its ask ends with it going: it takes its target's slot and waits no more. Until 2026-12-06 a
   * retry that went while the shared limiter was away kept the limit of its last refusal through its
   * call (a timeout there named it as what held it back).
   */
  private goes(record: SessionRecord, asking: Asking, provider: string): void {
    this.host.enterLane(record, provider);
    this.waits(record, asking, undefined);
  }

  /** What holds it now; a retry's change is told (`SharedLimiter.waited`). */
  private waits(record: SessionRecord, asking: Asking, limit: WaitingFor | undefined): void {
    if (record.waitingFor === limit) return;
    record.waitingFor = limit;
    if (!asking.queued) this.shared.waited(record);
  }

  /** `after`: the probe whose told end it looks again for (`ask`). */
  private askAgain(
    record: SessionRecord,
    asking: Asking,
    waitMs: number,
    probe: string | undefined,
    after?: string,
  ): void {
    asking.probe = probe;
    asking.timer = this.host.clock.setTimeout(() => this.ask(record, asking, after), waitMs);
  }

  /**
   * A session's charge ends without an outcome (its end, or its call left for a fallback): its slot
   * and probe go; a charge no call used is given back whole, its request and tokens too. Until
   * 2026-12-06 every one was settled as a call's end: a session ended between its charge and its
   * call (cancelled, or its run deadline due in the step its window opened) kept a request and its
   * tokens charged in the shared windows that no call sent.
   */
  callEnded(record: SessionRecord, start: Start): void {
    const probe = this.going.get(record);
    // Not admitted: let go by its ask, or leased by a shared queue, and ended before its pass.
    if (record.admitted && probe === undefined) {
      this.settle(record.provider, start, ENDED);
      return;
    }
    // A probe's end is heard only from its probe: one that did not begin it may say so too.
    this.giveBack(record.provider, start, probe ?? true);
  }

  /**
   * Gives back a charge no call used (also one of a call its own gate refused, `LocalLimits.observe`);
   * if the shared state refuses, its slot and probe still go (`giveBackWhileAway`).
   */
  giveBack(provider: string, start: Start, probe: boolean): void {
    const { limiter, onError } = this.shared;
    limiter
      .giveBackWhileAway(this.host.clock, provider, start, probe)
      .then(() => this.wakeHeld(provider), onError);
  }

  /** A call's outcome on the shared limiter, tried again while it is away; resolves once its first try is answered. */
  settle(provider: string, start: Start, outcome: CallOutcome): Promise<unknown> {
    const { limiter, onError } = this.shared;
    const now = this.host.clock.now();
    const first = limiter.settle(provider, start, now, outcome);
    first
      .catch(() => limiter.settleWhileAway(this.host.clock, provider, start, now, outcome))
      .then((began) => {
        if (began) this.host.counters.cooldowns++;
        this.wakeHeld(provider);
      }, onError);
    // Answered, refused or not: a refusal is tried again above, and reported there.
    return Promise.allSettled([first]);
  }

  /**
   * The session `sessionId` of `provider` ended or retries on some instance (told by the event bus): the
   * retries here held behind it, if it was probing `provider`, look again now rather than at its
   * lapse. One whose ask was on its way then asks again once answered, if the answer names it as the
   * probe (that end's settle, written on another connection, may have come after its read).
   */
  wake(provider: string, sessionId: string): void {
    this.endsHeard.add(`${provider}|${sessionId}`);
    this.wakeHeld(provider, sessionId);
  }

  /**
   * Retries here held by `provider`'s cooldown look again now (only those behind the probe `probe`,
   * when given): a call of it settled, which may have ended its probe (to a new cooldown, or open).
   * They waited until the probe's lapse, up to `PROBE_ACCEPTED_MS` (machines/provider.ts), where one
   * process looks at every settle. During a cooldown few calls settle, so the looks stay few.
   */
  private wakeHeld(provider: string, probe?: string): void {
    for (const [record, waiting] of this.asking) {
      // An ask on its way after a settle here reads the state after it (one connection, in order).
      if (waiting.timer === undefined || record.waitingFor !== 'cooldown') continue;
      if (targetOf(record).provider !== provider) continue;
      if (probe !== undefined && waiting.probe !== probe) continue;
      this.host.clock.clearTimeout(waiting.timer);
      this.ask(record, waiting, probe);
    }
  }

  /**
   * A queued session on a shared limiter: it goes once its ask was answered with room; until then
   * its provider's queue waits (or its model's sessions, for a limit of its model only). Only the
   * first session of a provider's queue asks (`QueuedAsks`), so the queue keeps its order.
   */
  gate(record: SessionRecord): Verdict {
    const provider = record.provider;
    const verdict = this.queued.verdict(record, this.asking, this.host.holds);
    if (verdict === 'ask') {
      this.queued.add(record);
      this.startAsking(record, { queued: true });
      return false;
    }
    if (verdict === true) this.host.holds.laneHeld.delete(provider);
    return verdict;
  }
}
