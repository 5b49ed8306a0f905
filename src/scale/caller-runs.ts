/**
 * Each caller's share of the sessions running at this instance of a cluster
 * (`limits.maxRunningPerCaller`; per instance, as `maxConcurrent` is), the same policy as in one
 * process (`src/runtime/running-share.ts`, over the same `CallerSlots`). A session leased while its
 * caller (`metadata.owner`) runs its share here goes back to the shared queue, delayed, alone
 * (`Held.caller`): its provider's other sessions go on, and another instance with room for its
 * caller may lease it once its delay ends. One of its caller's sessions ending here lets the first
 * such session this instance put back go at once (`SessionQueue.wakeCaller`). A session without an
 * owner is bounded by `maxConcurrent` alone.
 */
import { CallerSlots } from '../core/caller-slots.js';
import { ownerIn } from '../core/metadata.js';
import type { Held, QueuedSession } from '../runtime/ports.js';

/**
 * The longest a session held by its caller's share waits before it is leased again the first
 * time, in ms, as a session a model's `maxConcurrent` holds does (`PROBE_POLL_MS`): one of its
 * caller's sessions ending here lets it go sooner. The wake-up is this instance's alone: a session
 * it let go may be leased by another instance where its caller runs its share too, and held there,
 * where none of that caller's may be left to end; and the instance that put it back may be lost.
 * The delay bounds those waits. Each time the same session is held again in a row it doubles, up
 * to `CALLER_WAIT_MAX_MS`: at 1 s each, a caller at its share with 2,000 waiting on Redis had every
 * one leased and put back each second, about 34 commands each (67,000 a second).
 */
export const CALLER_WAIT_MS = 1_000;
/** The longest wait of a session held again and again (see `CALLER_WAIT_MS`), in ms. */
export const CALLER_WAIT_MAX_MS = 16_000;
/** Sessions whose holds in a row are counted (the oldest forgotten past it: it waits 1 s again). */
const REMEMBERED = 10_000;

export class CallerRuns {
  /** Each caller's places here, held by its sessions' ids; none without a share. */
  private readonly slots: CallerSlots<string> | undefined;
  /** The sessions held here, oldest first: how many times in a row. */
  private readonly held = new Map<string, number>();

  constructor(
    perCaller: number,
    maxConcurrent: number,
    private readonly wakeCaller: (caller: string) => void,
  ) {
    this.slots = perCaller < maxConcurrent ? new CallerSlots(perCaller) : undefined;
  }

  /** A session leased here takes a place of its caller's; when its caller runs its share, the `Held` that puts it back. */
  take(session: QueuedSession): Held | undefined {
    const slots = this.slots;
    const owner = slots === undefined ? undefined : ownerIn(session.caller);
    if (slots === undefined || owner === undefined) return undefined;
    const id = session.input.sessionId;
    const times = this.held.get(id) ?? 0;
    this.held.delete(id);
    if (slots.full(owner)) {
      this.held.set(id, times + 1);
      if (this.held.size > REMEMBERED) this.held.delete(this.held.keys().next().value as string);
      const retryInMs = Math.min(CALLER_WAIT_MS * 2 ** times, CALLER_WAIT_MAX_MS);
      return { retryInMs, modelOnly: true, caller: owner };
    }
    slots.takeFor(id, owner);
    return undefined;
  }

  /** How many sessions' holds in a row are counted. */
  get remembered(): number {
    return this.held.size;
  }

  /** The session's lease here ended (it ended, moved or went back): its place frees, and one of its caller's put back goes. */
  give(sessionId: string): void {
    const owner = this.slots?.release(sessionId);
    if (owner !== undefined) this.wakeCaller(owner);
  }
}
