/**
 * A leased job runs only once its submitter confirmed it: its live summary landed (`put`, read as
 * `LeaseState.confirmed` in the lease's one read). At `submit` the job goes out on the queue's own
 * connection and the summary a tick later on the store's pipelined one, so a lease may come first:
 * it looks again for a moment (`SUMMARY_WAIT_MS`). A job still without one was taken in part (its
 * summary refused, or its instance cut off as it submitted), and its caller was told
 * `BACKEND_UNAVAILABLE`: it ends so here, with no provider call, the end every instance then shows
 * (until 2026-12-06 it ran: a call for nobody, and a second end). A summary this late that lands
 * after that end writes nothing (`put` stops at a result): its caller hears this end.
 */
import { type Clock, pause } from '../core/clock.js';
import type { LeaseState, SessionStore } from '../runtime/ports.js';
import type { SessionResult } from '../runtime/types.js';
import { type JobData, unavailable } from './job-data.js';

/** How long a lease waits for its job's summary, in ms: the two writes go out a tick apart. */
export const SUMMARY_WAIT_MS = 2_000;
const SUMMARY_POLL_MS = 50;

/** The lease's state once its summary landed, or once `SUMMARY_WAIT_MS` passed (or it ended, or `gone`). */
export async function confirmedState(
  s: { readonly store: Pick<SessionStore, 'leaseState'>; readonly clock: Clock },
  id: string,
  gone: () => boolean,
  signal: AbortSignal,
): Promise<LeaseState> {
  const until = s.clock.now() + SUMMARY_WAIT_MS;
  for (;;) {
    const state = await s.store.leaseState(id);
    if (state.confirmed || state.ended || gone() || signal.aborted || s.clock.now() >= until) return state;
    await pause(s.clock, SUMMARY_POLL_MS, signal);
  }
}

/** The end of a job whose summary never landed: its caller's (`BACKEND_UNAVAILABLE`, no attempt). */
export function unconfirmedEnd(data: JobData, now: number): SessionResult {
  const message = `Expected the cluster to take the session, got its job without its summary within ${SUMMARY_WAIT_MS} ms (its submitter's enqueue was taken in part; its caller was told BACKEND_UNAVAILABLE)`;
  return unavailable(data, message, now);
}
