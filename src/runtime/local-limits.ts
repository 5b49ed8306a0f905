/**
 * The limiter in the in-memory admission loop: the scheduler's gate, the hold on due retries, the
 * calls' outcomes, and the one alarm in the deadline heap for the earliest time room opens. All
 * synchronous, on `MemorySharedState`; the policy is `limiter.ts`, the same as on Redis.
 */
import type { SessionMachineEvent } from '../../machines/session.js';
import type { Clock } from '../core/clock.js';
import { estimateTokens } from '../providers/estimate.js';
import type { CallOutcome, LimitName, ProviderBudget, ProviderLimitsConfig, Start } from './limiter.js';
import { providerKey } from './limiter.js';
import { Limiter, outcomeOf } from './limits.js';
import { MemorySharedState } from './memory-state.js';
import type { Alarm } from './session-driver.js';
import type { SessionRecord } from './session-record.js';

export interface LimitCounters {
  /** Sessions held back, by the limit that held them (counted once per wait). */
  readonly waits: Record<LimitName, number>;
  /** `RATE_LIMITED` answers received, and cooldowns started. */
  rateLimited: number;
  cooldowns: number;
}

export class LocalLimits {
  readonly state: MemorySharedState;
  readonly limiter: Limiter;
  readonly counters: LimitCounters = {
    waits: { maxConcurrent: 0, requestsPerMinute: 0, tokensPerMinute: 0, tokensPerDay: 0, cooldown: 0 },
    rateLimited: 0,
    cooldowns: 0,
  };
  /** The limit holding each provider's queue (its head was refused), until its head goes. */
  readonly laneHeld = new Map<string, LimitName>();
  /** Due retries held back, in the order they came due. */
  readonly held = new Set<SessionRecord>();
  private readonly estimates = new WeakMap<SessionRecord, number>();
  private earliest = Number.POSITIVE_INFINITY;
  /** Retries asking the shared limiter (a shared backend), until it answers. */
  private readonly asking = new Set<SessionRecord>();

  constructor(
    private readonly config: ReadonlyMap<string, ProviderLimitsConfig>,
    private readonly clock: Clock,
    private readonly defaultCompletionTokens: number,
    /** The alarm, armed in the session driver's deadline heap. */
    private readonly arm: (alarm: Alarm, at: number | null) => void,
    private readonly alarm: Alarm,
    /**
     * On a shared backend: the limiter every instance shares. Admission happened when the queue
     * leased the session (its first start is charged there); retries ask it here, asynchronously.
     */
    private readonly shared?: {
      readonly limiter: Limiter;
      /** A held retry may go now. */
      readonly go: (record: SessionRecord) => void;
      readonly onError: (error: unknown) => void;
    },
  ) {
    this.state = new MemorySharedState(clock);
    this.limiter = new Limiter(config, this.state);
  }

  /** A retry is due: `true` when it may start now; else the runtime holds it until `go`/the pump. */
  retry(record: SessionRecord, lapsesAt: number): boolean {
    const shared = this.shared;
    if (shared === undefined) {
      if (this.held.size === 0 && this.gate(record, lapsesAt)) return true;
      this.held.add(record);
      return false;
    }
    if (record.work.kind !== 'chat') return true;
    if (!this.asking.has(record)) {
      this.asking.add(record);
      this.ask(record, lapsesAt, shared);
    }
    return false;
  }

  private ask(record: SessionRecord, lapsesAt: number, shared: NonNullable<LocalLimits['shared']>): void {
    const start = this.startOf(record, lapsesAt);
    shared.limiter.tryStart(record.provider, start).then(
      (got) => {
        if (record.result !== null) {
          this.asking.delete(record);
          if (got.ok) this.settleShared(record.provider, start, { kind: 'ended' });
          return;
        }
        if (got.ok) {
          this.asking.delete(record);
          record.waitingFor = undefined;
          record.limitStart = start;
          shared.go(record);
          return;
        }
        if (record.waitingFor !== got.limit) this.counters.waits[got.limit]++;
        record.waitingFor = got.limit;
        const now = this.clock.now();
        const waitMs = Math.max(50, (got.at ?? now + 1000) - now);
        this.clock.setTimeout(() => this.ask(record, lapsesAt, shared), waitMs);
      },
      (error: unknown) => {
        // The shared limiter is away: the retry goes rather than wait on a Redis that may not return.
        this.asking.delete(record);
        shared.onError(error);
        if (record.result === null) shared.go(record);
      },
    );
  }

