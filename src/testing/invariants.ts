/**
 * The runtime's invariants as named checks over what an observer saw. They hold for any provider
 * and any limits, so a user can run them against their own adapter (see `checkRuntimeProperties`).
 */
import { PROBE_ACCEPTED_MS } from '../../machines/provider.js';
import type { FinalState, Runtime, RuntimeEvent, SessionMetadata } from '../runtime/types.js';

export type InvariantName =
  | 'endsExactlyOnce'
  | 'limitsHold'
  | 'priorityOrder'
  | 'drainStops'
  | 'callsReleased'
  | 'metricsMatch'
  | 'historyBounded'
  /** No session moves to a fallback after a delta reached its observers (no text from two targets). */
  | 'oneTargetStreams'
  /** A route accounts for the session's run time, ends where the session did, and hops only before the run deadline. */
  | 'routeWithinDeadline'
  | 'rateLimitsHold'
  | 'cooldownHolds';

export interface Violation {
  readonly invariant: InvariantName;
  readonly detail: string;
}

export interface ObservedLimits {
  readonly maxConcurrent: number;
  /** Every this-many admissions per provider may pass over priority (the fairness turn). */
  readonly fairnessEvery: number;
  readonly perProvider: Readonly<Record<string, number>>;
  readonly historySize: number;
  /** Limits in providers' own units, by provider (see `rateLimitsHold`). */
  readonly providers?: Readonly<
    Record<string, { readonly requestsPerMinute?: number; readonly tokensPerMinute?: number }>
  >;
  /** The estimate charged for each start of a session (docs/providers.md, "Token estimates"). */
  readonly tokensOf?: (sessionId: string) => number;
}

/** One provider call started, and the tokens it is charged in the end. */
interface StartSeen {
  readonly provider: string;
  readonly at: number;
  readonly sessionId: string;
  charged: number;
}

/** The observer's copy of a provider's cooldown machine (`machines/provider.ts`). */
interface CooldownSeen {
  state: 'open' | 'coolingDown' | 'probing';
  until: number;
  probe: string | null;
  /** When the probe started: one not refused within `PROBE_ACCEPTED_MS` opens the provider. */
  probeAt: number;
}

interface Seen {
  readonly provider: string;
  readonly priority: number;
  readonly seq: number;
  admitted: boolean;
  ended: FinalState[];
  deltas: number;
  fallbacks: number;
}

/** Subscribes to a runtime and checks the invariants that must hold at every event. */
export class RuntimeObserver {
  readonly violations: Violation[] = [];
  readonly sessions = new Map<string, Seen>();
  private readonly queued = new Map<string, Seen>();
  private readonly running = new Map<string, number>();
  private readonly admissions = new Map<string, number>();
  private runningTotal = 0;
  private seq = 0;
  private stopped = false;
  /** Every provider call started, for `rateLimitsHold`; the last one of each session. */
  private readonly starts: StartSeen[] = [];
  private readonly lastStart = new Map<string, StartSeen>();
  private readonly cooldowns = new Map<string, CooldownSeen>();
  shutdownAt: number | undefined;
  readonly unsubscribe: () => void;

  constructor(
    private readonly runtime: Runtime,
    private readonly limits: ObservedLimits,
    priorities: (sessionId: string) => number | undefined = () => undefined,
    /** A session's run timeout in ms, when the caller knows it: hops are checked against it. */
    private readonly timeouts: (sessionId: string) => number | undefined = () => undefined,
  ) {
    this.unsubscribe = runtime.subscribe((event) => this.onEvent(event, priorities));
  }

  private fail(invariant: InvariantName, detail: string): void {
    this.violations.push({ invariant, detail });
  }

