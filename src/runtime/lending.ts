/**
 * A running session lends its global slot to one session it waits for (`SubmitOptions.parent`): a
 * tool run as a session (`run`, `withSession`) that asks a model and awaits its answer holds a
 * `maxConcurrent` slot the model's session needs too; with as many such tools running as slots,
 * every slot was a tool's waiting for a model call that waited for a slot, until the model calls'
 * queue deadlines ended them. Now such a session, when no slot is free, runs on its parent's:
 *
 * - one at a time per parent (a parent awaiting several runs them one after another on its slot,
 *   and any on slots that are free), so `maxConcurrent` still bounds the sessions doing work: a
 *   parent whose child runs on its slot is waiting for it;
 * - within its provider's limits (its lane's `perProvider`, and the gate of limits in the
 *   provider's own units), which are the provider's, not the parent's;
 * - with its caller's share (`maxRunningPerCaller`): a child of the same caller takes its parent's
 *   place; a child of another caller needs a place of its own;
 * - a parent that ends while its child runs on its slot leaves the slot (and, of the same caller,
 *   the place) to the child.
 *
 * The scheduler counts the borrowed slots (`Scheduler.borrow`, `keep`); this keeps the links.
 */
import { ownerIn } from '../core/metadata.js';
import type { SessionEvent } from './events.js';
import type { SessionRecord } from './session-record.js';

/** A session's links to the session it runs within, and to those that run within it. */
export interface Link {
  /** The live session it was submitted within, while it waits or runs. */
  parent: SessionRecord | undefined;
  /** Its children waiting in the queue, in the order they came. */
  readonly waiting: Set<SessionRecord>;
  /** The child running on its slot. */
  lentTo: SessionRecord | undefined;
  /** It runs on its parent's slot. */
  borrowing: boolean;
}

/** How a lending look starts a child on its parent's slot (the admission loop's, `pump.ts`). */
export interface LentSlotStarter {
  /** Takes the child out of its queue onto the slot, if it may go now; `false` leaves it waiting. */
  take(child: SessionRecord, sameCaller: boolean): boolean;
  /** Starts it, once its links are set: it may end before this returns (a call its gate refuses). */
  begin(child: SessionRecord): void;
}

/** The id of the session whose slot `record` runs on now, if it runs on a lent one (its `session.started`'s `lentBy`). */
const lentBy = (record: SessionRecord): string | undefined =>
  record.lending?.borrowing === true ? (record.lending.parent as SessionRecord).input.sessionId : undefined;

/** A `session.started` of `record`'s attempt `attempt`, naming the session whose slot it runs on, if any. */
export function startedEvent(
  record: SessionRecord,
  attempt: number,
  at: number,
): Extract<SessionEvent, { type: 'session.started' }> {
  const sessionId = record.input.sessionId;
  const lender = lentBy(record);
  return lender === undefined
    ? { type: 'session.started', sessionId, attempt, at }
    : { type: 'session.started', sessionId, attempt, lentBy: lender, at };
}

/**
 * `event`, a `session.fallback` of `record`, naming the session whose slot it runs on, if any: a
 * queued child moved on past a cooldown onto its parent's slot leaves its queue with this event.
 */
export function fallbackEvent(
  record: SessionRecord,
  event: Extract<SessionEvent, { type: 'session.fallback' }>,
): Extract<SessionEvent, { type: 'session.fallback' }> {
  const lender = lentBy(record);
  return lender === undefined ? event : { ...event, lentBy: lender };
}

const linkOf = (record: SessionRecord): Link =>
  (record.lending ??= { parent: undefined, waiting: new Set(), lentTo: undefined, borrowing: false });

const sameCaller = (a: SessionRecord, b: SessionRecord): boolean => ownerIn(a.caller) === ownerIn(b.caller);

/** `child`, taken out of its queue, runs on the slot of the parent `link` is of. */
function begin(link: Link, child: SessionRecord, starter: LentSlotStarter): void {
  link.waiting.delete(child);
  link.lentTo = child;
  linkOf(child).borrowing = true;
  starter.begin(child);
}