  private settleShared(provider: string, start: Start, outcome: CallOutcome): void {
    const shared = this.shared as NonNullable<LocalLimits['shared']>;
    shared.limiter.settle(provider, start, this.clock.now(), outcome).then((began) => {
      if (began) this.counters.cooldowns++;
    }, shared.onError);
  }

  private startOf(record: SessionRecord, lapsesAt: number): Start {
    return {
      sessionId: record.input.sessionId,
      model: record.input.model,
      now: this.clock.now(),
      tokens: this.estimate(record),
      lapsesAt,
    };
  }

  /** The estimate a session is charged (docs/providers.md, "Token estimates"). */
  estimate(record: SessionRecord): number {
    if (record.work.kind !== 'chat') return 0;
    let tokens = this.estimates.get(record);
    if (tokens === undefined) {
      tokens = estimateTokens(record.work.request, this.defaultCompletionTokens).total;
      this.estimates.set(record, tokens);
    }
    return tokens;
  }

  /** Before one admission pass. */
  begin(): void {
    this.earliest = Number.POSITIVE_INFINITY;
  }

  /** After it: the alarm rings when the earliest held limit may have room. */
  end(): void {
    this.arm(this.alarm, Number.isFinite(this.earliest) ? this.earliest : null);
  }

  /** Whether a session may start an attempt now; charges it when it may. */
  gate(record: SessionRecord, lapsesAt: number): boolean {
    // On a shared backend the queue admitted it, under the shared limits.
    if (record.work.kind !== 'chat' || this.shared !== undefined) return true;
    const provider = record.provider;
    // Nothing configured and no cooldown ever: nothing to count.
    if (!this.config.has(provider) && this.state.readNow(providerKey(provider)) === undefined) return true;
    const start = this.startOf(record, lapsesAt);
    const got = this.limiter.tryStartNow(provider, start);
    if (got.ok) {
      record.waitingFor = undefined;
      record.limitStart = start;
      if (!record.admitted) this.laneHeld.delete(provider);
      return true;
    }
    if (record.waitingFor !== got.limit) this.counters.waits[got.limit]++;
    record.waitingFor = got.limit;
    if (!record.admitted) this.laneHeld.set(provider, got.limit);
    if (got.at !== null && got.at < this.earliest) this.earliest = got.at;
    return false;
  }

  /** What holds a queued session back: its own last refusal, or its provider's queue's. */
  waitingOf(record: SessionRecord): LimitName | undefined {
    return record.waitingFor ?? (record.admitted ? undefined : this.laneHeld.get(record.provider));
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
      this.settleShared(record.provider, start ?? this.bare(record, now), outcome);
      return true;
    }
    if (this.limiter.settleNow(record.provider, start ?? this.bare(record, now), now, outcome))
      this.counters.cooldowns++;
    return true;
  }

  /** A session ended: its charge's slot and probe go. */
  ended(record: SessionRecord): void {
    this.held.delete(record);
    const start = record.limitStart ?? null;
    if (start === null) return;
    record.limitStart = null;
    if (this.shared !== undefined) {
      this.settleShared(record.provider, start, { kind: 'ended' });
      return;
    }
    this.limiter.settleNow(record.provider, start, this.clock.now(), { kind: 'ended' });
  }

  budgets(providers: readonly string[]): Record<string, ProviderBudget> {
    return this.limiter.budgetsNow(providers, this.clock.now());
  }

  private bare(record: SessionRecord, now: number): Start {
    return { sessionId: record.input.sessionId, model: record.input.model, now, tokens: 0, lapsesAt: now };
  }
}
