/**
 * What the in-memory admission loop's gate found held in one pass (`local-limits.ts`): the limit
 * holding each session and each provider's queue, the models a limit of their own held (their
 * later sessions wait too, in their order, without a second look at the limiter), and the earliest
 * time room may open, for the pass's alarm.
 */

import type { WaitingFor } from './limit-types.js';
import type { LimitName } from './limiter.js';
import type { SessionRecord } from './session-record.js';

interface ModelHold {
  readonly limit: LimitName;
  readonly at: number | null;
}

export class PassHolds {
  /** The limit holding each provider's queue (its head was refused), until its head goes. */
  readonly laneHeld = new Map<string, LimitName>();
  private earliest = Number.POSITIVE_INFINITY;
  /** In this pass: the models (`provider\0model`) a limit of their own held, and what held them. */
  private readonly models = new Map<string, ModelHold>();

  /** @param waits sessions held back, by the limit that held them (counted once per wait) */
  constructor(private readonly waits: Record<WaitingFor, number>) {}

  /** Before one admission pass. */
  begin(): void {
    this.earliest = Number.POSITIVE_INFINITY;
    this.forgetModels();
  }

  /**
   * After it: when the earliest held limit may have room, if any. The models it found held are
   * forgotten: a retry gated between passes asks the limiter, not a pass that is over.
   */
  end(): number | null {
    this.forgetModels();
    return Number.isFinite(this.earliest) ? this.earliest : null;
  }

  /**
   * `Map.prototype.clear` allocates a new table even for an empty map, and two passes run for each
   * session (at its submission and at its end): only a pass that held a model clears.
   */
  private forgetModels(): void {
    // Stryker disable next-line ConditionalExpression: a shortcut (speed); clearing an empty map leaves it empty.
    if (this.models.size !== 0) this.models.clear();
  }

  /** What held `model` of `provider` alone in this pass, if anything did. */
  model(provider: string, model: string): ModelHold | undefined {
    // Stryker disable next-line ConditionalExpression: a shortcut; an empty map finds nothing either.
    return this.models.size === 0 ? undefined : this.models.get(`${provider}\u0000${model}`);
  }

  /** A session held by a limit of its provider: its provider's queue waits behind it. */
  refuse(record: SessionRecord, limit: LimitName, at: number | null): false {
    this.hold(record, limit, at);
    if (!record.admitted) this.laneHeld.set(record.provider, limit);
    return false;
  }

  /** A session held by a limit of its model alone: it waits, its provider's queue goes on past it. */
  refuseModel(
    record: SessionRecord,
    provider: string,
    model: string,
    limit: LimitName,
    at: number | null,
  ): 'item' {
    this.models.set(`${provider}\u0000${model}`, { limit, at });
    this.hold(record, limit, at);
    return 'item';
  }

  /**
   * A session whose caller holds its share of the sessions running at once (`running-share.ts`): it
   * waits alone, and the pass needs no alarm for it (one of its caller's sessions ending pumps).
   */
  refuseCaller(record: SessionRecord): 'item' {
    this.hold(record, 'maxRunningPerCaller', null);
    return 'item';
  }

  private hold(record: SessionRecord, limit: WaitingFor, at: number | null): void {
    if (record.waitingFor !== limit) this.waits[limit]++;
    record.waitingFor = limit;
    // Stryker disable next-line EqualityOperator: on a tie both are the same time.
    if (at !== null && at < this.earliest) this.earliest = at;
  }

  /** What holds a queued session back: its own last refusal, or its provider's queue's. */
  waitingOf(record: SessionRecord): WaitingFor | undefined {
    return record.waitingFor ?? (record.admitted ? undefined : this.laneHeld.get(record.provider));
  }
}
