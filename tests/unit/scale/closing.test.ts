/**
 * `closeWithin`: the close after a cluster instance's drain deadline, in order, within one bound on
 * the injected clock; a step that does not end by then is given up, the connections dropped, and
 * `onError` told which step. Fake ports, a simulated clock.
 */
import { describe, expect, it } from 'vitest';
import { SimulatedClock } from 'xstate';
import type { ClusterPorts } from '../../../src/runtime/ports.js';
import { CLOSE_TIMEOUT_MS, closeWithin } from '../../../src/scale/closing.js';

const never = () => new Promise<void>(() => {});
const flush = async () => {
  for (let i = 0; i < 5; i++) await new Promise<void>((resolve) => setImmediate(resolve));
};

interface Steps {
  handingBack?: Promise<unknown>;
  leasing?: Promise<unknown>;
  queueClose?: () => Promise<void>;
  portsClose?: () => Promise<void>;
  closeTimeoutMs?: number;
  withDisconnect?: boolean;
}

function setup(steps: Steps = {}) {
  const clock = new SimulatedClock();
  clock.set(1_000_000);
  const log: string[] = [];
  const errors: unknown[] = [];
  const drains: number[] = [];
  const ports = {
    connection: { name: 'Redis', status: () => 'ready', onReady: () => {} },
    queue: {
      close: () => {
        log.push('queue.close');
        return (steps.queueClose ?? (() => Promise.resolve()))();
      },
    },
    close: () => {
      log.push('ports.close');
      return (steps.portsClose ?? (() => Promise.resolve()))();
    },
    ...(steps.withDisconnect === false ? {} : { disconnect: () => log.push('disconnect') }),
    ...(steps.closeTimeoutMs === undefined ? {} : { closeTimeoutMs: steps.closeTimeoutMs }),
  } as unknown as ClusterPorts;
  let done = false;
  const closing = closeWithin({
    clock,
    onError: (error) => errors.push(error),
    ports,
    inflight: {
      drain: async (_clock, boundMs) => {
        log.push('drain');
        drains.push(boundMs);
      },
    },
    handingBack: steps.handingBack ?? Promise.resolve(),
    leasing: steps.leasing ?? Promise.resolve(),
    stopLocal: async () => {
      log.push('stopLocal');
    },
    letGo: () => log.push('letGo'),
  }).then(() => {
    done = true;
  });
  return { clock, log, errors, drains, closing, isDone: () => done };
}

const messages = (errors: unknown[]) => errors.map((e) => (e as Error).message);

describe('closeWithin', () => {
  it('closes in order and drops nothing when every step ends', async () => {
    const { log, errors, drains, closing } = setup();
    await closing;
    // The ends still being written give up once the connections are closed.
    expect(log).toEqual(['stopLocal', 'drain', 'queue.close', 'ports.close', 'letGo']);
    expect(errors).toEqual([]);
    // The calls in flight get at most 5 s of the bound.
    expect(drains).toEqual([5_000]);
  });

  it('gives up on a hand-back that never ends at the bound: drops the connections, still stops the local runtime, reports the step', async () => {
    const { clock, log, errors, closing, isDone } = setup({ handingBack: never(), closeTimeoutMs: 2_000 });
    await flush();
    clock.increment(1_999);
    await flush();
    expect(isDone()).toBe(false);
    expect(log).toEqual([]);
    clock.increment(1);
    await closing;
    // Dropped before the local runtime stops, so calls waiting on the connection fail at once (an
    // end still being written gives up first, not retried on them); the queue and the connections
    // are not closed gracefully (they are gone), then dropped again.
    expect(log).toEqual(['letGo', 'disconnect', 'stopLocal', 'drain', 'letGo', 'disconnect']);
    expect(messages(errors)).toEqual([
      "Expected this instance's shutdown to close within 2000 ms, got no end to the hand-back of its running sessions; its Redis connections were dropped. A session it could not hand back is taken over by another instance once its lease lapses. If Redis is slow to answer, raise closeTimeoutMs (redisBackend's option; troupe serve keeps 10 s)",
    ]);
  });

  it('one bound for the whole close: the drain gets what is left, and a connection that never closes is dropped at the bound', async () => {
    let releaseLeasing = () => {};
    const leasing = new Promise<void>((resolve) => {
      releaseLeasing = resolve;
    });
    const { clock, log, errors, drains, closing, isDone } = setup({ leasing, portsClose: never });
    await flush();
    clock.increment(CLOSE_TIMEOUT_MS - 3_000);
    releaseLeasing();
    await flush();
    expect(drains).toEqual([3_000]);
    expect(log).toEqual(['stopLocal', 'drain', 'queue.close', 'ports.close']);
    clock.increment(2_999);
    await flush();
    expect(isDone()).toBe(false);
    clock.increment(1);
    await closing;
    expect(log.at(-1)).toBe('disconnect');
    expect(messages(errors)).toEqual([
      expect.stringMatching(/within 10000 ms, got no end to its Redis connections to close;/),
    ]);
  });

  it('a step that fails has ended: its failure goes to onError and the close goes on', async () => {
    const failure = new Error('Expected Redis to answer QUIT, got a reset');
    const { log, errors, closing } = setup({ queueClose: () => Promise.reject(failure) });
    await closing;
    expect(log).toEqual(['stopLocal', 'drain', 'queue.close', 'ports.close', 'letGo']);
    expect(errors).toEqual([failure]);
  });

  it('ports that cannot be dropped (in memory) still resolve at the bound and say so', async () => {
    const { clock, log, errors, closing } = setup({
      leasing: never(),
      withDisconnect: false,
      closeTimeoutMs: 10,
    });
    await flush();
    clock.increment(10);
    await closing;
    expect(log).toEqual(['letGo', 'stopLocal', 'drain', 'letGo']);
    expect(messages(errors)).toEqual([
      expect.stringMatching(/got no end to its queue's Workers to stop; it stopped waiting\. /),
    ]);
  });
});
