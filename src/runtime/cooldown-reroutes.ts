/**
 * In memory, the queued sessions a new cooldown of their provider must move on: those with
 * fallbacks whose queue deadline comes before the cooldown's end (`rerouteOnCooldown`). Each
 * provider's queue is looked through once per cooldown, then each session queued during it.
 */
import type { Clock } from '../core/clock.js';
import { rerouteOnCooldown } from './reroute.js';
import type { SessionRecord } from './session-record.js';

export class CooldownReroutes {
  /** Providers the gate found cooling down, until when; and those whose queue to look through for that. */
  private readonly cooling = new Map<string, number>();
  private readonly rescan = new Set<string>();
  /** Sessions with fallbacks queued while their provider cools down. */
  private arrivals: SessionRecord[] = [];

  constructor(private readonly clock: Clock) {}

  /** The gate refused a queued session for `provider`'s cooldown until `at`: a new one is looked at. */
  refused(provider: string, at: number): void {
    if (this.cooling.get(provider) === at) return;
    this.cooling.set(provider, at);
    this.rescan.add(provider);
  }

  /** Whether `reroutes` has anything to look at. */
  get mayReroute(): boolean {
    return this.rescan.size > 0 || this.arrivals.length > 0;
  }

  /** A session was queued: one with fallbacks, behind a provider cooling down, is looked at on the next pass. */
  queued(record: SessionRecord): void {
    if (record.input.targets === undefined) return;
    const until = this.cooling.get(record.provider);
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
      const at = this.cooling.get(record.provider);
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
