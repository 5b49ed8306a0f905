/**
 * `deadlinesHold`, `shutdownDeadline`, `runningShare` and `attemptsHold` (see `invariants.ts`), for the in-memory
 * runtime on a simulated clock, where every instant is the model's:
 *
 * - no session is still live once its queue deadline (while it waits) or its run deadline (from its
 *   admission: its first call, or a hop out of the queue) has passed;
 * - none is live once a shutdown's deadline (`supervisor.draining`'s `deadlineAt`) has passed;
 * - no caller (`metadata.owner`) runs more than `maxRunningPerCaller` sessions at once: a place is
 *   taken at admission and given back at the end, a fallback hop keeps it, with the places of lent
 *   slots (`places-seen.ts`: a child on its lender's slot, of its lender's caller, runs in its
 *   lender's place; a lender that ends first leaves its place to it); and a session that times
 *   out in the queue naming that share had its caller at its share then (a place never given back
 *   would hold the caller's sessions for ever, which the bound alone does not see).
 *
 * - no model with a `maxConcurrent` of its own has more calls in flight (`limitsHold`);
 * - each session calls each of its targets at most `maxAttempts` times, and its `attempts` counts
 *   every call (docs/routing.md: retries are counted per target).
 *
 * The deadlines are checked after each command (`check`, once its work has settled): a clock
 * advance fires the deadlines within it at its end time, so the first step that ends past a
 * deadline is where its session must have ended.
 */
import type { Runtime, RuntimeEvent } from '../runtime/types.js';
import type { InvariantName, Violation } from './invariants.js';
import { type Lender, LentSlots } from './lent-slots.js';
import { PlacesSeen } from './places-seen.js';

interface Live {
  readonly owner: string | undefined;
  readonly queuedAt: number;
  /** When it was admitted (its run deadline counts from then), `undefined` while it waits. */
  admittedAt: number | undefined;
  /** Its calls, in all and on its current target (since its last hop). */
  calls: number;
  callsHere: number;
  /** Its current target (`provider\0model`), and the target of its call in flight, if any. */
  target: string;
  calling: string | null;
}

export class DeadlinesSeen {
  readonly violations: Violation[] = [];
  private readonly live = new Map<string, Live>();
  /** Slots lent (`lentBy`), and each caller's places with theirs (`places-seen.ts`), by this model's own copy. */
  private readonly lent = new LentSlots();
  private readonly places: PlacesSeen;
  private shutdownDeadlineAt: number | undefined;
  /** Sessions already reported live past a deadline (once each). */
  private readonly reported = new Set<string>();
  readonly unsubscribe: () => void;

  constructor(
    private readonly runtime: Pick<Runtime, 'subscribe' | 'session'>,
    /** A session's run and queue timeouts in ms, as submitted (known once `submit` returned). */
    private readonly submitted: (
      sessionId: string,
    ) => { readonly timeoutMs: number; readonly queueTimeoutMs: number } | undefined,
    private readonly maxRunningPerCaller: number | undefined,
    /** `maxAttempts`: the calls a session may make on each of its targets. */
    private readonly maxAttempts: number,
    /** A model's own `maxConcurrent` (`limits.providers.<name>.models.<id>`), if it has one. */
    private readonly modelLimit: (provider: string, model: string) => number | undefined = () => undefined,
  ) {
    this.places = new PlacesSeen(
      maxRunningPerCaller ?? Number.POSITIVE_INFINITY,
      (id) => runtime.session(id)?.owner,
      this.lent,
      (detail) => this.fail('runningShare', detail),
    );
    this.unsubscribe = runtime.subscribe((event) => this.onEvent(event));
  }

  /** A session as a lender (`LentSlots`): live and admitted, or not (ended: no longer live). */
  private lender(id: string): Lender | undefined {
    const live = this.live.get(id);
    return live === undefined ? undefined : { admitted: live.admittedAt !== undefined, ended: [] };
  }

  private fail(invariant: InvariantName, detail: string): void {
    this.violations.push({ invariant, detail });
  }

  /** Whether `owner` runs its whole share now (a session of it waiting is passed over, alone). */
  atShare(owner: string | undefined): boolean {
    if (owner === undefined || this.maxRunningPerCaller === undefined) return false;
    return this.places.runs(owner) >= this.maxRunningPerCaller;
  }

  ownerOf(sessionId: string): string | undefined {
    return this.live.get(sessionId)?.owner;
  }

