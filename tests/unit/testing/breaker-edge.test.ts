/**
 * `ToBreakerEdge`, the runtime model's command that moves the simulated clock to an open breaker's
 * edge: without it the random runs met a breaker that stays open too long in 2 of 5 seeds of 200
 * runs, and a refusal counted as the probe's failure in 1 of 5; with it 5 of 5 and 3 of 5.
 */
import { describe, expect, it } from 'vitest';
import { initialBreaker, stepBreaker } from '../../../machines/breaker.js';
import { earliestOpenUntil } from '../../../src/testing/breaker-invariants.js';
import { type Command, ToBreakerEdge, type World } from '../../../src/testing/model-commands.js';

function world(now: number, edge: number | undefined): World & { readonly moved: number[] } {
  const clock = { at: now, moved: [] as number[] };
  const fake = {
    clock: {
      now: () => clock.at,
      increment: (ms: number) => {
        clock.moved.push(ms);
        clock.at += ms;
      },
    },
    breakerEdge: () => edge,
    moved: clock.moved,
  };
  return fake as unknown as World & { readonly moved: number[] };
}

const run = (command: Command, w: World) => command.run({}, w);

describe('ToBreakerEdge', () => {
  it('moves the clock to the earliest open breaker’s edge, offset by its milliseconds', async () => {
    for (const [offset, moved] of [
      [-2, 298],
      [0, 300],
      [2, 302],
    ] as const) {
      const w = world(200, 500);
      await run(new ToBreakerEdge(offset), w);
      expect(w.moved).toEqual([moved]);
      expect(w.clock.now()).toBe(500 + offset);
    }
  });

  it('leaves the clock where it is with no breaker open, or an edge already past', async () => {
    for (const [now, edge] of [
      [200, undefined],
      [500, 500],
      [800, 500],
    ] as const) {
      const w = world(now, edge);
      await run(new ToBreakerEdge(0), w);
      expect(w.moved).toEqual([]);
      expect(w.clock.now()).toBe(now);
    }
  });

  it('names its offset', () => {
    expect(String(new ToBreakerEdge(-1))).toBe('toBreakerEdge(-1ms)');
  });
});

describe('earliestOpenUntil', () => {
  const settings = { failures: 1, windowMs: 10_000, openMs: 500, probeTimeoutMs: 6000 };
  const openedAt = (now: number) =>
    stepBreaker(initialBreaker(settings), {
      type: 'breaker.failure',
      now,
      code: 'PROVIDER_UNAVAILABLE',
      probe: null,
    });

  it('is the earliest end of an open breaker’s pause, whichever order the breakers come in', () => {
    expect(openedAt(100).value).toBe('open');
    expect(earliestOpenUntil([openedAt(300), openedAt(100), openedAt(200)])).toBe(600);
    expect(earliestOpenUntil([openedAt(100), openedAt(300)])).toBe(600);
  });

  it('is none when no breaker is open (closed, or half-open with its probe out)', () => {
    const halfOpen = stepBreaker(openedAt(0), { type: 'breaker.request', now: 600 });
    expect(halfOpen.value).toBe('halfOpen');
    expect(earliestOpenUntil([initialBreaker(settings), halfOpen])).toBeUndefined();
    expect(earliestOpenUntil([halfOpen, openedAt(1000)])).toBe(1500);
  });
});
