/**
 * The rate window's rule, on its own: whatever the times of the attempts, every 60 s window holds
 * at most `requestsPerMinute` starts and `tokensPerMinute` tokens, and every 24 h at most
 * `tokensPerDay`; a refusal says when room opens, and room is there then.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  charge,
  emptyWindow,
  prune,
  reconcile,
  releaseSlot,
  remaining,
  room,
  type WindowState,
} from '../../../src/core/rate-window.js';

function admitted(
  times: readonly number[],
  limits: Parameters<typeof room>[1],
  tokens: (i: number) => number,
) {
  let state: WindowState = emptyWindow();
  const starts: { at: number; tokens: number }[] = [];
  times.forEach((at, i) => {
    if (room(state, limits, at, tokens(i)).ok) {
      state = charge(state, at, tokens(i));
      starts.push({ at, tokens: tokens(i) });
    }
  });
  return starts;
}

function worstWindow(starts: readonly { at: number; tokens: number }[], spanMs: number) {
  let count = 0;
  let tokens = 0;
  for (const first of starts) {
    const inside = starts.filter((s) => s.at >= first.at && s.at < first.at + spanMs);
    count = Math.max(count, inside.length);
    tokens = Math.max(
      tokens,
      inside.reduce((sum, s) => sum + s.tokens, 0),
    );
  }
  return { count, tokens };
}

const sortedTimes = (max: number) =>
  fc.array(fc.integer({ min: 0, max }), { maxLength: 120 }).map((t) => [...t].sort((a, b) => a - b));

describe('rate window', () => {
  it('never lets more than requestsPerMinute start in any 60 s, nor tokensPerMinute be charged', () => {
    fc.assert(
      fc.property(
        sortedTimes(300_000),
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 100, max: 1000 }),
        fc.array(fc.integer({ min: 1, max: 100 }), { minLength: 120, maxLength: 120 }),
        (times, rpm, tpm, sizes) => {
          const starts = admitted(times, { requestsPerMinute: rpm, tokensPerMinute: tpm }, (i) => sizes[i]!);
          const worst = worstWindow(starts, 60_000);
          expect(worst.count).toBeLessThanOrEqual(rpm);
          expect(worst.tokens).toBeLessThanOrEqual(tpm);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('holds at the edge where 60 one-second buckets would let one too many through', () => {
    // Starts at 0.9 s and 60.0 s lie 59.1 s apart; the second's bucket (60) and the first's (0)
    // are 60 buckets apart, which a 60-bucket window would no longer count.
    const starts = admitted([900, 60_000], { requestsPerMinute: 1 }, () => 1);
    expect(starts.map((s) => s.at)).toEqual([900]);
  });

  it('never charges more than tokensPerDay in any 24 hours', () => {
    fc.assert(
      fc.property(sortedTimes(3 * 86_400_000), fc.integer({ min: 100, max: 2000 }), (times, tpd) => {
        const starts = admitted(times, { tokensPerDay: tpd }, () => 100);
        expect(worstWindow(starts, 86_400_000).tokens).toBeLessThanOrEqual(tpd);
      }),
      { numRuns: 200 },
    );
  });

  it('says when room opens, and there is room then', () => {
    let state = charge(emptyWindow(), 1_500, 1);
    state = charge(state, 10_200, 1);
    const refused = room(state, { requestsPerMinute: 2 }, 20_000, 1);
    expect(refused).toEqual({ ok: false, limit: 'requestsPerMinute', at: 62_000 });
    expect(room(state, { requestsPerMinute: 2 }, 61_999, 1).ok).toBe(false);
    expect(room(state, { requestsPerMinute: 2 }, 62_000, 1).ok).toBe(true);
  });

  it('reconciles an estimate with the usage reported, and frees what was over-charged', () => {
    let state = charge(emptyWindow(), 5_000, 900);
    expect(room(state, { tokensPerMinute: 1000 }, 6_000, 200).ok).toBe(false);
    state = reconcile(state, 5_000, -800, 7_000);
    expect(remaining(state, { tokensPerMinute: 1000 }, 7_000).tokensPerMinute).toBe(900);
    expect(room(state, { tokensPerMinute: 1000 }, 7_000, 200).ok).toBe(true);
  });

  it('frees a concurrency slot when it lapses', () => {
    const state = charge(emptyWindow(), 0, 1, { id: 'a', lapsesAt: 5_000 });
    expect(room(state, { maxConcurrent: 1 }, 4_999, 1)).toEqual({
      ok: false,
      limit: 'maxConcurrent',
      at: 5_000,
    });
    expect(room(state, { maxConcurrent: 1 }, 5_000, 1).ok).toBe(true);
  });
});

describe('rate window: buckets, edges and refusals', () => {
  const H = 3_600_000;

  it('an empty window holds nothing', () => {
    expect(emptyWindow()).toEqual({ s: [], h: [], r: [] });
  });

  it('starts within one second share a bucket, and tokens within one hour share a day bucket', () => {
    const state = charge(charge(emptyWindow(), 1_100, 10), 1_900, 20);
    expect(state.s).toEqual([[1, 2, 30]]);
    expect(state.h).toEqual([[0, 30]]);
    const next = charge(state, 2_000, 5);
    expect(next.s).toEqual([
      [1, 2, 30],
      [2, 1, 5],
    ]);
    expect(charge(next, H, 1).h).toEqual([
      [0, 35],
      [1, 1],
    ]);
  });

  it('a day bucket counts for 24 hours and leaves at the 25th, even when no minute bucket changes', () => {
    // Charged at hour 0; by 61 s later the minute buckets are gone, the day bucket stays.
    const dayOnly = reconcile(charge(emptyWindow(), 0, 100), 0, 0, 61_000);
    expect(dayOnly.s).toEqual([]);
    expect(remaining(dayOnly, { tokensPerDay: 1000 }, 24 * H).tokensPerDay).toBe(900);
    expect(remaining(dayOnly, { tokensPerDay: 1000 }, 25 * H).tokensPerDay).toBe(1000);
  });

  it('a token refusal says when enough buckets have left: per minute, per day', () => {
    const minute = charge(charge(emptyWindow(), 1_000, 60), 2_000, 60);
    // 100 tokens need both buckets gone: the second leaves at (2 + 61) s.
    expect(room(minute, { tokensPerMinute: 150 }, 3_000, 100)).toEqual({
      ok: false,
      limit: 'tokensPerMinute',
      at: 63_000,
    });
    expect(room(minute, { tokensPerMinute: 150 }, 3_000, 80)).toEqual({
      ok: false,
      limit: 'tokensPerMinute',
      at: 62_000,
    });
    const day = charge(emptyWindow(), 2 * H + 5, 900);
    expect(room(day, { tokensPerDay: 1000 }, 3 * H, 200)).toEqual({
      ok: false,
      limit: 'tokensPerDay',
      at: 27 * H,
    });
  });

  it('a full concurrency limit opens when the earliest slot lapses', () => {
    const state = charge(charge(emptyWindow(), 0, 1, { id: 'a', lapsesAt: 5_000 }), 0, 1, {
      id: 'b',
      lapsesAt: 3_000,
    });
    expect(room(state, { maxConcurrent: 2 }, 100, 1)).toEqual({
      ok: false,
      limit: 'maxConcurrent',
      at: 3_000,
    });
  });

  it("reconciling changes only the start's own buckets, per minute and per day", () => {
    let state = charge(emptyWindow(), 1_000, 100);
    state = charge(state, H + 2_000, 100);
    const fixed = reconcile(state, H + 2_000, 50, H + 3_000);
    expect(fixed.s).toEqual([[3602, 1, 150]]);
    expect(fixed.h).toEqual([
      [0, 100],
      [1, 150],
    ]);
    expect(reconcile(state, 1_000, -500, H + 3_000).h).toEqual([
      [0, 0],
      [1, 100],
    ]);
    // Two minute buckets still in the window: only the start's own changes.
    const two = charge(charge(emptyWindow(), 1_000, 100), 2_000, 100);
    expect(reconcile(two, 2_000, 50, 3_000).s).toEqual([
      [1, 1, 100],
      [2, 1, 150],
    ]);
    expect(
      remaining(reconcile(two, 1_000, -100, 3_000), { tokensPerMinute: 1000 }, 3_000).tokensPerMinute,
    ).toBe(900);
  });

  it('a change that changes nothing gives back the state it got', () => {
    const slot = { id: 'a', lapsesAt: 90_000 };
    const state = charge(emptyWindow(), 1_000, 100, slot);
    expect(prune(state, 2_000)).toBe(state);
    expect(reconcile(state, 1_000, 0, 2_000)).toBe(state);
    expect(releaseSlot(state, 'b')).toBe(state);
    // Once something leaves, or a slot is freed, it is a new state and the old one is untouched.
    expect(prune(state, 62_000)).toEqual({ s: [], h: [[0, 100]], r: [['a', 90_000]] });
    expect(prune(state, 90_000)).toEqual({ s: [], h: [[0, 100]], r: [] });
    expect(prune(state, 25 * H)).toEqual({ s: [], h: [], r: [] });
    expect(releaseSlot(state, 'a')).toEqual({ ...state, r: [] });
    expect(reconcile(state, 1_000, 0, 62_000).s).toEqual([]);
    expect(state.r).toEqual([['a', 90_000]]);
  });
});

describe('a session holds at most one concurrency slot', () => {
  it('starting again (taken over from a lost instance) is not held back by its own slot, and replaces it', () => {
    // Two slots, both held by sessions of an instance that was killed: a and b.
    let state = charge(charge(emptyWindow(), 0, 1, { id: 'a', lapsesAt: 20_000 }), 0, 1, {
      id: 'b',
      lapsesAt: 20_000,
    });
    expect(room(state, { maxConcurrent: 2 }, 1_000, 1, 'c')).toMatchObject({
      ok: false,
      limit: 'maxConcurrent',
    });
    // a, started again elsewhere, fits: its old slot is its own.
    expect(room(state, { maxConcurrent: 2 }, 1_000, 1, 'a').ok).toBe(true);
    state = charge(state, 1_000, 1, { id: 'a', lapsesAt: 40_000 });
    // Still two slots, a's with its new lapse, so a third session is still held back.
    expect(remaining(state, { maxConcurrent: 2 }, 1_000).maxConcurrent).toBe(0);
    expect(room(state, { maxConcurrent: 2 }, 1_000, 1, 'c')).toMatchObject({ ok: false, at: 20_000 });
    expect(room(state, { maxConcurrent: 2 }, 20_000, 1, 'c').ok).toBe(true);
    expect(room(state, { maxConcurrent: 1 }, 20_000, 1, 'c')).toMatchObject({ ok: false, at: 40_000 });
    // Its old slot is gone, not kept beside the new one: under three slots a third session fits.
    expect(remaining(state, { maxConcurrent: 3 }, 1_000).maxConcurrent).toBe(1);
    expect(room(state, { maxConcurrent: 3 }, 1_000, 1, 'c').ok).toBe(true);
  });
});
