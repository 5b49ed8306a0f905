/**
 * What `limitsHold` knows of lent slots (`SubmitOptions.parent`, docs/runtime.md "A session within
 * a session"): a session whose `session.started` names its lender (`lentBy`) runs on that session's
 * slot, not on one of `maxConcurrent`'s. The rules the observer holds such a start to:
 *
 * - its lender runs (admitted, not ended, not waiting in a queue after a hop) and lends to no
 *   other session at that moment: one child at a time on a slot;
 * - while it runs on it, every later start of it names the same lender; once its lender ended it
 *   runs on the slot it was left (as its own) and names none;
 * - a lender that ends while a child runs on its slot leaves the slot to it: a slot of the count
 *   stays the child's, and a slot lent to the lender passes on, the child running on it from the
 *   lender's lender.
 */
export interface Lender {
  readonly admitted: boolean;
  readonly ended: readonly unknown[];
  readonly requeued?: boolean;
}

export class LentSlots {
  /** Lender id to the id of the session on its slot. */
  private readonly lentTo = new Map<string, string>();
  /** Session id to the id of the session whose slot it runs on. */
  private readonly lentBy = new Map<string, string>();

  /**
   * A session's first start, on `lenderId`'s slot: the breach, if the lender had no slot to lend
   * (`undefined` when it had, and the slot is the session's until it or its lender ends).
   */
  lend(id: string, lenderId: string, lender: Lender | undefined): string | undefined {
    if (lender === undefined || !lender.admitted || lender.ended.length > 0 || lender.requeued === true)
      return `session ${id} started on the slot of ${lenderId}, which held none`;
    const other = this.lentTo.get(lenderId);
    if (other !== undefined)
      return `session ${id} started on the slot of ${lenderId}, which ${other} ran on already`;
    this.lentTo.set(lenderId, id);
    this.lentBy.set(id, lenderId);
    return undefined;
  }

  /** A later start of a running session: the breach, if it names a lender other than the one it runs on. */
  again(id: string, lenderId: string | undefined): string | undefined {
    const on = this.lentBy.get(id);
    if (on === lenderId) return undefined;
    return `session ${id} started again on the slot of ${lenderId ?? 'none'}, running on ${on ?? 'a slot of its own'}`;
  }

  /**
   * A running session ended. Returns whether a slot of `maxConcurrent` freed: not when it ran on a
   * lent slot (back to its lender), nor when a child ran on its slot (the child's now).
   */
  ended(id: string): boolean {
    const lenderId = this.lentBy.get(id);
    const childId = this.lentTo.get(id);
    this.lentBy.delete(id);
    this.lentTo.delete(id);
    if (lenderId !== undefined) this.lentTo.delete(lenderId);
    if (childId === undefined) return lenderId === undefined;
    // Its child goes on, on the slot it ran on: a lent one from its lender, else its own.
    if (lenderId === undefined) this.lentBy.delete(childId);
    else {
      this.lentBy.set(childId, lenderId);
      this.lentTo.set(lenderId, childId);
    }
    return false;
  }

  /** The id of the session that runs on `id`'s slot, if any. */
  childOf(id: string): string | undefined {
    return this.lentTo.get(id);
  }

  /** The id of the session whose slot `id` runs on, if any (for a breach's report). */
  on(id: string): string | undefined {
    return this.lentBy.get(id);
  }
}
