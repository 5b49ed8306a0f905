/**
 * `rateLimitsHold` and `cooldownHolds` (see `invariants.ts`): every provider call started, charged to
 * the target it went to (after a fallback hop, the hop's), and the observer's copy of each
 * provider's cooldown machine.
 */
import { PROBE_ACCEPTED_MS } from '../../machines/provider.js';
import type { RateLimits } from '../core/rate-window.js';
import { LIMITER_TTL_MS } from '../runtime/limiter.js';
import type { RuntimeEvent } from '../runtime/types.js';
import type { InvariantName, ObservedLimits, Seen, Violation } from './invariants.js';

/**
 * Whether an attempt's error is its own gate's refusal (an open breaker, a spent budget): the call
 * never left troupe, so it is charged nothing and is no probe's answer (docs/runtime.md, "Limits").
 * A breaker's `PROVIDER_UNAVAILABLE` carries no HTTP status; a provider's own 503 has its status.
 */
export function refusedByGate(
  error: { readonly code: string; readonly status?: number } | undefined,
): boolean {
  if (error === undefined) return false;
  return (
    error.code === 'BUDGET_EXCEEDED' || (error.code === 'PROVIDER_UNAVAILABLE' && error.status === undefined)
  );
}

/**
 * The session machine's own idle deadline (`timeoutError` in machines/session.ts, `stalled:
 * 'stream'`): a tick moved a stream that sent nothing on, and the runtime counts its call
 * unanswered. Until 2026-12-07 it was told from a stalled whole answer by its message's words.
 */
function idleDeadline(error: { readonly timeout?: string; readonly stalled?: string } | undefined): boolean {
  return error?.timeout === 'idle' && error.stalled === 'stream';
}

/**
 * A call's own end on its idle bound: an answer read whole whose body stalled once its headers came
 * (`StalledAnswerError`). It reached the session as the provider's error, which the runtime counts
 * as an answer (`outcomeOf`): the provider took the call, so a probe's ends its cooldown.
 */
function stalledAnswer(error: { readonly timeout?: string; readonly stalled?: string } | undefined): boolean {
  return error?.timeout === 'idle' && !idleDeadline(error);
}

/** One provider call started, and the tokens it is charged in the end. */
interface StartSeen {
  readonly provider: string;
  readonly model: string;
  readonly at: number;
  readonly sessionId: string;
  charged: number;
}

/** The observer's copy of a provider's cooldown machine (`machines/provider.ts`). */
interface CooldownSeen {
  state: 'open' | 'coolingDown' | 'probing';
  /** When the `RATE_LIMITED` answer that began (or last lengthened) the cooldown came. */
  since: number;
  until: number;
  probe: string | null;
  /** When the probe started: one not refused within `PROBE_ACCEPTED_MS` opens the provider. */
  probeAt: number;
  /** The answer that set `until`, for the report of a breach. */
  from: string;
  /** The last start or call outcome on it: the runtime's state forgets it `LIMITER_TTL_MS` later. */
  touched: number;
}

/** What the judgment of an event needs of its session as it was when the event came. */
type SeenAt = Pick<Seen, 'current' | 'currentModel' | 'admitted' | 'calling'>;

export class LimitsSeen {
  private readonly starts: StartSeen[] = [];
  /** The last start of each session. */
  private readonly lastStart = new Map<string, StartSeen>();
  /** By provider, or by `provider\0model` for a provider that cools down per model. */
  private readonly cooldowns = new Map<string, CooldownSeen>();
  /** When each session was admitted (its first start or hop): its run deadline counts from then. */
  private readonly admittedAt = new Map<string, number>();

  constructor(
    private readonly limits: ObservedLimits,
    private readonly fail: (invariant: InvariantName, detail: string) => void,
    /** A session's run timeout in ms, when the caller knows it: a probe's lapse is judged by it. */
    private readonly timeouts: (sessionId: string) => number | undefined = () => undefined,
  ) {}

  /**
   * `rateLimitsHold` and `cooldownHolds`, as the runtime must keep them: every call start is
   * counted, retries too; a `RATE_LIMITED` answer cools its provider down until its hint, no call
   * starts before then, then one probe until it answers.
   */
  onEvent(event: RuntimeEvent, seen: Seen | undefined): void {
    // On a backend, judged at the end of the run, in the order of their times.
    if (this.limits.endsLate === true)
      this.late.push({
        event,
        seen: seen && {
          current: seen.current,
          currentModel: seen.currentModel,
          admitted: seen.admitted,
          calling: seen.calling,
        },
      });
    else this.judge(event, seen);
  }

