/**
 * The limiter in the in-memory admission loop: the scheduler's gate, the hold on due retries, the
 * calls' outcomes, and the one alarm in the deadline heap for the earliest time room opens. All
 * synchronous, on `MemorySharedState`; the policy is `limiter.ts`, the same as on Redis.
 */
import type { SessionMachineEvent } from '../../machines/session.js';
import type { Clock } from '../core/clock.js';
import { Recent } from '../core/recent.js';
import type { Verdict } from '../core/scheduler.js';
import { hops, type Target, targetOf } from './call-target.js';
import { CooldownReroutes } from './cooldown-reroutes.js';
import type { Lanes, LimitCounters, WaitingFor } from './limit-types.js';
import type { CallOutcome, ProviderBudget, ProviderLimitsConfig, Start } from './limiter.js';
import { providerKey } from './limiter.js';
import { Limiter, outcomeOf } from './limits.js';
import { MemorySharedState } from './memory-state.js';
import type { ResolvedLimits } from './options.js';
import { PassHolds } from './pass-holds.js';
import { markHeldReroute } from './reroute.js';
import type { Alarm } from './session-driver.js';
import type { SessionRecord } from './session-record.js';

/** A session's end: its slot and its probe go. */
// Stryker disable next-line ObjectLiteral,StringLiteral: settleProvider ends any outcome but an answer or a 429 alike.
const ENDED: CallOutcome = { kind: 'ended' };

export class LocalLimits {
  readonly state: MemorySharedState;
  readonly limiter: Limiter;
  readonly counters: LimitCounters = {
    waits: {
      maxConcurrent: 0,
      requestsPerMinute: 0,
      tokensPerMinute: 0,
      tokensPerDay: 0,
      cooldown: 0,
      maxRunningPerCaller: 0,
    },
    rateLimited: 0,
    cooldowns: 0,
  };
  /** What the gate found held in the current pass, and each provider's queue's limit. */
  readonly holds = new PassHolds(this.counters.waits);
  /** Due retries held back, in the order they came due. */
  readonly held = new Set<SessionRecord>();
  private readonly estimates = new WeakMap<SessionRecord, Target & { readonly tokens: number }>();
  /** In memory: queued sessions with fallbacks that a new cooldown must move on. */
  private readonly cooling: CooldownReroutes;
  /**
   * Retries asking the shared limiter (a shared backend), until it lets them go; with the timer of
   * the next look while one waits for room. A session's end clears it: nothing asks for it after.
   */
  private readonly asking = new Map<
    SessionRecord,
    { readonly timer: unknown; readonly lapsesAt: number; readonly probe?: string } | undefined
  >();
  /** The sessions whose end the bus told of last (`provider|session`): an ask answered with one of them as the probe asks again. */
  private readonly endsHeard = new Recent(256);

  constructor(
    private readonly config: ReadonlyMap<string, ProviderLimitsConfig>,
    private readonly clock: Clock,
    /** What a call is charged against limits in tokens (`ResolvedLimits.charge`). */
    private readonly charge: ResolvedLimits['charge'],
    /** The alarm, armed in the session driver's deadline heap. */
    private readonly arm: (alarm: Alarm, at: number | null) => void,
    private readonly alarm: Alarm,
    /** The scheduler's slots: a hop leaves its provider's and takes its target's. */
    private readonly lanes: Lanes,
    /**
     * On a shared backend: the limiter every instance shares. Admission happened when the queue
     * leased the session (its first start is charged there); retries ask it here, asynchronously.
     */
    private readonly shared?: {
      readonly limiter: Limiter;
      /** A held retry may go now (or move on to its next target: its `reroute` is set). */
      readonly go: (record: SessionRecord) => void;
      readonly onError: (error: unknown) => void;
    },
  ) {
    this.state = new MemorySharedState(clock);
    this.cooling = new CooldownReroutes(clock, (provider) => this.limiter.coolsPerModel(provider));
    this.limiter = new Limiter(config, this.state);
  }

