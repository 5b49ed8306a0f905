/**
 * The runtime's invariants as named checks over what an observer saw. They hold for any provider
 * and any limits, so a user can run them against their own adapter (see `checkRuntimeProperties`).
 */
import type { FinalState, Runtime, RuntimeEvent } from '../runtime/types.js';
import type { ModelInvariantName } from './invariant-names.js';
import { LentSlots } from './lent-slots.js';
import { LimitsSeen } from './limit-invariants.js';
import type { ObservedLimits } from './observed-limits.js';
import { partialViolation } from './partial-check.js';
import { PlacesSeen } from './places-seen.js';
import { routeViolations } from './route-check.js';

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
  /** A session that ended without its answer after text reached its observers carries that text as `partial`, and no other. */
  | 'partialKept'
  /** A route accounts for the session's run time, ends where the session did, and hops only before the run deadline. */
  | 'routeWithinDeadline'
  | 'rateLimitsHold'
  | 'cooldownHolds'
  /** The request bytes held for the queue are the sum over the queued sessions (`queue-room-check.ts`). */
  | 'queuedBytes'
  /** No caller past its share of the queue, and no `QUEUE_FULL` while the queue, its bytes and the caller's share had room (`queue-room-check.ts`). */
  | 'queueRoom'
  /** In `deadline-invariants.ts`: queue and run deadlines, the shutdown's and its report, `maxRunningPerCaller`, `maxAttempts`. */
  | 'deadlinesHold'
  | 'shutdownDeadline'
  | 'shutdownReport'
  | 'runningShare'
  | 'attemptsHold'
  | ModelInvariantName;

export interface Violation {
  readonly invariant: InvariantName;
  readonly detail: string;
}

/**
 * How far into a cooldown a call may start on a backend and not break `cooldownHolds`. A start charged
 * while the instance heard another call's `RATE_LIMITED` answer is given back and asked again after
 * that answer's settle (`Limiter.tryStartFresh`), so on one instance (the model's) no call starts into
 * a cooldown: none is allowed. Across instances a call admitted by another one within the round trip
 * that writes the cooldown still starts a millisecond or two into it (the model runs one instance;
 * it was 100 ms before the second ask: starts answered after the 429 was heard, 1 to 2 ms in).
 */
export const COOLDOWN_RACE_MS = 0;

export type { ObservedLimits } from './observed-limits.js';

export interface Seen {
  /** The provider it was queued under. */
  readonly provider: string;
  /** Its current target's provider: where its next call goes (after a fallback hop, the hop's). */
  current: string;
  /** Its current target's model ('' when the runtime did not say). */
  currentModel: string;
  /** The provider of its call in flight, `null` between calls. */
  calling: string | null;
  readonly priority: number;
  readonly seq: number;
  admitted: boolean;
  /** A hop waiting in its target's queue (`hopsRequeue`): not counted running until it starts there. */
  requeued?: boolean;
  ended: FinalState[];
  deltas: number;
  /** The content and reasoning its deltas carried, for `partialKept`. */
  written: string;
  reasoned: string;
  fallbacks: number;
}

/** Subscribes to a runtime and checks the invariants that must hold at every event. */
export class RuntimeObserver {
  readonly violations: Violation[] = [];
  readonly sessions = new Map<string, Seen>();
  private readonly queued = new Map<string, Seen>();
  /** Calls in flight per provider. */
  private readonly calls = new Map<string, number>();
  private readonly admissions = new Map<string, number>();
  private runningTotal = 0;
  /** Sessions on a slot another lent them (`session.started`'s `lentBy`): not counted in `runningTotal`. */
  private readonly lent = new LentSlots();
  private readonly places: PlacesSeen | undefined;
  private seq = 0;
  private stopped = false;
  /** Every provider call started and each provider's cooldown, for `rateLimitsHold` and `cooldownHolds`. */
  readonly limitsSeen: LimitsSeen;
  shutdownAt: number | undefined;
  readonly unsubscribe: () => void;

