/**
 * `Limiter.giveBackWhileAway` (src/runtime/limits.ts): a start no call used goes back whole, its
 * request and its slot; when the shared state refuses that, the start is settled as a call's end
 * instead (its slot and probe go, its request stays), tried again while the state is away, unless
 * the caller's signal says it is letting go. Shared by `SharedAsks` and the cluster's lease runner.
 */
import { describe, expect, it } from 'vitest';
import type { Start } from '../../../src/runtime/limiter.js';
import { Limiter } from '../../../src/runtime/limits.js';
import { MemorySharedState } from '../../../src/runtime/memory-state.js';
import type { SharedState } from '../../../src/runtime/ports.js';
import { ManualClock } from '../../support/manual-clock.js';

const T0 = 10 * 3_600_000 + 500;
const START: Start = { sessionId: 'a', model: 'm', now: T0, tokens: 10, lapsesAt: T0 + 60_000 };

/** A limiter over a port whose next `refusals` updates fail (`Infinity`: every one). */
function setup() {
  const clock = new ManualClock();
  clock.time = T0;
  const memory = new MemorySharedState(clock);
  const port = { refusals: 0 };
  const state: SharedState = {
    update: async (key, init, change, ttlMs) => {
      if (port.refusals > 0) {
        port.refusals--;
        throw new Error('Connection is closed.');
      }
      return memory.updateNow(key, init, change, ttlMs);
    },
    read: async (key) => memory.readNow(key),
  };
  const limiter = new Limiter(new Map([['p', { requestsPerMinute: 2, maxConcurrent: 1 }]]), state);
  const left = async () => {
    const { remaining } = (await limiter.budgets(['p'], T0)).p ?? {};
    return { requests: remaining?.requestsPerMinute, slots: remaining?.maxConcurrent };
  };
  return { clock, port, limiter, left };
}

describe('a charge given back while the shared state may be away', () => {
  it('gives back the request and the slot when the state takes it', async () => {
    const { clock, limiter, left } = setup();
    expect(await limiter.tryStart('p', START)).toEqual({ ok: true, probe: false });
    expect(await left()).toEqual({ requests: 1, slots: 0 });
    await limiter.giveBackWhileAway(clock, 'p', START, false);
    expect(await left()).toEqual({ requests: 2, slots: 1 });
  });

  it('settles it as an end when the state refuses the give-back: the slot goes, the request stays', async () => {
    const { clock, port, limiter, left } = setup();
    await limiter.tryStart('p', START);
    port.refusals = 1;
    await limiter.giveBackWhileAway(clock, 'p', START, false);
    expect(await left()).toEqual({ requests: 1, slots: 1 });
  });

  it('tries no more once its signal aborted, and says so', async () => {
    const { clock, port, limiter, left } = setup();
    await limiter.tryStart('p', START);
    port.refusals = Number.POSITIVE_INFINITY;
    const letGo = new AbortController();
    letGo.abort();
    await expect(limiter.giveBackWhileAway(clock, 'p', START, false, letGo.signal)).rejects.toThrow(
      /Expected the shared state to take session a's end at p/,
    );
    port.refusals = 0;
    expect(await left()).toEqual({ requests: 1, slots: 0 });
  });
});