  private onEvent(event: RuntimeEvent, priorities: (id: string) => number | undefined): void {
    this.onLimits(event);
    switch (event.type) {
      case 'session.queued': {
        const priority = priorities(event.sessionId) ?? this.runtime.session(event.sessionId)?.priority ?? 5;
        const seen: Seen = {
          provider: event.provider,
          priority,
          seq: this.seq++,
          admitted: false,
          ended: [],
          deltas: 0,
          fallbacks: 0,
        };
        this.sessions.set(event.sessionId, seen);
        this.queued.set(event.sessionId, seen);
        break;
      }
      case 'session.started': {
        const seen = this.sessions.get(event.sessionId);
        if (seen === undefined || seen.admitted) break;
        if (this.stopped)
          this.fail('drainStops', `session ${event.sessionId} was admitted after the supervisor stopped`);
        // Priority order, with the one documented exception: a fairness turn admits the
        // longest-waiting session of the provider, whatever its priority.
        let oldest = seen.seq;
        for (const other of this.queued.values()) {
          if (other.provider === seen.provider && other.seq < oldest) oldest = other.seq;
        }
        const admission = (this.admissions.get(seen.provider) ?? 0) + 1;
        this.admissions.set(seen.provider, admission);
        const fairTurn = admission % this.limits.fairnessEvery === 0;
        this.queued.delete(event.sessionId);
        for (const [id, other] of this.queued) {
          if (other.provider !== seen.provider || other.priority <= seen.priority) continue;
          if (other.seq < seen.seq || seen.seq !== oldest || !fairTurn) {
            this.fail(
              'priorityOrder',
              `session ${event.sessionId} (priority ${seen.priority}) was admitted before ${id} (priority ${other.priority}) on admission ${admission}, not a fairness turn for the oldest`,
            );
          }
        }
        seen.admitted = true;
        const onProvider = (this.running.get(seen.provider) ?? 0) + 1;
        this.running.set(seen.provider, onProvider);
        this.runningTotal++;
        const limit = this.limits.perProvider[seen.provider];
        if (limit !== undefined && onProvider > limit) {
          this.fail('limitsHold', `${onProvider} sessions ran on ${seen.provider}, limit ${limit}`);
        }
        if (this.runningTotal > this.limits.maxConcurrent) {
          this.fail(
            'limitsHold',
            `${this.runningTotal} sessions ran at once, limit ${this.limits.maxConcurrent}`,
          );
        }
        break;
      }
      case 'session.ended': {
        const seen = this.sessions.get(event.sessionId);
        if (seen === undefined) {
          this.fail('endsExactlyOnce', `session ${event.sessionId} ended without having been queued`);
          break;
        }
        seen.ended.push(event.result.metadata.state);
        this.checkRoute(event.sessionId, seen, event.result.metadata);
        if (seen.ended.length > 1)
          this.fail('endsExactlyOnce', `session ${event.sessionId} ended ${seen.ended.length} times`);
        this.queued.delete(event.sessionId);
        if (seen.admitted && seen.ended.length === 1) {
          this.running.set(seen.provider, (this.running.get(seen.provider) ?? 1) - 1);
          this.runningTotal--;
        }
        break;
      }
      case 'session.delta': {
        const seen = this.sessions.get(event.sessionId);
        if (seen !== undefined) seen.deltas++;
        break;
      }
      case 'session.fallback': {
        const seen = this.sessions.get(event.sessionId);
        if (seen === undefined) break;
        seen.fallbacks++;
        if (seen.deltas > 0)
          this.fail(
            'oneTargetStreams',
            `session ${event.sessionId} moved to ${event.to.provider}/${event.to.model} after ${seen.deltas} delta(s) of ${event.from.provider}/${event.from.model}`,
          );
        break;
      }
      case 'supervisor.stopped':
        this.stopped = true;
        break;
      default:
        break;
    }
  }

  private checkRoute(id: string, seen: Seen, metadata: SessionMetadata): void {
    const route = metadata.route;
    if (route === undefined) {
      if (seen.fallbacks > 0) this.fail('routeWithinDeadline', `session ${id} fell back but has no route`);
      return;
    }
    const total = route.reduce((sum, hop) => sum + hop.ms, 0);
    if (total !== metadata.runMs)
      this.fail(
        'routeWithinDeadline',
        `session ${id}: its route adds up to ${total} ms, it ran ${metadata.runMs} ms`,
      );
    const last = route[route.length - 1];
    if (metadata.runMs > 0 && (last?.provider !== metadata.provider || last.model !== metadata.model))
      this.fail(
        'routeWithinDeadline',
        `session ${id} ended on ${metadata.provider}/${metadata.model}, its route on ${last?.provider}/${last?.model}`,
      );
    const timeoutMs = this.timeouts(id);
    const beforeLast = total - (last?.ms ?? 0);
    if (timeoutMs !== undefined && route.length > 1 && beforeLast >= timeoutMs)
      this.fail(
        'routeWithinDeadline',
        `session ${id} hopped ${beforeLast} ms into a run deadline of ${timeoutMs} ms`,
      );
  }

