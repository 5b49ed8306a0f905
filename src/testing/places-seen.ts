/**
 * `runningShare` as `RuntimeObserver` judges it, when its limits name `maxRunningPerCaller`: no
 * caller (`metadata.owner`) runs more sessions than its share, each counted from its first start (or
 * its move past a cooling provider, which admits it) to its end, with the places of lent slots
 * (docs/runtime.md, "A session within a session"):
 *
 * - a session on its lender's slot (`lentBy` on its first start, or on its move past a cooling
 *   provider) of its lender's caller runs in its lender's place, and takes none; of another
 *   caller, it takes a place of its own;
 * - a lender that ends while a child runs on its slot leaves the place it held, if it held one, to
 *   that child (the child of another caller holds its own already).
 *
 * The model-based tests judge the share with one of their own too (`deadline-invariants.ts`), whose
 * `atShare` tells `workConserved` and the order of admissions when a caller's share holds it.
 */
import type { RuntimeEvent } from '../runtime/types.js';
import type { Lender, LentSlots } from './lent-slots.js';

export class PlacesSeen {
  /** Each session's caller, from its queueing on. */
  private readonly owners = new Map<string, string | undefined>();
  /** Sessions that hold a place of their caller's. */
  private readonly holding = new Set<string>();
  private readonly running = new Map<string, number>();

  constructor(
    private readonly perCaller: number,
    private readonly ownerOf: (sessionId: string) => string | undefined,
    /** The observer's links of lent slots, read before it changes them for the same event. */
    private readonly lent: LentSlots,
    private readonly fail: (detail: string) => void,
  ) {}

  /** `seen`: what the observer saw of the event's session before it (`admitted` is not yet set by its first start). */
  onEvent(event: RuntimeEvent, seen: Lender | undefined): void {
    if (event.type === 'session.queued') this.owners.set(event.sessionId, this.ownerOf(event.sessionId));
    else if (event.type === 'session.started' || event.type === 'session.fallback') {
      // Counted from its admission on: its first start, or its move past a cooling provider.
      if (seen === undefined || seen.admitted) return;
      const owner = this.owners.get(event.sessionId);
      // In its lender's place when of its lender's caller (`lentBy`: on its first start, or on its move).
      const lender = event.lentBy;
      if (lender !== undefined && this.owners.get(lender) === owner) return;
      this.take(event.sessionId, event.at);
    } else if (event.type === 'session.ended') {
      const owner = this.owners.get(event.sessionId);
      this.owners.delete(event.sessionId);
      if (!this.holding.delete(event.sessionId) || owner === undefined) return;
      this.running.set(owner, (this.running.get(owner) ?? 1) - 1);
      const child = this.lent.childOf(event.sessionId);
      if (child !== undefined && !this.holding.has(child)) this.take(child, event.at);
    }
  }

  /** How many places `owner` holds now. */
  runs(owner: string | undefined): number {
    return owner === undefined ? 0 : (this.running.get(owner) ?? 0);
  }

  /** `id` takes a place of its caller's, if it has one: within the share. */
  private take(id: string, at: number): void {
    const owner = this.owners.get(id);
    if (owner === undefined) return;
    this.holding.add(id);
    const running = (this.running.get(owner) ?? 0) + 1;
    this.running.set(owner, running);
    if (running > this.perCaller)
      this.fail(
        `${running} sessions of ${owner} running at once (${id} at ${at}), maxRunningPerCaller ${this.perCaller}`,
      );
  }
}
