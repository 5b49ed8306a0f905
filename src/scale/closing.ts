/**
 * The end of a cluster instance's shutdown, after its drain deadline, within one bound
 * (`closeTimeoutMs`): its running sessions handed back, its leasing stopped, the local runtime
 * stopped, the calls in flight ended, the queue and the connections closed. Each step waits at most
 * until the bound; a step that has not ended by then (a Redis that stopped answering, a Worker still
 * waiting for a job) is given up: the connections are dropped at once (`ClusterPorts.disconnect`),
 * and `onError` hears which step it was. Nothing promised is lost: a session whose hand-back did
 * not reach the queue keeps its job, whose lease lapses, and another instance takes it over.
 */
import { type Clock, settlesWithin } from '../core/clock.js';
import type { ClusterPorts } from '../runtime/ports.js';
import type { Inflight } from './inflight.js';

/** How long a shutdown may take to close after its drain deadline, in ms, unless the backend says. */
export const CLOSE_TIMEOUT_MS = 10_000;

/** How long of that the calls in flight may take to end, in ms. */
const DRAIN_BOUND_MS = 5_000;

export interface Closing {
  readonly clock: Clock;
  readonly onError: (error: unknown) => void;
  /** The queue, the connections, their name ("Redis"), `disconnect` and `closeTimeoutMs`. */
  readonly ports: ClusterPorts;
  readonly inflight: Pick<Inflight, 'drain'>;
  /** The running sessions' hand-back (`LeaseRunner.handBackAll`), already under way. */
  readonly handingBack: Promise<unknown>;
  /** The queue's `stopLeasing()`, under way since the drain began. */
  readonly leasing: Promise<unknown>;
  /** Stops the timers and the local runtime (it cancels what runs there). */
  readonly stopLocal: () => Promise<unknown>;
  /** Once the connections are given up or closed: an end still being written gives up (`LeaseRunner.letGo`). */
  readonly letGo: () => void;
}

export async function closeWithin(c: Closing): Promise<void> {
  const { clock, ports } = c;
  const boundMs = ports.closeTimeoutMs ?? CLOSE_TIMEOUT_MS;
  const { name } = ports.connection;
  const deadlineAt = clock.now() + boundMs;
  /** The step that did not end within the bound. */
  let stuck: string | undefined;
  const step = async (what: string, work: () => Promise<unknown>) => {
    if (stuck !== undefined) return;
    // A step that fails has ended: its failure goes to onError, and the close goes on.
    const ended = work().catch(c.onError);
    if (!(await settlesWithin(clock, ended, Math.max(0, deadlineAt - clock.now())))) stuck = what;
  };
  await step('the hand-back of its running sessions', () => c.handingBack);
  await step("its queue's Workers to stop", () => c.leasing);
  // Given up: the calls waiting on the connection fail now, rather than after the local runtime, and
  // an end still being written is not retried (its session is taken over where its lock lapses).
  if (stuck !== undefined) {
    c.letGo();
    ports.disconnect?.();
  }
  await c.stopLocal();
  // What the shutdown's cancellations set off (their limiter settles, their events) and any call
  // still in flight end before the connections close: after this nothing reaches them.
  await c.inflight.drain(clock, Math.max(0, Math.min(DRAIN_BOUND_MS, deadlineAt - clock.now())));
  await step('the queue to close', () => ports.queue.close());
  await step(`its ${name} connections to close`, () => ports.close());
  c.letGo();
  if (stuck === undefined) return;
  ports.disconnect?.();
  const given =
    ports.disconnect === undefined ? 'it stopped waiting' : `its ${name} connections were dropped`;
  c.onError(
    new Error(
      `Expected this instance's shutdown to close within ${boundMs} ms, got no end to ${stuck}; ` +
        `${given}. A session it could not hand back is taken over by another instance once its ` +
        `lease lapses. If ${name} is slow to answer, raise closeTimeoutMs (redisBackend's option; troupe serve keeps 10 s)`,
    ),
  );
}
