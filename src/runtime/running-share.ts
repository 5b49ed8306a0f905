/**
 * Each caller's share of the sessions running at once in one process (`limits.maxRunningPerCaller`;
 * on a cluster each instance keeps its own, `src/scale/caller-runs.ts`). A session whose caller
 * (`metadata.owner`) runs its share is held alone (the scheduler's `'item'`): its queue goes on past
 * it to other callers' sessions, and it keeps its place among its caller's own. A session without
 * an owner is bounded by `maxConcurrent` alone. A place is taken when the session is admitted and
 * given back when it ends; a fallback hop keeps it. One of the caller's sessions ending pumps the
 * queue, so a held session needs no alarm.
 *
 * Without it, a client whose calls are slow could hold every slot for as long as they run, and the
 * others' calls timed out in the queue (docs/security.md).
 */
import { CallerSlots } from '../core/caller-slots.js';
import { ownerIn } from '../core/metadata.js';
import type { PassHolds } from './pass-holds.js';
import type { SessionRecord } from './session-record.js';

export class RunningShare {
  /** Each caller's places, held by its running sessions. */
  private readonly slots: CallerSlots<SessionRecord>;

  constructor(
    perCaller: number,
    private readonly holds: PassHolds,
  ) {
    this.slots = new CallerSlots(perCaller);
  }

  /**
   * The admission gate's first look: `'item'` when the session's caller runs its share (the session
   * is marked as held by it), `undefined` when the share lets it go.
   */
  check(record: SessionRecord): 'item' | undefined {
    const owner = ownerIn(record.caller);
    // Stryker disable next-line ConditionalExpression: no place is ever taken for an unowned session (`started`), so `full` finds none for it either.
    if (owner !== undefined && this.slots.full(owner)) return this.holds.refuseCaller(record);
    this.unmark(record);
    return undefined;
  }

  /**
   * A queued session times out: the share is named only if it holds it still (its caller may have
   * a place again while a full provider holds it, where no gate looked at it).
   */
  timingOut(record: SessionRecord): void {
    const owner = ownerIn(record.caller);
    // Stryker disable next-line ConditionalExpression: no place is ever taken for an unowned session, so `full` finds none for it either.
    if (owner === undefined || !this.slots.full(owner)) this.unmark(record);
  }

  /** Its caller's share no longer holds it: a task's gate (which never refuses) or a full provider would leave the mark, and a running task said it waited. */
  private unmark(record: SessionRecord): void {
    if (record.waitingFor === 'maxRunningPerCaller') record.waitingFor = undefined;
  }

  /** How many callers hold a place (none for sessions without an owner). */
  get callers(): number {
    return this.slots.callers;
  }

  /** An admitted session takes a place of its caller's. */
  started(record: SessionRecord): void {
    const owner = ownerIn(record.caller);
    if (owner !== undefined) this.slots.takeFor(record, owner);
  }

  /** A session ended: the place it held, if any, is free (`true`). */
  ended(record: SessionRecord): boolean {
    return this.slots.release(record) !== undefined;
  }

  /**
   * Whether every waiting session (`queued` of them; `waitingOf(caller)` of one caller's) is its
   * caller's while that caller runs its share: then none could start, and the admission pass need
   * not look past each of them (a caller at its share with 2,500 waiting made each pass walk them all).
   */
  holdsAll(queued: number, waitingOf: (caller: string) => number): boolean {
    let held = 0;
    for (const caller of this.slots.atShare()) held += waitingOf(caller);
    return held >= queued;
  }
}