  /**
   * `rateLimitsHold` and `cooldownHolds`, as the runtime must keep them: every call start is
   * counted, retries too; a `RATE_LIMITED` answer cools its provider down until its hint, no call
   * starts before then, then one probe until it answers.
   */
  private onLimits(event: RuntimeEvent): void {
    if (event.type === 'session.started') {
      const seen = this.sessions.get(event.sessionId);
      if (seen === undefined) return;
      const start: StartSeen = {
        provider: seen.provider,
        at: event.at,
        sessionId: event.sessionId,
        charged: this.limits.tokensOf?.(event.sessionId) ?? 0,
      };
      this.starts.push(start);
      this.lastStart.set(event.sessionId, start);
      const cooldown = this.cooldowns.get(seen.provider);
      if (cooldown === undefined) return;
      if (cooldown.state === 'coolingDown' && event.at >= cooldown.until) {
        cooldown.state = 'probing';
        cooldown.probe = null;
      }
      if (cooldown.state === 'coolingDown') {
        this.fail(
          'cooldownHolds',
          `${event.sessionId} started on ${seen.provider} at ${event.at}, cooling down until ${cooldown.until}`,
        );
      } else if (cooldown.state === 'probing') {
        if (cooldown.probe !== null && event.at >= cooldown.probeAt + PROBE_ACCEPTED_MS) {
          cooldown.state = 'open';
          cooldown.probe = null;
          return;
        }
        if (cooldown.probe !== null)
          this.fail(
            'cooldownHolds',
            `${event.sessionId} started on ${seen.provider} while ${cooldown.probe} probed`,
          );
        cooldown.probe = event.sessionId;
        cooldown.probeAt = event.at;
      }
      return;
    }
    // A hop to a fallback ends its call as a retry does.
    if (event.type !== 'session.retry' && event.type !== 'session.fallback' && event.type !== 'session.ended')
      return;
    const seen = this.sessions.get(event.sessionId);
    if (seen === undefined) return;
    const error =
      event.type !== 'session.ended' ? event.error : event.result.ok ? undefined : event.result.error;
    const answered =
      event.type !== 'session.ended' ||
      event.result.metadata.state === 'done' ||
      event.result.metadata.state === 'failed';
    const cooldown = this.cooldowns.get(seen.provider) ?? {
      state: 'open',
      until: 0,
      probe: null,
      probeAt: 0,
    };
    this.cooldowns.set(seen.provider, cooldown);
    if (error?.code === 'RATE_LIMITED') {
      const until = event.at + (error.retryAfterMs ?? 1000);
      cooldown.until = cooldown.state === 'coolingDown' ? Math.max(cooldown.until, until) : until;
      cooldown.state = 'coolingDown';
      cooldown.probe = null;
      return;
    }
    if (cooldown.state === 'probing' && cooldown.probe === event.sessionId) {
      if (answered) cooldown.state = 'open';
      cooldown.probe = null;
    }
    // What a done call reported replaces its estimate.
    if (event.type === 'session.ended' && event.result.ok) {
      const last = this.lastStart.get(event.sessionId);
      const used = event.result.metadata.usage?.totalTokens;
      if (last !== undefined && used !== undefined) last.charged = used;
    }
  }

  /** In every 60 s window, starts and tokens charged per provider within its limits. */
  private checkRates(out: Violation[]): void {
    for (const [provider, limits] of Object.entries(this.limits.providers ?? {})) {
      const starts = this.starts.filter((s) => s.provider === provider);
      for (let i = 0; i < starts.length; i++) {
        let count = 0;
        let tokens = 0;
        for (let j = i; j < starts.length && starts[j]!.at < starts[i]!.at + 60_000; j++) {
          count++;
          tokens += starts[j]!.charged;
        }
        const from = starts[i]!.at;
        if (limits.requestsPerMinute !== undefined && count > limits.requestsPerMinute)
          out.push({
            invariant: 'rateLimitsHold',
            detail: `${count} calls started on ${provider} in the 60 s from ${from}, limit ${limits.requestsPerMinute}/min`,
          });
        if (limits.tokensPerMinute !== undefined && tokens > limits.tokensPerMinute)
          out.push({
            invariant: 'rateLimitsHold',
            detail: `${tokens} tokens charged on ${provider} in the 60 s from ${from}, limit ${limits.tokensPerMinute}/min`,
          });
      }
    }
  }

  /** The checks that need the whole run: call after every session should have ended. */
  checkEnd(
    calls: readonly { readonly signal: AbortSignal; readonly id: number; readonly settled?: boolean }[],
  ): Violation[] {
    const out = [...this.violations];
    this.checkRates(out);
    const counts: Record<FinalState, number> = { done: 0, failed: 0, timedOut: 0, cancelled: 0 };
    for (const [id, seen] of this.sessions) {
      if (seen.ended.length !== 1)
        out.push({ invariant: 'endsExactlyOnce', detail: `session ${id} ended ${seen.ended.length} times` });
      for (const state of seen.ended.slice(0, 1)) counts[state]++;
    }
    // A call that answered is left alone (nothing of it runs); every other one must be aborted.
    for (const call of calls) {
      if (call.settled !== true && !call.signal.aborted)
        out.push({
          invariant: 'callsReleased',
          detail: `provider call ${call.id} neither answered nor was aborted after its session ended`,
        });
    }
    const status = this.runtime.status();
    if (status.running !== 0 || status.queued !== 0) {
      out.push({
        invariant: 'callsReleased',
        detail: `${status.running} running and ${status.queued} queued after every session ended`,
      });
    }
    const ended = this.runtime.metrics().ended;
    for (const state of Object.keys(counts) as FinalState[]) {
      if (ended[state] !== counts[state]) {
        out.push({
          invariant: 'metricsMatch',
          detail: `metrics() counts ${ended[state]} ${state}, observed ${counts[state]}`,
        });
      }
    }
    if (this.runtime.sessions().length !== 0) {
      out.push({
        invariant: 'historyBounded',
        detail: `${this.runtime.sessions().length} ended sessions are still held as live`,
      });
    }
    const recent = this.runtime.status({ recent: Number.MAX_SAFE_INTEGER }).recent.length;
    if (recent > this.limits.historySize) {
      out.push({
        invariant: 'historyBounded',
        detail: `${recent} summaries kept, history size ${this.limits.historySize}`,
      });
    }
    return out;
  }
}
