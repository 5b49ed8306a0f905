/**
 * In memory, the queued sessions a new cooldown of their provider must move on: those with
 * fallbacks whose queue deadline comes before the cooldown's end (`rerouteOnCooldown`). Each
 * provider's queue is looked through once per cooldown, then each session queued during it. A
 * provider that cools down per model (`cooldownScope: 'model'`) moves on only its model's sessions.
 */
import type { Clock } from '../core/clock.js';
import { rerouteOnCooldown } from './reroute.js';
import type { SessionRecord } from './session-record.js';

export class CooldownReroutes {
  /** What the gate found cooling down (a provider, or a model of one), until when; and the providers whose queue to look through for that. */
  private readonly cooling = new Map<string, number>();
  private readonly rescan = new Set<string>();
  /** Sessions with fallbacks queued while their provider cools down. */
  private arrivals: SessionRecord[] = [];

  constructor(
    private readonly clock: Clock,
    /** Whether a provider cools down per model. */
    private readonly perModel: (provider: string) => boolean,
  ) {}

  /** What cools down for a session of `model` on `provider`: the provider, or that model of it. */
  private keyOf(provider: string, model: string): string {
    return this.perModel(provider) ? `${provider}\u0000${model}` : provider;
  }

  /** The gate refused a queued session of `model` for `provider`'s cooldown until `at`: a new one is looked at. */
  refused(provider: string, model: string, at: number): void {
    const key = this.keyOf(provider, model);
    if (this.cooling.get(key) === at) return;
    // Cooldowns over go: keyed by model, the map would keep every model that ever cooled down.
    const now = this.clock.now();
    // Stryker disable next-line EqualityOperator,ConditionalExpression: one ending now is over for `queued` and `reroutes` too, and keeping one that is over is memory only.
    for (const [other, until] of this.cooling) if (until <= now) this.cooling.delete(other);
    this.cooling.set(key, at);
    this.rescan.add(provider);
  }

  /** Whether `reroutes` has anything to look at. */
  get mayReroute(): boolean {
    return this.rescan.size > 0 || this.arrivals.length > 0;
  }

  /** A session was queued: one with fallbacks, behind a provider cooling down, is looked at on the next pass. */
  queued(record: SessionRecord): void {
    if (record.input.targets === undefined) return;
    const until = this.cooling.get(this.keyOf(record.provider, record.input.model));
    // Stryker disable next-line ConditionalExpression: `undefined > now` is false.
    if (until !== undefined && until > this.clock.now()) this.arrivals.push(record);
  }

  /** The queued sessions that must move on now, each with `reroute` set. */
  reroutes(queuedOf: (provider: string) => Iterable<SessionRecord>): SessionRecord[] {
    // Stryker disable next-line ConditionalExpression: a shortcut; with nothing to look at the loops find nothing.
    if (!this.mayReroute) return [];
    const now = this.clock.now();
    const out: SessionRecord[] = [];
    const look = (record: SessionRecord) => {
      const at = this.cooling.get(this.keyOf(record.provider, record.input.model));
      // Stryker disable next-line ConditionalExpression: a shortcut; `rerouteOnCooldown` reads a missing end as -Infinity, before any queue deadline, and moves nothing.
      if (at === undefined) return;
      if (record.admitted || record.result !== null || record.reroute !== undefined) return;
      const reroute = rerouteOnCooldown(record.input, { ok: false, limit: 'cooldown', at }, now);
      if (reroute === undefined) return;
      record.reroute = reroute;
      record.waitingFor = undefined;
      out.push(record);
    };
    for (const provider of this.rescan) for (const record of queuedOf(provider)) look(record);
    for (const record of this.arrivals) look(record);
    this.rescan.clear();
    this.arrivals = [];
    return out;
  }
}
