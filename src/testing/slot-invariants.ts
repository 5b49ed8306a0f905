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
 * - its windows: every call started on a provider (retries and hops included) counts one request
 *   and its estimate in tokens in the one-second buckets of the documented window (docs/runtime.md,
 *   "Limits": the 61 buckets S-60..S of the second S now), and its tokens in the hour's bucket of
 *   `tokensPerDay` (the 25 buckets H-24..H); a call answered with its usage counts that instead of
 *   its estimate, in the same buckets. A model's own windows count the same calls (the model's
 *   sessions all ask for one model), for `heldBy` only: `status()` shows no model's windows. A request is charged only when its call starts: until
 *   2026-12-05 a held retry due in the same step as its run deadline was charged, and this count
 *   allowed for it. A call its own gate refused (`refusedByGate`: an open breaker) counts nothing:
 *   until 2026-12-06 the runtime kept its charge, and this count every start;
 * - a provider's own `maxConcurrent`: its calls in flight;
 * - its cooldown (or its model's): the observer's copy of the cooldown machine (`LimitsSeen`,
 *   `limit-invariants.ts`), from the 429s and the calls after them;
 * - the runtime accepts until `supervisor.draining`.
 *
 * `statusCounts`, after each command: `status()` shows these counts: `running`, each provider's
 * `running` (within what is maybe held) and `limit`, `maxConcurrent`, `state`, and for each provider
 * with limits of its own (`status().limits`) what is `remaining` of each configured limit and its
 * cooldown (until when, its models' too; its state, a probe's turn included: `probing` until the
 * probe answers, ends or is accepted, `open` for a provider that cools down per model). `workConserved` and `providerOrder` judge by these counts,
 * not by what `status()` says; this holds `status()` to them.
 */
import type { Runtime, RuntimeEvent } from '../runtime/types.js';
import type { Violation } from './invariants.js';
import { type LimitsSeen, refusedByGate } from './limit-invariants.js';

interface Holding {
  /** The provider whose slot it holds, `null` for none (moved on from the queue, or hopping). */
  lane: string | null;
  /** The slot a hop left, maybe still held until its first call on its target. */
  leaving: string | null;
  /** Its current target's provider. */
  current: string;
  /** The provider of its call in flight, `null` between calls. */
  calling: string | null;
  /** Its last call's start, for the usage its answer reports. */
  last: StartSeen | null;
}

/** A call started on a provider: when, and the tokens it is charged (its estimate, or its usage). */
interface StartSeen {
  readonly at: number;
  tokens: number;
}

/** What is left of each of a provider's own limits (`null`: not configured), as `status()` shows them. */
export interface LimitsLeft {
  readonly maxConcurrent: number | null;
  readonly requestsPerMinute: number | null;
  readonly tokensPerMinute: number | null;
  readonly tokensPerDay: number | null;
}

type WindowsSeen = {
  readonly requestsPerMinute?: number;
  readonly tokensPerMinute?: number;
  readonly tokensPerDay?: number;
  readonly maxConcurrent?: number;
};

type ProviderLimitsSeen = WindowsSeen & {
  readonly cooldownScope?: 'provider' | 'model';
  /** Its models' own limits (their `maxConcurrent` is `DeadlinesSeen.modelRoom`'s). */
  readonly models?: Readonly<Record<string, WindowsSeen>>;
};

export interface SlotLimits {
  readonly maxConcurrent: number;
  readonly perProvider: Readonly<Record<string, number>>;
  readonly providers?: Readonly<Record<string, ProviderLimitsSeen>>;
}

/** The first window of `left` with no room for a call charged `estimate` tokens. */
function spentWindow(left: LimitsLeft, estimate: number): string | undefined {
  if (left.requestsPerMinute !== null && left.requestsPerMinute < 1) return 'requestsPerMinute';
  if (left.tokensPerMinute !== null && left.tokensPerMinute < estimate) return 'tokensPerMinute';
  if (left.tokensPerDay !== null && left.tokensPerDay < estimate) return 'tokensPerDay';
  return undefined;
}

export class SlotsSeen {
  readonly violations: Violation[] = [];
  private readonly queuedOn = new Map<string, string>();
  private readonly holding = new Map<string, Holding>();
  /** Each provider's call starts. */
  private readonly starts = new Map<string, StartSeen[]>();
  private draining = false;
  private reported = false;
  readonly unsubscribe: () => void;

  constructor(
    private readonly runtime: Pick<Runtime, 'subscribe' | 'status'>,
    private readonly limits: SlotLimits,
    /** The tokens a call is charged when it starts (the model's sessions all send one request). */
    private readonly estimate = 0,
    /** The observer's copy of each cooldown; without it, cooldowns go unchecked. */
    private readonly cooldowns?: Pick<LimitsSeen, 'cooldownAt' | 'stateAt'>,
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
            last: null,
          });
        else {
          if (held.lane !== provider) held.leaving = null;
          held.lane = provider;
          held.calling = provider;
        }
        this.queuedOn.delete(id);
        const start: StartSeen = { at: event.at, tokens: this.estimate };
        (this.holding.get(id) as Holding).last = start;
        const starts = this.starts.get(provider) ?? [];
        starts.push(start);
        this.starts.set(provider, starts);
        return;
      }
      case 'session.retry':
        if (held === undefined) return;
        this.uncountRefused(held, event.error);
        held.calling = null;
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
            last: null,
          });
          return;
        }
        this.uncountRefused(held, event.error);
        held.calling = null;
        held.current = event.to.provider;
        if (held.lane !== null && held.lane !== event.to.provider) {
          held.leaving = held.lane;
          held.lane = null;
        }
        return;
      case 'session.ended':
        this.queuedOn.delete(id);
        this.holding.delete(id);
        if (held !== undefined && !event.result.ok) this.uncountRefused(held, event.result.error);
        // What the answer reported replaces its estimate (`reconcile`, in the buckets it was charged to).
        if (event.result.ok && held?.last != null && event.result.metadata.usage !== undefined)
          held.last.tokens = event.result.metadata.usage.totalTokens;
        return;
      default:
        return;
    }
  }

  /** A call its own gate refused (`refusedByGate`) was never sent: its start leaves the windows. */
  private uncountRefused(held: Holding, error: Parameters<typeof refusedByGate>[0]): void {
    if (held.calling === null || held.last === null || !refusedByGate(error)) return;
    const starts = this.starts.get(held.calling) ?? [];
    const at = starts.lastIndexOf(held.last);
    if (at >= 0) starts.splice(at, 1);
    held.last = null;
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
    const limit = this.laneLimit(provider);
    if (limit === null) return false;
    const { sure, maybe } = this.slots(provider);
    return sure + maybe >= limit;
  }

  /** A provider's slots: its `perProvider`, or its own `maxConcurrent` if fewer (the runtime's lane takes the less). */
  private laneLimit(provider: string): number | null {
    const own = this.limits.providers?.[provider]?.maxConcurrent;
    const lane = this.limits.perProvider[provider];
    if (own === undefined) return lane ?? null;
    return lane === undefined ? own : Math.min(lane, own);
  }

  /** Calls in flight to `provider`. */
  calls(provider: string): number {
    let n = 0;
    for (const held of this.holding.values()) if (held.calling === provider) n++;
    return n;
  }

  /**
   * What is left of each of `provider`'s own limits at `now` (docs/runtime.md, "Limits"), or of its
   * model's (`limits`; the model's sessions all ask for one model, so its calls are its provider's).
   */
  left(
    provider: string,
    now: number,
    limits: WindowsSeen = this.limits.providers?.[provider] ?? {},
  ): LimitsLeft {
    const second = Math.floor(now / 1000);
    const hour = Math.floor(now / 3_600_000);
    let requests = 0;
    let tokens = 0;
    let day = 0;
    for (const start of this.starts.get(provider) ?? []) {
      if (Math.floor(start.at / 3_600_000) >= hour - 24) day += start.tokens;
      if (Math.floor(start.at / 1000) < second - 60) continue;
      requests++;
      tokens += start.tokens;
    }
    const of = (limit: number | undefined, used: number) =>
      limit === undefined ? null : Math.max(0, limit - used);
    return {
      maxConcurrent: of(limits.maxConcurrent, this.calls(provider)),
      requestsPerMinute: of(limits.requestsPerMinute, requests),
      tokensPerMinute: of(limits.tokensPerMinute, tokens),
      tokensPerDay: of(limits.tokensPerDay, day),
    };
  }

  /** What holds a start of `model` on `provider` now, by these counts; `undefined` when nothing does. */
  heldBy(provider: string, model: string, now: number): string | undefined {
    const cooling = this.cooldowns?.cooldownAt(provider, model, now);
    if (cooling !== undefined) return cooling === 'probe' ? 'cooldown probe' : 'cooldown';
    const left = this.left(provider, now);
    if (left.maxConcurrent !== null && left.maxConcurrent < 1) return 'maxConcurrent';
    const spent = spentWindow(left, this.estimate);
    if (spent !== undefined) return spent;
    const own = this.limits.providers?.[provider]?.models?.[model];
    if (own === undefined) return undefined;
    // Its model's windows (its calls in flight are `modelRoom`'s).
    const mine = spentWindow(this.left(provider, now, { ...own, maxConcurrent: undefined }), this.estimate);
    return mine === undefined ? undefined : `model ${mine}`;
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
      const limit = this.laneLimit(lane.name);
      if (lane.limit !== limit) wrong.push(`${lane.name} limit ${lane.limit}, configured ${limit}`);
    }
    for (const provider of Object.keys(this.limits.providers ?? {}))
      this.checkLimits(provider, status.limits?.[provider], now, wrong);
    if (wrong.length === 0) return;
    this.reported = true;
    this.violations.push({ invariant: 'statusCounts', detail: `status() at ${now}: ${wrong.join('; ')}` });
  }

  /** `status().limits` of one provider against these counts: what is left, and its cooldown. */
  private checkLimits(
    provider: string,
    shown: NonNullable<ReturnType<Runtime['status']>['limits']>[string] | undefined,
    now: number,
    wrong: string[],
  ): void {
    if (shown === undefined) {
      wrong.push(`${provider} limits not shown`);
      return;
    }
    const left = this.left(provider, now);
    for (const name of ['maxConcurrent', 'requestsPerMinute', 'tokensPerMinute', 'tokensPerDay'] as const)
      if (shown.remaining[name] !== left[name])
        wrong.push(`${provider} ${name} left ${shown.remaining[name]}, ${left[name]} by the calls started`);
    if (this.cooldowns === undefined) return;
    const perModel = this.limits.providers?.[provider]?.cooldownScope === 'model';
    // The model's sessions all ask for `model`: a provider cooling down per model shows its own.
    const cooling = this.cooldowns.cooldownAt(provider, 'model', now);
    const until = cooling === undefined || cooling === 'probe' ? null : cooling.until;
    const shownUntil = perModel
      ? (shown.models?.model ?? null)
      : shown.cooldown === 'coolingDown'
        ? shown.cooldownUntil
        : null;
    if (shownUntil !== until)
      wrong.push(
        `${provider} cooling down until ${shownUntil ?? 'no cooldown'}, ${until ?? 'none'} by the 429s seen`,
      );
    // The provider's own machine: a provider that cools down per model never leaves `open`.
    const state = perModel ? 'open' : this.cooldowns.stateAt(provider, 'model', now);
    if (shown.cooldown !== state)
      wrong.push(`${provider} cooldown ${shown.cooldown}, ${state} by the 429s and probes seen`);
  }
}
