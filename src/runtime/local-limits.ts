/**
 * The limiter in the in-memory admission loop: the scheduler's gate, the hold on due retries, the
 * calls' outcomes, and the one alarm in the deadline heap for the earliest time room opens. All
 * synchronous, on `MemorySharedState`; the policy is `limiter.ts`, the same as on Redis.
 */
import type { SessionMachineEvent } from '../../machines/session.js';
import type { Clock } from '../core/clock.js';
import type { Verdict } from '../core/scheduler.js';
import { hops, type Target, targetOf } from './call-target.js';
import { CooldownReroutes } from './cooldown-reroutes.js';
import type { Lanes, LimitCounters, WaitingFor } from './limit-types.js';
import type { ProviderBudget, ProviderLimitsConfig, Start } from './limiter.js';
import { ENDED, outcomeOf, providerKey } from './limiter.js';
import { Limiter } from './limits.js';
import { MemorySharedState } from './memory-state.js';
import type { ResolvedLimits } from './options.js';
import { PassHolds } from './pass-holds.js';
import { isUnsent } from './provider-call.js';
import { markHeldReroute } from './reroute.js';
import type { Alarm } from './session-driver.js';
import type { SessionRecord } from './session-record.js';
import { SharedAsks, type SharedLimiter } from './shared-asks.js';

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
  /** On a shared limiter: the sessions asking it for a start (`shared-asks.ts`). */
  private readonly asks: SharedAsks | undefined;

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
     * On a shared state (a shared backend's, or one runtimes share): the limiter every instance
     * shares. A session a shared queue leased was charged there; the first start of one submitted
     * here and every retry ask it, asynchronously (`SharedAsks`).
     */
    private readonly shared?: SharedLimiter,
  ) {
    this.state = new MemorySharedState(clock);
    this.cooling = new CooldownReroutes(clock, (provider) => this.limiter.coolsPerModel(provider));
    this.limiter = new Limiter(config, this.state);
    this.asks =
      shared &&
      new SharedAsks(
        {
          clock,
          counters: this.counters,
          holds: this.holds,
          startOf: (record, target, lapsesAt) => this.startOf(record, target, lapsesAt),
          leaveLane: (record) => this.leaveLane(record),
          enterLane: (record, provider) => this.enterLane(record, provider),
          coolingRefused: (provider, model, at) => this.cooling.refused(provider, model, at),
        },
        shared,
      );
  }

  /** A retry is due: `true` when it may start now; else the runtime holds it until `go`/the pump. */
  retry(record: SessionRecord, lapsesAt: number): boolean {
    const asks = this.asks;
    if (asks === undefined) {
      if (this.held.size === 0 && this.gate(record, lapsesAt) === true) return true;
      this.held.add(record);
      return false;
    }
    if (record.work.kind !== 'chat') return true;
    asks.retry(record, lapsesAt);
    return false;
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
    if (record.work.kind !== 'chat') return true;
    // A shared queue admitted it, under the shared limits (`leased`); one submitted here asks them.
    if (this.asks !== undefined) return record.leased === true || this.asks.gate(record);
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
    const out = this.cooling.reroutes(queuedOf);
    // Leaving the queue uncharged, they ask the shared limiter no more.
    for (const record of out) this.asks?.left(record);
    return out;
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
    // Its own gate refused the call (an open breaker, a spent budget): nothing was sent, so its
    // charge goes back whole, and it is no probe's answer. Until 2026-12-06 it was settled as an answer.
    if (isUnsent(event)) return start !== null && this.unsent(record, start);
    const outcome = outcomeOf(event, start?.tokens ?? 0);
    if (outcome === undefined) return false;
    if (outcome.kind === 'rateLimited') this.counters.rateLimited++;
    else if (start === null) return false;
    record.limitStart = null;
    const now = this.clock.now();
    if (this.asks !== undefined) {
      const written = this.asks.settle(record.provider, start ?? this.bare(record, now), outcome);
      // A 429's cooldown is in the shared state before the session's end is told (`SessionDriver`).
      record.cooling = outcome.kind === 'rateLimited' ? written : undefined;
      return true;
    }
    if (this.limiter.settleNow(record.provider, start ?? this.bare(record, now), now, outcome))
      this.counters.cooldowns++;
    return true;
  }

  /** Gives back the charge of a call its gate refused: its request and tokens, its slot, its probe if it was one. */
  private unsent(record: SessionRecord, start: Start): true {
    record.limitStart = null;
    // A probe's end is heard only from its probe: one that did not begin it may say so too.
    if (this.asks !== undefined) this.asks.giveBack(record.provider, start, true);
    else this.limiter.giveBackNow(record.provider, start, true);
    return true;
  }

  /** A session ended: its charge's slot and probe go. */
  ended(record: SessionRecord): void {
    this.held.delete(record);
    // A session waiting to ask the shared limiter again: it is over, so it asks no more.
    this.asks?.left(record);
    this.callLeft(record);
  }

  /**
   * A call ended unanswered: its charge's slot and probe go, as at an end. Also a call its session
   * left for a fallback on an idle timeout, before the first delta: until 2026-12-06 nothing settled
   * that one, so its provider's own slot and probe were held until the session's run deadline (at
   * most the probe's 2 s for the probe), the provider's queue waiting behind a call no longer made.
   */
  callLeft(record: SessionRecord): void {
    const start = record.limitStart ?? null;
    if (start === null) return;
    record.limitStart = null;
    if (this.asks !== undefined) {
      this.asks.callEnded(record, start);
      return;
    }
    this.limiter.settleNow(record.provider, start, this.clock.now(), ENDED);
  }

  /** A session of `provider` ended, or retries, on some instance (`SharedAsks.wake`). */
  wake(provider: string, sessionId: string): void {
    this.asks?.wake(provider, sessionId);
  }

  /** What each provider has left now; on a shared state (in memory), every runtime's sharing it. */
  budgets(providers: readonly string[]): Record<string, ProviderBudget> {
    return (this.shared?.limiter ?? this.limiter).budgetsNow(providers, this.clock.now());
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
