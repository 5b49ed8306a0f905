/**
 * The model's own count of what runs where, from the events alone (not from `status()`), for
 * `workConserved` and `providerOrder` to judge by, and `statusCounts`, which holds `status()` to it:
 *
 * - a session holds a slot of `maxConcurrent` from its admission (its first call, or a move past a
 *   cooling-down provider straight from the queue) to its end;
 * - it holds a slot of its provider's `perProvider` from its first call there to its end, between
 *   attempts too (a backoff keeps it); a fallback hop to another provider leaves that slot when
 *   the hop asks its target's gate, which no event shows: until the hop's first call on its target
 *   (where it holds the target's slot) the slot it left is counted as maybe held. A session moved on
 *   from the queue holds no provider's slot until its first call;
 * - `requestsPerMinute`: every call started on a provider (retries and hops included) counts in the
 *   one-second buckets of the documented window (docs/runtime.md, "Limits": the 61 buckets S-60..S
 *   of the second S now). An attempt due by the time its session timed out or was cancelled, which
 *   no `session.started` followed, may have been charged all the same (its retry's timer and the
 *   deadline fire in one advance; the gate charges before the deadline ends it): such a start is
 *   counted as maybe made;
 * - the runtime accepts until `supervisor.draining`.
 *
 * `statusCounts`, after each command: `status()` shows these counts: `running`, each provider's
 * `running` (within what is maybe held) and `limit`, `maxConcurrent`, `state`, and each provider's
 * `remaining.requestsPerMinute`. A runtime whose `status()` said a slot was taken, or a window spent,
 * when none was, would otherwise make `workConserved` excuse a session left waiting.
 */
import type { Runtime, RuntimeEvent } from '../runtime/types.js';
import type { Violation } from './invariants.js';

interface Holding {
  /** The provider whose slot it holds, `null` for none (moved on from the queue, or hopping). */
  lane: string | null;
  /** The slot a hop left, maybe still held until its first call on its target. */
  leaving: string | null;
  /** Its current target's provider. */
  current: string;
  /** The provider of its call in flight, `null` between calls. */
  calling: string | null;
  /** When its next attempt is due (a retry's delay, a hop at once), `null` once it started. */
  due: number | null;
}

export interface SlotLimits {
  readonly maxConcurrent: number;
  readonly perProvider: Readonly<Record<string, number>>;
  readonly providers?: Readonly<Record<string, { readonly requestsPerMinute?: number }>>;
}

export class SlotsSeen {
  readonly violations: Violation[] = [];
  private readonly queuedOn = new Map<string, string>();
  private readonly holding = new Map<string, Holding>();
  /** Each provider's call starts, by second; and the starts maybe charged (attempts cut off). */
  private readonly starts = new Map<string, number[]>();
  private readonly maybeStarts = new Map<string, number[]>();
  private draining = false;
  private reported = false;
  readonly unsubscribe: () => void;

  constructor(
    private readonly runtime: Pick<Runtime, 'subscribe' | 'status'>,
    private readonly limits: SlotLimits,
  ) {
    this.unsubscribe = runtime.subscribe((event) => this.onEvent(event));
  }

  private onEvent(event: RuntimeEvent): void {
    if (event.type === 'supervisor.draining' || event.type === 'supervisor.stopped') this.draining = true;
    if (!('sessionId' in event)) return;
    const id = event.sessionId;
    const held = this.holding.get(id);
    switch (event.type) {
      case 'session.queued':
        this.queuedOn.set(id, event.provider);
        return;
      case 'session.started': {
        const provider = held?.current ?? this.queuedOn.get(id) ?? event.provider;
        if (held === undefined)
          this.holding.set(id, {
            lane: provider,
            leaving: null,
            current: provider,
            calling: provider,
            due: null,
          });
        else {
          if (held.lane !== provider) held.leaving = null;
          held.lane = provider;
          held.calling = provider;
          held.due = null;
        }
        this.queuedOn.delete(id);
        const seconds = this.starts.get(provider) ?? [];
        seconds.push(Math.floor(event.at / 1000));
        this.starts.set(provider, seconds);
        return;
      }
      case 'session.retry':
        if (held === undefined) return;
        held.calling = null;
        held.due = event.at + event.delayMs;
        return;
      case 'session.fallback':
        if (held === undefined) {
          // Moved on from the queue: the global slot only, until its first call.
          this.queuedOn.delete(id);
          this.holding.set(id, {
            lane: null,
            leaving: null,
            current: event.to.provider,
            calling: null,
            due: event.at,
          });
          return;
        }
        held.calling = null;
        held.current = event.to.provider;
        held.due = event.at;
        if (held.lane !== null && held.lane !== event.to.provider) {
          held.leaving = held.lane;
          held.lane = null;
        }
        return;
      case 'session.ended':
        this.queuedOn.delete(id);
        this.holding.delete(id);
        if (held?.due != null && held.due <= event.at) {
          const seconds = this.maybeStarts.get(held.current) ?? [];
          seconds.push(Math.floor(held.due / 1000));
          this.maybeStarts.set(held.current, seconds);
        }
        return;
      default:
        return;
    }
  }