  private onEvent(event: RuntimeEvent): void {
    if (event.type === 'supervisor.draining') {
      this.shutdownDeadlineAt ??= event.deadlineAt;
      this.draining ??= { live: new Set(this.live.keys()), finished: 0, cancelled: [] };
      return;
    }
    if (!('sessionId' in event)) return;
    // The places first, reading the links before this event changes them (as `RuntimeObserver`).
    this.places.onEvent(event, this.lender(event.sessionId));
    if (event.type === 'session.queued') {
      // Told within `submit`: the caller is read from the runtime, the deadlines later.
      const session = this.runtime.session(event.sessionId);
      this.live.set(event.sessionId, {
        owner: session?.owner,
        queuedAt: event.at,
        admittedAt: undefined,
        calls: 0,
        callsHere: 0,
        target: `${event.provider}\u0000${session?.model ?? ''}`,
        calling: null,
      });
      return;
    }
    const live = this.live.get(event.sessionId);
    if (live === undefined) return;
    if (event.type !== 'session.started' && event.type !== 'session.delta') this.endCall(live);
    if (event.type === 'session.fallback') live.target = `${event.to.provider}\u0000${event.to.model}`;
    if (event.type === 'session.started') {
      this.startCall(live);
      live.calls++;
      if (++live.callsHere > this.maxAttempts)
        this.fail(
          'attemptsHold',
          `${event.sessionId} made call ${live.callsHere} on one target at ${event.at}, maxAttempts ${this.maxAttempts}`,
        );
    } else if (event.type === 'session.fallback') live.callsHere = 0;
    if (
      (event.type === 'session.started' || event.type === 'session.fallback') &&
      live.admittedAt === undefined
    ) {
      // On its lender's slot (`lentBy`): the observer judges the lending, this keeps the links.
      if (event.lentBy !== undefined)
        this.lent.lend(event.sessionId, event.lentBy, this.lender(event.lentBy));
      live.admittedAt = event.at;
    } else if (event.type === 'session.ended') {
      this.live.delete(event.sessionId);
      if (this.draining?.live.has(event.sessionId) === true) {
        const { result } = event;
        if (!result.ok && result.error.code === 'SHUTTING_DOWN')
          this.draining.cancelled.push(event.sessionId);
        else this.draining.finished++;
      }
      if (event.result.metadata.attempts !== live.calls)
        this.fail(
          'attemptsHold',
          `${event.sessionId} ended after ${live.calls} call(s), its metadata says ${event.result.metadata.attempts} attempt(s)`,
        );
      // A place never given back (a way out of running that forgot it) holds its caller's next
      // sessions for ever: they time out in the queue naming the share while it is not taken.
      const { state, waitingFor } = event.result.metadata;
      if (state === 'timedOut' && waitingFor === 'maxRunningPerCaller' && !this.atShare(live.owner))
        this.fail(
          'runningShare',
          `${event.sessionId} timed out at ${event.at} held by its caller's share, while ${live.owner ?? 'no caller'} ran ${this.places.runs(live.owner)} of ${this.maxRunningPerCaller}`,
        );
      if (live.admittedAt !== undefined) this.lent.ended(event.sessionId);
    }
  }

  /** Calls in flight per target (`provider\0model`), against its model's `maxConcurrent`. */
  private readonly inFlight = new Map<string, number>();

  private startCall(live: Live): void {
    this.endCall(live);
    live.calling = live.target;
    this.inFlight.set(live.target, (this.inFlight.get(live.target) ?? 0) + 1);
  }

  private endCall(live: Live): void {
    if (live.calling === null) return;
    this.inFlight.set(live.calling, (this.inFlight.get(live.calling) ?? 1) - 1);
    live.calling = null;
  }

  /** Whether a model has room for one more call under its own `maxConcurrent` (`workConserved`). */
  modelRoom(provider: string, model: string): boolean {
    const limit = this.modelLimit(provider, model);
    return limit === undefined || (this.inFlight.get(`${provider}\u0000${model}`) ?? 0) < limit;
  }

  /** The sessions live as the shutdown began, and how those ended: on their own, or cancelled by it. */
  private draining: { live: Set<string>; finished: number; cancelled: string[] } | undefined;

  /** `shutdownReport`: the report counts what ended on its own while draining, and names what it cancelled. */
  checkReport(report: { readonly finished: number; readonly cancelled: readonly string[] }): void {
    const seen = this.draining ?? { finished: 0, cancelled: [] };
    const named = [...report.cancelled].sort().join(', ');
    const cancelled = [...seen.cancelled].sort().join(', ');
    if (report.finished !== seen.finished || named !== cancelled)
      this.fail(
        'shutdownReport',
        `Expected a shutdown report of ${seen.finished} finished and cancelled [${cancelled}], got ${report.finished} and [${named}]`,
      );
  }

  /** After a command: no session live past a deadline that has passed, no model past its `maxConcurrent`. */
  check(now: number): void {
    // After the command, not at each start: a session whose slot lapses at its run deadline lets the
    // next call start in that instant, told before its own end (as `cooldownHolds`'s probe is).
    for (const [target, calls] of this.inFlight) {
      const [provider = '', model = ''] = target.split('\u0000');
      const limit = this.modelLimit(provider, model);
      if (limit !== undefined && calls > limit)
        this.fail(
          'limitsHold',
          `${calls} calls in flight on ${provider}/${model} at ${now}, its model's maxConcurrent ${limit}`,
        );
    }
    for (const [id, live] of this.live) {
      if (this.reported.has(id)) continue;
      const given = this.submitted(id);
      const admitted = live.admittedAt !== undefined;
      const deadline =
        given === undefined
          ? undefined
          : live.admittedAt === undefined
            ? live.queuedAt + given.queueTimeoutMs
            : live.admittedAt + given.timeoutMs;
      if (deadline !== undefined && now >= deadline) {
        this.reported.add(id);
        this.fail(
          'deadlinesHold',
          `session ${id} still ${admitted ? 'running' : 'queued'} at ${now}, its ${admitted ? 'run' : 'queue'} deadline at ${deadline}`,
        );
        // Past it: a 0 ms drain arms a timer at the current instant, which a simulated clock fires
        // at its next advance (a real one in the next turn of the event loop).
      } else if (this.shutdownDeadlineAt !== undefined && now > this.shutdownDeadlineAt) {
        this.reported.add(id);
        this.fail(
          'shutdownDeadline',
          `session ${id} still live at ${now}, the shutdown's deadline at ${this.shutdownDeadlineAt}`,
        );
      }
    }
  }
}