  /** On a backend (`endsLate`): every event, with what its session was seen as when it came. */
  private readonly late: { readonly event: RuntimeEvent; readonly seen: SeenAt | undefined }[] = [];

  private judge(event: RuntimeEvent, seen: SeenAt | undefined): void {
    const at = (event as { at?: number }).at;
    if (
      (event.type === 'session.started' || event.type === 'session.fallback') &&
      !this.admittedAt.has(event.sessionId)
    )
      this.admittedAt.set(event.sessionId, event.at);
    if (this.suspect !== null) {
      // The probe ended at that very instant (its run deadline, where its slot lapses): no breach.
      if (
        event.type === 'session.ended' &&
        event.sessionId === this.suspect.probe &&
        event.at === this.suspect.at &&
        (event.result.metadata.state === 'timedOut' || event.result.metadata.state === 'cancelled')
      )
        this.suspect = null;
      else if (at !== undefined && at > this.suspect.at) this.flush();
    }
    if (event.type === 'session.started') {
      if (seen === undefined) return;
      // Charged to the target actually called, not to the provider it was queued under.
      const start: StartSeen = {
        provider: seen.current,
        model: seen.currentModel,
        at: event.at,
        sessionId: event.sessionId,
        charged: this.limits.tokensOf?.(event.sessionId) ?? 0,
      };
      this.starts.push(start);
      this.lastStart.set(event.sessionId, start);
      const cooldown = this.cooldownOf(this.keyOf(seen.current, seen.currentModel), event.at);
      if (cooldown === undefined) return;
      cooldown.touched = event.at;
      if (cooldown.state === 'coolingDown' && event.at >= cooldown.until) {
        cooldown.state = 'probing';
        cooldown.probe = null;
      }
      if (cooldown.state === 'coolingDown') {
        // Admitted while the answer was being recorded in a shared state (`cooldownRaceMs`).
        if (event.at - cooldown.since <= (this.limits.cooldownRaceMs ?? 0)) return;
        this.fail(
          'cooldownHolds',
          `${event.sessionId} started on ${seen.current} at ${event.at}, cooling down until ${cooldown.until} (${cooldown.from})`,
        );
      } else if (cooldown.state === 'probing') {
        if (this.accepted(cooldown, event.at)) {
          cooldown.state = 'open';
          cooldown.probe = null;
          return;
        }
        // Events of one instant come in the runtime's order: a start at the probe's run deadline
        // may be told before the probe's own timeout. Judged once that instant is over.
        if (cooldown.probe !== null && event.at < this.runDeadlineOf(cooldown.probe))
          this.suspect = {
            at: event.at,
            probe: cooldown.probe,
            detail: `${event.sessionId} started on ${seen.current} at ${event.at} while ${cooldown.probe} probed`,
          };
        cooldown.probe = event.sessionId;
        cooldown.probeAt = event.at;
      }
      return;
    }
    // A hop to a fallback ends its call as a retry does.
    if (event.type !== 'session.retry' && event.type !== 'session.fallback' && event.type !== 'session.ended')
      return;
    if (seen === undefined) return;
    // A session moving on from a provider that cools down made no call there: nothing to count. That
    // is a queued one, or one between calls whose retry or hop the cooldown holds past its run deadline.
    if (event.type === 'session.fallback' && (!seen.admitted || seen.calling === null)) return;
    const error =
      event.type !== 'session.ended' ? event.error : event.result.ok ? undefined : event.result.error;
    // Refused by its own gate: no call went, nothing is charged. Until 2026-12-06 the runtime
    // counted it as a call sent and, as the probe, as its answer.
    const unsent = seen.calling !== null && refusedByGate(error);
    if (unsent) this.uncount(event.sessionId);
    // A hop on a stream's idle deadline (before the first delta) left a call that never answered; an
    // answer read whole that stalled was the provider's, whether its session moved on or timed out.
    const state = event.type === 'session.ended' ? event.result.metadata.state : undefined;
    const answered =
      !unsent &&
      (state === 'timedOut' ? stalledAnswer(error) : state !== 'cancelled' && !idleDeadline(error));
    // The call that ended was on the target a hop left, else on the current one.
    const [provider, model] =
      event.type === 'session.fallback'
        ? [event.from.provider, event.from.model]
        : [seen.current, seen.currentModel];
    const key = this.keyOf(provider, model);
    const cooldown = this.cooldownOf(key, event.at) ?? {
      state: 'open',
      since: 0,
      until: 0,
      probe: null,
      probeAt: 0,
      from: '',
      touched: event.at,
    };
    cooldown.touched = event.at;
    this.cooldowns.set(key, cooldown);
    if (error?.code === 'RATE_LIMITED') {
      const until = event.at + (error.retryAfterMs ?? 1000);
      cooldown.until = cooldown.state === 'coolingDown' ? Math.max(cooldown.until, until) : until;
      cooldown.since = event.at;
      cooldown.from = `${event.type} of ${event.sessionId} at ${event.at}, retry after ${error.retryAfterMs}`;
      cooldown.state = 'coolingDown';
      cooldown.probe = null;
      return;
    }
    if (cooldown.state === 'probing' && cooldown.probe === event.sessionId) {
      // A probe whose end is told at or past its acceptance time was accepted all the same, if its
      // run deadline did not come first (a simulated advance tells its timers at its end).
      if (answered || this.accepted(cooldown, event.at)) cooldown.state = 'open';
      cooldown.probe = null;
    }
    // What a done call reported replaces its estimate.
    if (event.type === 'session.ended' && event.result.ok) {
      const last = this.lastStart.get(event.sessionId);
      const used = event.result.metadata.usage?.totalTokens;
      if (last !== undefined && used !== undefined) last.charged = used;
    }
  }