  /** A retry is due: `true` when it may start now; else the runtime holds it until `go`/the pump. */
  retry(record: SessionRecord, lapsesAt: number): boolean {
    const shared = this.shared;
    if (shared === undefined) {
      if (this.held.size === 0 && this.gate(record, lapsesAt) === true) return true;
      this.held.add(record);
      return false;
    }
    if (record.work.kind !== 'chat') return true;
    if (!this.asking.has(record)) {
      this.asking.set(record, undefined);
      this.ask(record, lapsesAt, shared);
    }
    return false;
  }

  /** Asks the shared limiter for a start; `after`: the probe it asks again for, once (its end may not be written yet). */
  private ask(
    record: SessionRecord,
    lapsesAt: number,
    shared: NonNullable<LocalLimits['shared']>,
    after?: string,
  ): void {
    // A hop asks its target's limits, and leaves its provider's slot while it waits.
    const target = targetOf(record);
    if (hops(record, target.provider)) this.leaveLane(record);
    const start = this.startOf(record, target, lapsesAt);
    // A RATE_LIMITED answer received here while it asks sends it to ask again, after that answer's settle.
    shared.limiter
      .tryStartFresh(target.provider, start, () => this.counters.rateLimited)
      .then(
        (got) => {
          if (record.result !== null) {
            this.asking.delete(record);
            // Stryker disable next-line ConditionalExpression: a refused start holds nothing to end (→ true); → false is killed.
            if (got.ok) this.settleShared(target.provider, start, ENDED);
            return;
          }
          if (got.ok) {
            this.asking.delete(record);
            this.enterLane(record, target.provider);
            record.waitingFor = undefined;
            record.limitStart = start;
            shared.go(record);
            return;
          }
          if (record.waitingFor !== got.limit) this.counters.waits[got.limit]++;
          record.waitingFor = got.limit;
          // Held by a probe whose end came while it asked: that end's settle may have come after its read.
          const probe = got.probe;
          // Stryker disable next-line ConditionalExpression: without a probe, `probe !== after` can hold only after a re-ask, and no end is heard as `<provider>|undefined`.
          if (probe !== undefined && probe !== after && this.endsHeard.has(`${target.provider}|${probe}`)) {
            this.ask(record, lapsesAt, shared, probe);
            return;
          }
          // Its provider cools down past its run deadline: it moves on instead (`markHeldReroute`).
          if (markHeldReroute(record, target.provider, got, this.clock.now())) {
            this.asking.delete(record);
            shared.go(record);
            return;
          }
          const now = this.clock.now();
          // A slot frees when some call ends, on any instance (its lapse bounds only a lost one's): look again soon.
          const at = got.limit === 'maxConcurrent' ? null : got.at;
          const waitMs = Math.max(50, (at ?? now + 1000) - now);
          const timer = this.clock.setTimeout(() => this.ask(record, lapsesAt, shared), waitMs);
          this.asking.set(record, { timer, lapsesAt, probe });
        },
        (error: unknown) => {
          // The shared limiter is away: the retry goes rather than wait on a Redis that may not return.
          this.asking.delete(record);
          shared.onError(error);
          if (record.result !== null) return;
          this.enterLane(record, target.provider);
          shared.go(record);
        },
      );
  }