export class Lending {
  /** Parents with children waiting: each pass looks at them (a parent not running or lending passes). */
  private readonly lenders = new Set<SessionRecord>();

  /**
   * Whether a new child of `parent` (a live session, if any) may wait past the queue's counts
   * (`maxQueued`, `maxQueuedPerCaller`; not its bytes): `parent` runs and neither lends its slot
   * nor has a child waiting, so its slot takes this one at once unless its provider's own limits
   * hold it. One such child a parent at a time: a caller's queued sessions do not refuse the model
   * call of its running one.
   */
  mayQueuePast(parent: SessionRecord | undefined): boolean {
    if (parent === undefined || !parent.admitted) return false;
    const link = parent.lending;
    return link === undefined || (link.lentTo === undefined && link.waiting.size === 0);
  }

  /** Links a new session to `parent`, a live session of this runtime (none: nothing to link). */
  link(child: SessionRecord, parent: SessionRecord | undefined): void {
    if (parent === undefined) return;
    linkOf(child).parent = parent;
    linkOf(parent).waiting.add(child);
    this.lenders.add(parent);
  }

  /**
   * Starts, for each running parent not lending, its first waiting child that `starter` can take
   * onto the parent's slot. Children that started on a slot of their own meanwhile are let go.
   */
  lend(starter: LentSlotStarter): void {
    for (const parent of this.lenders) {
      const link = parent.lending as Link;
      // A parent still queued has no slot to lend; one lends to one child at a time.
      if (!parent.admitted || link.lentTo !== undefined) continue;
      for (const child of link.waiting) {
        if (child.admitted) {
          // Started on a free slot: no longer waiting for this one.
          link.waiting.delete(child);
          continue;
        }
        if (!starter.take(child, sameCaller(child, parent))) continue;
        begin(link, child, starter);
        break;
      }
      // Stryker disable next-line ConditionalExpression,BlockStatement: a parent with none waiting lends nothing; it leaves the set at its end at the latest.
      if (link.waiting.size === 0) this.lenders.delete(parent);
    }
  }

  /**
   * Starts `child`, queued, on its parent's slot now, if that parent runs and lends its slot to no
   * one and `starter` takes it: a child its provider's cooldown moves on to its next target when no
   * slot is free (`pump.ts`). `false` leaves it waiting.
   */
  lendTo(child: SessionRecord, starter: LentSlotStarter): boolean {
    const parent = child.lending?.parent as SessionRecord;
    // Not a child (no parent: no lender), or its parent ended (it lends no more, `ended`) or is still
    // queued (it has no slot to lend).
    if (!this.lenders.has(parent) || !parent.admitted) return false;
    const link = parent.lending as Link;
    if (link.lentTo !== undefined || !starter.take(child, sameCaller(child, parent))) return false;
    begin(link, child, starter);
    // Stryker disable next-line BooleanLiteral: a child started but told not is put back to be looked at again, and skipped then (`CooldownReroutes`: admitted).
    return true;
  }

  /**
   * A session with a link ended. Returns whether it ran on a lent slot (its global slot goes back to
   * its lender, not to the count). A lender that ends leaves its slot to the child on it: `keep` is
   * told which, and whether that slot is one of the count's (its own; else a slot lent to it, which
   * the child now runs on from its lender, as the one it waits for ended).
   */
  ended(record: SessionRecord, link: Link, keep: (child: SessionRecord, counted: boolean) => void): boolean {
    const parent = link.parent;
    const child = link.lentTo;
    if (parent !== undefined) {
      const parentLink = parent.lending as Link;
      parentLink.waiting.delete(record);
      // Its lender may lend again, to its next waiting child; a slot it lent passes on to the child
      // on it, which goes on running on it (it lends no second one meanwhile).
      if (parentLink.lentTo === record) parentLink.lentTo = link.borrowing ? child : undefined;
    }
    if (child !== undefined) {
      const childLink = child.lending as Link;
      if (link.borrowing) childLink.parent = parent;
      else childLink.borrowing = false;
      keep(child, !link.borrowing);
    }
    // Its waiting children wait for a free slot, as any session: it lends no more.
    this.lenders.delete(record);
    return link.borrowing;
  }
}
