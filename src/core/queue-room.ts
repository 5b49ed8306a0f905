/**
 * The request bytes held by sessions waiting in a queue (submitted, not started), against a bound
 * (`limits.maxQueuedBytes`). One piece for every runtime: the in-memory scheduler holds a queued
 * session's bytes from `enqueue` until it leaves its queue, whichever way; the cluster runtime holds
 * them for the sessions submitted at this instance that have not started. No I/O, no clock.
 *
 * Each waiting item carries the bytes it holds (`queuedBytes`): `release` gives back what the item
 * holds and sets it to 0, so a second release of the same item gives back nothing, and the total
 * stays the sum over the items still held.
 */

/** Something that may wait in a queue holding request bytes. */
export interface HoldsBytes {
  /** The bytes it holds now: its size while it waits, 0 once released (or never held). */
  queuedBytes: number;
}

/** Whether `bytes` more fit: `fits`, `full` now (it may fit later), or `never` (more than the bound). */
export type Room = 'fits' | 'full' | 'never';

export class QueueBytes {
  private total = 0;

  /** `limit`: the most bytes the waiting items may hold together. */
  constructor(readonly limit: number) {}

  /** The bytes the waiting items hold now. */
  get held(): number {
    return this.total;
  }

  /** Whether a request of `bytes` fits now; one that exactly fills the bound fits. */
  room(bytes: number): Room {
    if (bytes > this.limit) return 'never';
    return this.total + bytes > this.limit ? 'full' : 'fits';
  }

  /** `item` waits holding `bytes` (checked with `room` first: holding never refuses). */
  hold(item: HoldsBytes, bytes: number): void {
    item.queuedBytes = bytes;
    this.total += bytes;
  }

  /** `item` left its queue: what it holds is given back, once. */
  release(item: HoldsBytes): void {
    this.total -= item.queuedBytes;
    item.queuedBytes = 0;
  }
}
