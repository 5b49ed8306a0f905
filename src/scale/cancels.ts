/**
 * Cancels across the cluster, from any instance: the session is stopped if it runs here, marked
 * cancelled in the store, withdrawn if it still waits in the queue, and the cancel is published for
 * the instance running it.
 *
 * While Redis is away a cancel is tried again every 500 ms (about 30 s, until the close lets go),
 * and an instance whose subscription comes back after a cut reads the marks of the sessions it
 * runs: pub/sub keeps nothing for a subscriber that was cut off, so a cancel marked meanwhile is
 * found there, and one marked after comes on the bus. Until 2026-12-05 a cancel was tried once:
 * made while Redis was down, or heard by nobody because the running instance's subscription was
 * down, its session ran on, its provider call with it, to its run deadline (an audit: a call
 * cancelled by its MCP client during a 2 s outage of Redis went on 39 s, to its 40 s timeout;
 * `tests/scale/cancel-while-away.test.ts`).
 */
import { type Clock, retriedWhileAway } from '../core/clock.js';
import { reasonText } from '../runtime/backend.js';
import type { EventBus, SessionStore } from '../runtime/ports.js';
import type { LeaseRunner } from './lease-runner.js';
import type { Withdrawals } from './withdrawals.js';

export interface CancelsDeps {
  readonly store: Pick<SessionStore, 'liveSession' | 'markCancelled' | 'leaseState'>;
  readonly bus: Pick<EventBus, 'publishCancel'>;
  readonly runner: Pick<LeaseRunner, 'cancel' | 'running'>;
  readonly withdrawals: Pick<Withdrawals, 'cancel'>;
  /** The provider of a session submitted here, when the store's mirror does not know it. */
  readonly providerOf: (id: string) => string | undefined;
  readonly clock: Clock;
  readonly onError: (error: unknown) => void;
  /** Aborted when the close lets go of Redis: cancels stop being tried again. */
  readonly givingUp: AbortSignal;
}

export class Cancels {
  constructor(private readonly d: CancelsDeps) {}

  /** One try; rejects if Redis did not take it. */
  readonly cancel = async (id: string, given: string): Promise<void> => {
    const { store, runner, bus } = this.d;
    const reason = reasonText(given); // as the local runtime keeps it: text, 500 characters at most
    const provider = store.liveSession(id)?.provider ?? this.d.providerOf(id); // a hop's target
    const here = runner.cancel(id, reason); // stopped at once
    // The mark first, here too: a lease meanwhile, or a takeover of a run here whose end went unwritten, ends it.
    await store.markCancelled(id, reason);
    if (here) return;
    // Withdrawn or not, it is published: a job whose lease lapsed while it runs can be withdrawn too,
    // and one a dead instance's lease still holds is tried again each sweep (`withdrawals.ts`).
    if (provider !== undefined) await this.d.withdrawals.cancel(provider, id, reason);
    await bus.publishCancel({ sessionId: id, reason });
  };

  /** Tried again every 500 ms while Redis is away, until the close lets go; rejects with the last refusal. */
  readonly retried = (id: string, reason: string): Promise<void> =>
    retriedWhileAway(this.d.clock, () => this.cancel(id, reason), 61, 500, this.d.givingUp);

  /** `retried`, for a caller that does not wait: a cancel it could not deliver goes to `onError`. */
  away(id: string, reason: string): void {
    this.retried(id, reason).catch(this.d.onError);
  }

  /** The subscription is back after a cut: the sessions running here whose cancel was marked meanwhile stop. */
  missed(): void {
    const { store, runner, clock, onError } = this.d;
    for (const id of runner.running()) {
      // The store's connection may come back after the subscription: every 250 ms, 10 s at most.
      retriedWhileAway(clock, () => store.leaseState(id), 41, 250)
        .then((state) => {
          if (state.cancelReason !== null) runner.cancel(id, state.cancelReason);
        })
        .catch(onError);
    }
  }
}
