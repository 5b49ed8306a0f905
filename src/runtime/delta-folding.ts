/**
 * A streaming session's deltas without a machine step each. In `streaming`, a `provider.chunk` only
 * records the characters so far and moves the idle deadline later (`recordChunk`), and tells
 * observers (`notifyDelta`): no guard, no state change. The driver tells observers at once and
 * hands the chunk to this wrapper, which keeps the latest one and applies it to the machine, its
 * delta left out (`delta: undefined`: observers already have it), before anything else reaches or
 * reads the actor: the next event, a snapshot read (the deadline tick, limits, inspection, a
 * takeover's run record). Every reader sees the context a step per chunk would have left, since
 * `recordChunk` keeps only the last chunk's values; the machine steps once per read instead of
 * once per chunk.
 *
 * Used for streamed sessions on the compiled engine without inspection (an inspector sees every
 * event, so it gets every step).
 */
import type { SessionMachineEvent } from '../../machines/session.js';
import type { SessionActor } from './session-engine.js';

export type ChunkEvent = Extract<SessionMachineEvent, { type: 'provider.chunk' }>;

export class DeltaFoldingActor implements SessionActor {
  /** Whether a chunk waits to be applied, and its time and characters (no event kept alive). */
  private pending = false;
  private pendingAt = 0;
  private pendingChars = 0;
  private sending = false;

  constructor(readonly inner: SessionActor) {}

  /**
   * Takes a chunk of a session in `streaming` whose observers were told: `false` while the actor is
   * handling another event (the chunk then goes through `send`, after it, as any event would).
   */
  defer(event: ChunkEvent): boolean {
    if (this.sending) return false;
    this.pending = true;
    this.pendingAt = event.now;
    this.pendingChars = event.chars;
    return true;
  }

  send(event: SessionMachineEvent): void {
    this.fold();
    this.sending = true;
    try {
      this.inner.send(event);
    } finally {
      this.sending = false;
    }
  }

  getSnapshot(): ReturnType<SessionActor['getSnapshot']> {
    this.fold();
    return this.inner.getSnapshot();
  }

  private fold(): void {
    if (!this.pending) return;
    this.pending = false;
    this.sending = true;
    try {
      this.inner.send({
        type: 'provider.chunk',
        now: this.pendingAt,
        chars: this.pendingChars,
        delta: undefined,
      });
    } finally {
      this.sending = false;
    }
  }
}