  /** A call's outcome on the shared limiter, tried again while it is away; resolves once its first try is answered. */
  private settleShared(provider: string, start: Start, outcome: CallOutcome): Promise<unknown> {
    const { limiter, onError } = this.shared as NonNullable<LocalLimits['shared']>;
    const now = this.clock.now();
    const first = limiter.settle(provider, start, now, outcome);
    first
      .catch(() => limiter.settleWhileAway(this.clock, provider, start, now, outcome))
      .then((began) => {
        if (began) this.counters.cooldowns++;
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
    // Only on a shared backend does a retry ask (`asking`).
    const shared = this.shared as NonNullable<LocalLimits['shared']>;
    for (const [record, waiting] of this.asking) {
      // An ask on its way after a settle here reads the state after it (one connection, in order).
      if (waiting === undefined || record.waitingFor !== 'cooldown') continue;
      if (targetOf(record).provider !== provider) continue;
      if (probe !== undefined && waiting.probe !== probe) continue;
      this.clock.clearTimeout(waiting.timer);
      this.asking.set(record, undefined);
      this.ask(record, waiting.lapsesAt, shared, probe);
    }
  }

  private startOf(record: SessionRecord, target: Target, lapsesAt: number): Start {
    return {
      sessionId: record.input.sessionId,
      model: target.model,
      now: this.clock.now(),
      tokens: this.estimate(record, target),
      lapsesAt,
    };
  }

  /** A hop leaves its provider's slot (once): it keeps only its global one while it waits. */
  leaveLane(record: SessionRecord): void {
    if (record.laneless === true || !record.admitted) return;
    this.lanes.leave(record.provider);
    record.laneless = true;
  }

  /** A session without a slot (a hop, once let go) takes one of `provider`'s; others hold theirs. */
  private enterLane(record: SessionRecord, provider: string): void {
    if (record.laneless !== true) return;
    this.lanes.enter(provider);
    record.laneless = false;
    record.provider = provider;
  }

  /** The estimate a session is charged for a call to `target` (docs/providers.md, "Token estimates"). */
  estimate(record: SessionRecord, target: Target): number {
    if (record.work.kind !== 'chat') return 0;
    const cached = this.estimates.get(record);
    // A cache only: a session's request never changes, and a hop's target charges its own.
    // Stryker disable next-line ConditionalExpression,LogicalOperator: a cache only.
    if (cached !== undefined && cached.provider === target.provider && cached.model === target.model)
      return cached.tokens;
    const tokens = this.charge(record.work.request, target.provider, target.model);
    this.estimates.set(record, { ...target, tokens });
    return tokens;
  }

  /** Before one admission pass. */
  begin(): void {
    this.holds.begin();
  }

  /** After it: the alarm rings when the earliest held limit may have room. */
  end(): void {
    this.arm(this.alarm, this.holds.end());
  }

  /**
   * Whether a session may start an attempt now; charges it when it may. A hop (its target is
   * another provider than the slot it holds) leaves that slot and must find room in its target's
   * slots and limits. A refusal by a new cooldown has the provider's queue looked through
   * (`reroutes`) for sessions that cannot wait for it.
   */
  gate(record: SessionRecord, lapsesAt: number): Verdict {
    // On a shared backend the queue admitted it, under the shared limits.
    if (record.work.kind !== 'chat' || this.shared !== undefined) return true;
    // A reroute an earlier refusal found is this refusal's to find again (`markHeldReroute`).
    if (record.admitted) record.reroute = undefined;
    const target = targetOf(record);
    const provider = target.provider;
    if (hops(record, provider)) {
      this.leaveLane(record);
      if (!this.lanes.hasRoom(provider)) {
        // Full, and cooling down past its run deadline too: it moves on at once, no wait counted.
        const cooling = this.limiter.coolingNow(provider, target.model, this.clock.now());
        if (cooling !== undefined && markHeldReroute(record, provider, cooling, this.clock.now()))
          return false;
        return this.holds.refuse(record, 'maxConcurrent', null);
      }
    }
    // Nothing configured and no cooldown ever: nothing to count.
    if (!this.config.has(provider) && this.state.readNow(providerKey(provider)) === undefined) {
      this.enterLane(record, provider);
      record.waitingFor = undefined;
      return true;
    }
    // A model this pass found held holds its later sessions too: they keep their order.
    const heldModel = this.holds.model(provider, target.model);
    if (heldModel !== undefined) {
      markHeldReroute(record, provider, heldModel, this.clock.now());
      return this.holds.refuseModel(record, provider, target.model, heldModel.limit, heldModel.at);
    }
    const start = this.startOf(record, target, lapsesAt);
    const got = this.limiter.tryStartNow(provider, start);
    if (got.ok) {
      record.waitingFor = undefined;
      record.limitStart = start;
      this.enterLane(record, provider);
      if (!record.admitted) this.holds.laneHeld.delete(provider);
      return true;
    }
    // A new cooldown: the sessions queued for this provider (or its model), this one first, may
    // not be able to wait for it (`reroutes`).
    // Stryker disable next-line ConditionalExpression: a cooldown's refusal always has a time (its end, or its probe's lapse).
    if (!record.admitted && got.limit === 'cooldown' && got.at !== null)
      this.cooling.refused(provider, target.model, got.at);
    markHeldReroute(record, provider, got, this.clock.now());
    // Only its model is held (its windows, or its own cooldown): the provider's other models go on.
    if (got.model === true) return this.holds.refuseModel(record, provider, target.model, got.limit, got.at);
    return this.holds.refuse(record, got.limit, got.at);
  }

  /** Whether `reroutes` has anything to look at. */
  get mayReroute(): boolean {
    return this.cooling.mayReroute;
  }

  /** A session was queued: one with fallbacks, behind a provider cooling down, is looked at on the next pass. */
  queued(record: SessionRecord): void {
    this.cooling.queued(record);
  }

  /**
   * The queued sessions that must move on now: those with fallbacks, queued behind a provider that
   * cools down past their queue deadline (`CooldownReroutes`). Each one comes with `reroute` set.
   */
  reroutes(queuedOf: (provider: string) => Iterable<SessionRecord>): SessionRecord[] {
    return this.cooling.reroutes(queuedOf);
  }

  /** What holds a queued session back: its own last refusal, or its provider's queue's. */
  waitingOf(record: SessionRecord): WaitingFor | undefined {
    return this.holds.waitingOf(record);
  }

  /** A call's outcome reached its session (or its queue deadline: it says what held it). */
  observe(record: SessionRecord, event: SessionMachineEvent): boolean {
    if (event.type === 'session.tick' && !record.admitted) {
      record.waitingFor = this.waitingOf(record);
      return false;
    }
    const start = record.limitStart ?? null;
    const outcome = outcomeOf(event, start?.tokens ?? 0);
    if (outcome === undefined) return false;
    if (outcome.kind === 'rateLimited') this.counters.rateLimited++;
    else if (start === null) return false;
    record.limitStart = null;
    const now = this.clock.now();
    if (this.shared !== undefined) {
      const written = this.settleShared(record.provider, start ?? this.bare(record, now), outcome);
      // A 429's cooldown is in the shared state before the session's end is told (`SessionDriver`).
      record.cooling = outcome.kind === 'rateLimited' ? written : undefined;
      return true;
    }
    if (this.limiter.settleNow(record.provider, start ?? this.bare(record, now), now, outcome))
      this.counters.cooldowns++;
    return true;
  }

  /** A session ended: its charge's slot and probe go. */
  ended(record: SessionRecord): void {
    this.held.delete(record);
    // A retry waiting to ask the shared limiter again: its session is over, so it asks no more.
    this.clock.clearTimeout(this.asking.get(record)?.timer);
    this.asking.delete(record);
    const start = record.limitStart ?? null;
    if (start === null) return;
    record.limitStart = null;
    if (this.shared !== undefined) {
      this.settleShared(record.provider, start, ENDED);
      return;
    }
    this.limiter.settleNow(record.provider, start, this.clock.now(), ENDED);
  }

  budgets(providers: readonly string[]): Record<string, ProviderBudget> {
    return this.limiter.budgetsNow(providers, this.clock.now());
  }

  private bare(record: SessionRecord, now: number): Start {
    // Stryker disable next-line ObjectLiteral: a session without a charge holds no slot or probe and has no tokens to reconcile; only its provider counts.
    return {
      sessionId: record.input.sessionId,
      model: targetOf(record).model,
      now,
      tokens: 0,
      lapsesAt: now,
    };
  }
}