  constructor(
    private readonly runtime: Runtime,
    private readonly limits: ObservedLimits,
    priorities: (sessionId: string) => number | undefined = () => undefined,
    /** A session's run timeout in ms, when the caller knows it: hops are checked against it. */
    private readonly timeouts: (sessionId: string) => number | undefined = () => undefined,
  ) {
    this.limitsSeen = new LimitsSeen(limits, (invariant, detail) => this.fail(invariant, detail), timeouts);
    // On a backend (`hopsRequeue`) each instance keeps its own share: the sum is no one's bound.
    const share = limits.hopsRequeue === true ? undefined : limits.maxRunningPerCaller;
    this.places =
      share === undefined
        ? undefined
        : new PlacesSeen(
            share,
            (id) => runtime.session(id)?.owner,
            this.lent,
            (detail) => this.fail('runningShare', detail),
          );
    this.unsubscribe = runtime.subscribe((event) => this.onEvent(event, priorities));
  }

  private fail(invariant: InvariantName, detail: string): void {
    this.violations.push({ invariant, detail });
  }

  private onEvent(event: RuntimeEvent, priorities: (id: string) => number | undefined): void {
    const seenBefore = this.sessions.get((event as { sessionId?: string }).sessionId ?? '');
    this.limitsSeen.onEvent(event, seenBefore);
    this.places?.onEvent(event, seenBefore);
    switch (event.type) {
      case 'session.queued': {
        const priority = priorities(event.sessionId) ?? this.runtime.session(event.sessionId)?.priority ?? 5;
        const seen: Seen = {
          provider: event.provider,
          current: event.provider,
          currentModel: this.runtime.session(event.sessionId)?.model ?? '',
          calling: null,
          priority,
          seq: this.seq++,
          admitted: false,
          ended: [],
          deltas: 0,
          written: '',
          reasoned: '',
          fallbacks: 0,
        };
        this.sessions.set(event.sessionId, seen);
        this.queued.set(event.sessionId, seen);
        break;
      }
      case 'session.started': {
        const seen = this.sessions.get(event.sessionId);
        if (seen === undefined) break;
        if (!seen.admitted) this.admit(event.sessionId, seen, true, event.at, event.lentBy);
        else {
          const breach = this.lent.again(event.sessionId, event.lentBy);
          if (breach !== undefined) this.fail('limitsHold', breach);
          if (seen.requeued === true) {
            seen.requeued = false;
            this.countRunning();
          }
        }
        // Each call counts against the provider it goes to: its current target's.
        this.endCall(seen);
        seen.calling = seen.current;
        const onProvider = (this.calls.get(seen.current) ?? 0) + 1;
        this.calls.set(seen.current, onProvider);
        const limit = this.limits.perProvider[seen.current];
        if (limit !== undefined && onProvider > limit) {
          this.fail('limitsHold', `${onProvider} calls in flight on ${seen.current}, limit ${limit}`);
        }
        break;
      }
      case 'session.retry': {
        const seen = this.sessions.get(event.sessionId);
        if (seen !== undefined) this.endCall(seen);
        break;
      }
      case 'session.ended': {
        const seen = this.sessions.get(event.sessionId);
        if (seen === undefined) {
          this.fail('endsExactlyOnce', `session ${event.sessionId} ended without having been queued`);
          break;
        }
        seen.ended.push(event.result.metadata.state);
        for (const detail of routeViolations(
          event.sessionId,
          seen.fallbacks,
          event.result.metadata,
          this.timeouts(event.sessionId),
        ))
          this.fail('routeWithinDeadline', detail);
        const partial = partialViolation(event.sessionId, seen.written, seen.reasoned, event.result);
        if (partial !== undefined) this.fail('partialKept', partial);
        // Checked: the text is not kept for the rest of the run.
        seen.written = '';
        seen.reasoned = '';
        if (seen.ended.length > 1)
          this.fail('endsExactlyOnce', `session ${event.sessionId} ended ${seen.ended.length} times`);
        this.queued.delete(event.sessionId);
        if (seen.admitted && seen.ended.length === 1) {
          this.endCall(seen);
          // A slot it ran on that was lent goes back to its lender, one it lent stays its child's.
          if (this.lent.ended(event.sessionId) && seen.requeued !== true) this.runningTotal--;
        }
        break;
      }
      case 'session.delta': {
        const seen = this.sessions.get(event.sessionId);
        if (seen === undefined) break;
        seen.deltas++;
        if (event.delta.type === 'content') seen.written += event.delta.text;
        else if (event.delta.type === 'reasoning') seen.reasoned += event.delta.text;
        break;
      }
      case 'session.fallback': {
        const seen = this.sessions.get(event.sessionId);
        if (seen === undefined) break;
        seen.fallbacks++;
        // A queued session that moved on before any call (its provider cooling down past its queue
        // deadline) left the queue here, out of its order: it takes no slot of that provider.
        // On its parent's slot when it names its lender (`lentBy`), as a start does.
        if (!seen.admitted) this.admit(event.sessionId, seen, false, event.at, event.lentBy);
        this.endCall(seen);
        seen.current = event.to.provider;
        seen.currentModel = event.to.model;
        if (
          this.limits.hopsRequeue === true &&
          event.to.provider !== event.from.provider &&
          seen.requeued !== true
        ) {
          seen.requeued = true;
          this.runningTotal--;
        }
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

  /**
   * A session leaves the queue: within the global limit, and when `inOrder`, in priority order
   * (bar the fairness turn); on the slot of `lentBy`, if it names one that may lend it (`LentSlots`).
   */
  private admit(id: string, seen: Seen, inOrder = true, at = 0, lentBy?: string): void {
    if (this.stopped) this.fail('drainStops', `session ${id} was admitted after the supervisor stopped`);
    seen.admitted = true;
    this.queued.delete(id);
    if (lentBy !== undefined) {
      const breach = this.lent.lend(id, lentBy, this.sessions.get(lentBy));
      // Not on a free slot, so in no order of those: its lender's first waiting child it may start.
      if (breach === undefined) return;
      this.fail('limitsHold', breach);
    }
    this.countRunning();
    if (!inOrder) return;
    // Priority order, bar a fairness turn (the provider's longest-waiting, whatever its priority).
    // A session held alone (its caller's share, its own model's cooldown) is looked past, on a
    // fairness turn too: the turn goes to the longest-waiting of the others.
    const heldAlone = (otherId: string, other: Seen) =>
      (other.currentModel !== seen.currentModel && this.limitsSeen.holdsModel(other, at)) ||
      this.limits.heldByShare?.(otherId) === true;
    let oldest = seen.seq;
    for (const [otherId, other] of this.queued) {
      if (other.provider === seen.provider && other.seq < oldest && !heldAlone(otherId, other))
        oldest = other.seq;
    }
    const admission = (this.admissions.get(seen.provider) ?? 0) + 1;
    this.admissions.set(seen.provider, admission);
    const fairTurn = admission % this.limits.fairnessEvery === 0;
    for (const [otherId, other] of this.queued) {
      if (other.provider !== seen.provider || other.priority <= seen.priority) continue;
      // Held alone: the provider's queue goes on past it.
      if (heldAlone(otherId, other)) continue;
      if (other.seq < seen.seq || seen.seq !== oldest || !fairTurn) {
        this.fail(
          'priorityOrder',
          `session ${id} (priority ${seen.priority}) was admitted before ${otherId} (priority ${other.priority}) on admission ${admission}, not a fairness turn for the oldest`,
        );
      }
    }
  }

  /** One more session running: within the global limit. */
  private countRunning(): void {
    this.runningTotal++;
    if (this.runningTotal > this.limits.maxConcurrent) {
      this.fail(
        'limitsHold',
        `${this.runningTotal} sessions ran at once, limit ${this.limits.maxConcurrent} (${this.runningNow()})`,
      );
    }
  }

  /** The sessions running now and the provider each is calling, for the report of a breach. */
  private runningNow(): string {
    const running = [...this.sessions].filter(
      ([id, seen]) =>
        seen.admitted && seen.ended.length === 0 && seen.requeued !== true && this.lent.on(id) === undefined,
    );
    return running
      .map(([id, seen]) => `${id.slice(0, 8)} on ${seen.current}, calling ${seen.calling}`)
      .join('; ');
  }

  /** The session's call in flight (if any) ended. */
  private endCall(seen: Seen): void {
    if (seen.calling === null) return;
    this.calls.set(seen.calling, (this.calls.get(seen.calling) ?? 1) - 1);
    seen.calling = null;
  }

  /** The checks that need the whole run: call after every session should have ended. */
  checkEnd(
    calls: readonly { readonly signal: AbortSignal; readonly id: number; readonly settled?: boolean }[],
  ): Violation[] {
    const out = [...this.violations];
    this.limitsSeen.checkRates(out);
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
