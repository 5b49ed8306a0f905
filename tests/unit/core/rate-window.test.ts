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
  reconcile,
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