  /** Takes a session's last start out of the windows: its gate refused its call. */
  private uncount(sessionId: string): void {
    const last = this.lastStart.get(sessionId);
    if (last === undefined) return;
    const at = this.starts.lastIndexOf(last);
    if (at >= 0) this.starts.splice(at, 1);
    this.lastStart.delete(sessionId);
  }

  /**
   * The provider machine's `probeAccepted`: a probe is accepted `PROBE_ACCEPTED_MS` after it started
   * if its session's run deadline (where its probe lapses) did not come before that.
   */
  /**
   * The copy of a cooldown at `at`: none once `LIMITER_TTL_MS` passed since its last start or outcome,
   * as the runtime's limiter state (which holds the cooldown) expires then, and the provider is open.
   */
  private cooldownOf(key: string, at: number): CooldownSeen | undefined {
    const cooldown = this.cooldowns.get(key);
    if (cooldown === undefined || at - cooldown.touched < LIMITER_TTL_MS) return cooldown;
    this.cooldowns.delete(key);
    return undefined;
  }

  private accepted(cooldown: CooldownSeen, at: number): boolean {
    const acceptedAt = cooldown.probeAt + PROBE_ACCEPTED_MS;
    return cooldown.probe !== null && at >= acceptedAt && this.runDeadlineOf(cooldown.probe) >= acceptedAt;
  }

  /**
   * A session's run deadline, `Infinity` when its timeout is not known. Read when needed: the model
   * knows a timeout once `submit` returned, after a start within it.
   */
  private runDeadlineOf(sessionId: string): number {
    const timeoutMs = this.timeouts(sessionId);
    const admittedAt = this.admittedAt.get(sessionId);
    return timeoutMs === undefined || admittedAt === undefined
      ? Number.POSITIVE_INFINITY
      : admittedAt + timeoutMs;
  }

  private keyOf(provider: string, model: string): string {
    return this.limits.cooldownPerModel?.includes(provider) === true ? `${provider}\u0000${model}` : provider;
  }

  /**
   * Whether a session's own model (of a provider that cools down per model) holds it at `at`:
   * cooling down, or probed by another session.
   */
  holdsModel(seen: Pick<Seen, 'current' | 'currentModel'>, at: number): boolean {
    if (this.limits.cooldownPerModel?.includes(seen.current) !== true) return false;
    const cooldown = this.cooldownOf(this.keyOf(seen.current, seen.currentModel), at);
    if (cooldown === undefined) return false;
    if (cooldown.state === 'coolingDown') return at < cooldown.until;
    return cooldown.state === 'probing' && cooldown.probe !== null;
  }