  /** Whether the runtime still accepts work (no drain began). */
  get accepting(): boolean {
    return !this.draining;
  }

  /** Sessions holding a slot of `maxConcurrent`. */
  get running(): number {
    return this.holding.size;
  }

  /** A provider's slots: surely held, and maybe held (left by hops not yet on their target). */
  slots(provider: string): { sure: number; maybe: number } {
    let sure = 0;
    let maybe = 0;
    for (const held of this.holding.values()) {
      if (held.lane === provider) sure++;
      else if (held.leaving === provider) maybe++;
    }
    return { sure, maybe };
  }

  /** Whether every slot of `provider` may be taken (maybe-held ones counted as held). */
  laneFull(provider: string): boolean {
    const limit = this.limits.perProvider[provider];
    if (limit === undefined) return false;
    const { sure, maybe } = this.slots(provider);
    return sure + maybe >= limit;
  }

  /** Calls in flight to `provider`. */
  calls(provider: string): number {
    let n = 0;
    for (const held of this.holding.values()) if (held.calling === provider) n++;
    return n;
  }

  /**
   * What is left of `provider`'s `requestsPerMinute` at `now` (`null` without one): at most, and
   * at least (the starts maybe charged counted too).
   */
  requestsLeft(provider: string, now: number): { most: number; least: number } | null {
    const limit = this.limits.providers?.[provider]?.requestsPerMinute;
    if (limit === undefined) return null;
    const second = Math.floor(now / 1000);
    const inWindow = (seconds: number[] | undefined) =>
      (seconds ?? []).filter((s) => s >= second - 60).length;
    const used = inWindow(this.starts.get(provider));
    const maybe = inWindow(this.maybeStarts.get(provider));
    return { most: Math.max(0, limit - used), least: Math.max(0, limit - used - maybe) };
  }

  /** `statusCounts`: `status()` against the counts above (reported once per run). */
  check(now: number): void {
    if (this.reported) return;
    const status = this.runtime.status();
    const wrong: string[] = [];
    if ((status.state === 'accepting') !== this.accepting)
      wrong.push(`state ${status.state}, ${this.accepting ? 'no drain began' : 'a drain began'}`);
    if (status.running !== this.running) wrong.push(`running ${status.running}, ${this.running} admitted`);
    if (status.maxConcurrent !== this.limits.maxConcurrent)
      wrong.push(`maxConcurrent ${status.maxConcurrent}, configured ${this.limits.maxConcurrent}`);
    for (const lane of status.providers) {
      const { sure, maybe } = this.slots(lane.name);
      if (lane.running < sure || lane.running > sure + maybe)
        wrong.push(
          `${lane.name} running ${lane.running}, ${sure} holding its slot${maybe === 0 ? '' : ` and ${maybe} hop(s) maybe`}`,
        );
      const limit = this.limits.perProvider[lane.name] ?? null;
      if (lane.limit !== limit) wrong.push(`${lane.name} limit ${lane.limit}, configured ${limit}`);
    }
    for (const [provider, limits] of Object.entries(this.limits.providers ?? {})) {
      if (limits.requestsPerMinute === undefined) continue;
      const left = this.requestsLeft(provider, now) as { most: number; least: number };
      const shown = status.limits?.[provider]?.remaining.requestsPerMinute;
      if (shown == null || shown > left.most || shown < left.least)
        wrong.push(
          `${provider} requestsPerMinute left ${shown ?? 'not shown'}, ${left.least === left.most ? left.most : `${left.least} to ${left.most}`} by the calls started`,
        );
    }
    if (wrong.length === 0) return;
    this.reported = true;
    this.violations.push({ invariant: 'statusCounts', detail: `status() at ${now}: ${wrong.join('; ')}` });
  }
}
