/**
 * The runtime model's copy of lent slots (`SubmitOptions.parent`, docs/runtime.md "A session within
 * a session"), from its own submissions and the events, and what it checks of them:
 *
 * - `cancelledWhenAsked`: a session ends `cancelled` only when it was cancelled (its handle, or the
 *   shutdown's): a parent's end or cancel leaves the child on its slot running;
 * - `slotsFreed` (`checkFresh`): once every session ended, a fresh session on a provider with room
 *   starts at once: no slot of `maxConcurrent` is left borrowed or lent;
 *
 * and what `workConserved` and the queue's checks need: which running session lends its slot to no
 * one (`freeLender`: a child of it waiting starts on that slot when its own provider has room),
 * whether a new child of it waits past the queue's counts (`mayQueuePast`), and how many sessions
 * run on lent slots (`onLent`: they hold no slot of `maxConcurrent`).
 */
import type { Runtime, RuntimeEvent } from '../runtime/types.js';
import type { Violation } from './invariants.js';
import { LentSlots } from './lent-slots.js';

interface Live {
  admitted: boolean;
  /** The live session it named as its `parent` when it was submitted, if any. */
  readonly parent: string | undefined;
}

export class LendingSeen {
  readonly violations: Violation[] = [];
  private readonly live = new Map<string, Live>();
  private readonly lent = new LentSlots();
  /** Children named at their submission, before their `session.queued` (told within `submit`). */
  private pendingParent: string | undefined;
  private readonly cancelled = new Set<string>();
  private shutDown = false;
  readonly unsubscribe: () => void;

  constructor(runtime: Pick<Runtime, 'subscribe'>) {
    this.unsubscribe = runtime.subscribe((event) => this.onEvent(event));
  }

  /** Just before a submit naming `parent`: the session it queues is that parent's child, if that parent is live. */
  submitting(parent: string | undefined): void {
    this.pendingParent = parent !== undefined && this.live.has(parent) ? parent : undefined;
  }

  /** A cancel asked of `id` (its handle's, or by id). */
  cancelling(id: string): void {
    this.cancelled.add(id);
  }

  private onEvent(event: RuntimeEvent): void {
    if (event.type === 'supervisor.draining') this.shutDown = true;
    if (!('sessionId' in event)) return;
    const id = event.sessionId;
    if (event.type === 'session.queued') {
      this.live.set(id, { admitted: false, parent: this.pendingParent });
      this.pendingParent = undefined;
      return;
    }
    const live = this.live.get(id);
    if (live === undefined) return;
    if ((event.type === 'session.started' || event.type === 'session.fallback') && !live.admitted) {
      if (event.lentBy !== undefined) this.lent.lend(id, event.lentBy, this.lender(event.lentBy));
      live.admitted = true;
    } else if (event.type === 'session.ended') {
      if (live.admitted) this.lent.ended(id);
      this.live.delete(id);
      const { state } = event.result.metadata;
      if (state === 'cancelled' && !this.cancelled.has(id) && !this.shutDown)
        this.violations.push({
          invariant: 'cancelledWhenAsked',
          detail: `${id} ended cancelled at ${event.at}, though neither its handle nor a shutdown cancelled it${live.parent === undefined ? '' : ` (a child of ${live.parent})`}`,
        });
    }
  }

  private lender(id: string): { admitted: boolean; ended: readonly unknown[] } | undefined {
    const live = this.live.get(id);
    return live === undefined ? undefined : { admitted: live.admitted, ended: [] };
  }

  /** The parent of queued `id` when that parent runs and lends its slot to no one: its slot is there for a child. */
  freeLender(id: string): string | undefined {
    const parent = this.live.get(id)?.parent;
    if (parent === undefined || this.live.get(id)?.admitted !== false) return undefined;
    const lender = this.live.get(parent);
    return lender?.admitted === true && this.lent.childOf(parent) === undefined ? parent : undefined;
  }

  /** Whether a new child of `parent` waits past the queue's counts: it runs, lends to no one and has no child waiting. */
  mayQueuePast(parent: string | undefined): boolean {
    if (parent === undefined || this.live.get(parent)?.admitted !== true) return false;
    if (this.lent.childOf(parent) !== undefined) return false;
    for (const live of this.live.values()) if (live.parent === parent && !live.admitted) return false;
    return true;
  }

  /** Sessions running on a slot lent to them: in `status().running`, on no slot of `maxConcurrent`. */
  get onLent(): number {
    let count = 0;
    for (const id of this.live.keys()) if (this.lent.on(id) !== undefined) count++;
    return count;
  }

  /** Whether any session is live (queued or running). */
  get anyLive(): boolean {
    return this.live.size > 0;
  }

  /** `slotsFreed`: `id`, submitted once every session ended, on a provider with room, runs. */
  checkFresh(runtime: Pick<Runtime, 'session'>, id: string, at: number): void {
    const state = runtime.session(id)?.state;
    if (state === 'running') return;
    this.violations.push({
      invariant: 'slotsFreed',
      detail: `${id}, submitted at ${at} once every session had ended, is ${state ?? 'gone'}: a slot was left taken`,
    });
  }
}