  /**
   * The model's copy of the cooldown over `provider` (or its `model`, cooling down per model) at
   * `at`: until when it holds every start, `'probe'` while a probe's call holds them (for at most
   * `PROBE_ACCEPTED_MS`), `undefined` when it lets one go.
   */
  cooldownAt(provider: string, model: string, at: number): { readonly until: number } | 'probe' | undefined {
    const cooldown = this.cooldownOf(this.keyOf(provider, model), at);
    if (cooldown === undefined) return undefined;
    if (cooldown.state === 'coolingDown' && at < cooldown.until) return { until: cooldown.until };
    if (
      cooldown.state === 'probing' &&
      cooldown.probe !== null &&
      at < Math.min(this.runDeadlineOf(cooldown.probe), cooldown.probeAt + PROBE_ACCEPTED_MS)
    )
      return 'probe';
    return undefined;
  }

  /** The copy's state of that cooldown at `at`, as the runtime's machine has it after a tick then. */
  stateAt(provider: string, model: string, at: number): CooldownSeen['state'] {
    const cooldown = this.cooldownOf(this.keyOf(provider, model), at);
    if (cooldown === undefined || cooldown.state === 'open') return 'open';
    if (cooldown.state === 'coolingDown') return at < cooldown.until ? 'coolingDown' : 'probing';
    return this.accepted(cooldown, at) ? 'open' : 'probing';
  }

  /** A start during a probe not yet excused by the probe's end at the same instant. */
  private suspect: { readonly at: number; readonly probe: string; readonly detail: string } | null = null;

  private flush(): void {
    if (this.suspect === null) return;
    this.fail('cooldownHolds', this.suspect.detail);
    this.suspect = null;
  }

  /**
   * In every 60 s window, starts and tokens charged per provider (and per model of its, for a
   * model's own limits) within its limits; in every 24 hours, its tokens within `tokensPerDay`.
   */
  checkRates(out: Violation[]): void {
    // Stable: events of one instant keep the order they came in.
    const timeOf = (e: RuntimeEvent) => (e as { at?: number }).at ?? 0;
    const late = this.late.splice(0).sort((x, y) => timeOf(x.event) - timeOf(y.event));
    for (const { event, seen } of late) this.judge(event, seen);
    this.flush();
    for (const [provider, limits] of Object.entries(this.limits.providers ?? {})) {
      const starts = this.starts.filter((s) => s.provider === provider);
      windowBreaches(provider, starts, limits, out);
      for (const [model, own] of Object.entries(limits.models ?? {}))
        windowBreaches(
          `${provider}'s model ${model}`,
          starts.filter((s) => s.model === model),
          own,
          out,
        );
    }
  }
}

/** Sums what `starts` (in time order) charged in `spanMs` from each of them: the most starts and tokens seen. */
function busiest(starts: readonly StartSeen[], spanMs: number) {
  let most = { count: 0, tokens: 0, countFrom: 0, tokensFrom: 0 };
  for (let i = 0; i < starts.length; i++) {
    let count = 0;
    let tokens = 0;
    for (let j = i; j < starts.length && starts[j]!.at < starts[i]!.at + spanMs; j++) {
      count++;
      tokens += starts[j]!.charged;
    }
    const from = starts[i]!.at;
    if (count > most.count) most = { ...most, count, countFrom: from };
    if (tokens > most.tokens) most = { ...most, tokens, tokensFrom: from };
  }
  return most;
}

/** `rateLimitsHold` for one provider's (or model's) windows: the busiest 60 s and 24 h against its limits. */
function windowBreaches(
  who: string,
  starts: readonly StartSeen[],
  limits: RateLimits,
  out: Violation[],
): void {
  const minute = busiest(starts, 60_000);
  if (limits.requestsPerMinute !== undefined && minute.count > limits.requestsPerMinute)
    out.push({
      invariant: 'rateLimitsHold',
      detail: `${minute.count} calls started on ${who} in the 60 s from ${minute.countFrom}, limit ${limits.requestsPerMinute}/min`,
    });
  if (limits.tokensPerMinute !== undefined && minute.tokens > limits.tokensPerMinute)
    out.push({
      invariant: 'rateLimitsHold',
      detail: `${minute.tokens} tokens charged on ${who} in the 60 s from ${minute.tokensFrom}, limit ${limits.tokensPerMinute}/min`,
    });
  if (limits.tokensPerDay === undefined) return;
  const day = busiest(starts, 86_400_000);
  if (day.tokens > limits.tokensPerDay)
    out.push({
      invariant: 'rateLimitsHold',
      detail: `${day.tokens} tokens charged on ${who} in the 24 h from ${day.tokensFrom}, limit ${limits.tokensPerDay}/day`,
    });
}
