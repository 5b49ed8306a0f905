/**
 * `MemorySharedState` drops what expired, by the injected clock and without a timer: lazily when
 * an expired key is read or changed, and by a sweep that examines `SWEEP_STEP` further keys on
 * every change; so keys a client stops using (a caller's budget, a model's limiter window) go.
 */
import { describe, expect, it } from 'vitest';
import type { ChatRequest } from '../../../src/providers/port.js';
import { Budgets } from '../../../src/runtime/budgets.js';
import { MemorySharedState, SWEEP_STEP } from '../../../src/runtime/memory-state.js';
import { ManualClock } from '../../support/manual-clock.js';

const put = (state: MemorySharedState, key: string, ttlMs?: number) =>
  state.updateNow(
    key,
    () => 0,
    (n: number) => ({ state: n + 1, result: n + 1 }),
    ttlMs,
  );

describe('MemorySharedState expiry', () => {
  it('drops an expired key when it is read, and starts a changed one afresh', () => {
    const clock = new ManualClock();
    const state = new MemorySharedState(clock);
    put(state, 'a', 100);
    put(state, 'a', 100);
    expect(state.readNow('a')).toBe(2);
    clock.time += 100;
    expect(state.readNow('a')).toBeUndefined();
    expect(state.size).toBe(0);
    put(state, 'b', 100);
    clock.time += 100;
    expect(put(state, 'b', 100)).toBe(1);
  });

  it('sweeps keys nobody touches again: gone within one pass of changes after they expire', () => {
    const clock = new ManualClock();
    const state = new MemorySharedState(clock);
    for (let i = 0; i < 1000; i++) put(state, `caller:${i}`, 1000);
    put(state, 'forever');
    expect(state.size).toBe(1001);
    clock.time += 1000;
    // Changes to one other key only: the sweep walks the rest.
    const pass = Math.ceil(1001 / SWEEP_STEP) + 1;
    for (let i = 0; i < pass; i++) put(state, 'forever');
    expect(state.size).toBe(1);
    expect(state.readNow('forever')).toBe(pass + 1);
  });

  it('holds at most about 4/3 of the live keys while a client makes a new key on every call', () => {
    const clock = new ManualClock();
    const state = new MemorySharedState(clock);
    const ttl = 300;
    let most = 0;
    for (let i = 0; i < 20_000; i++) {
      put(state, `model:${i}`, ttl); // a new key per call, never used again
      clock.time += 1;
      most = Math.max(most, state.size);
    }
    // `ttl` keys are live at any instant; the rest are expired ones not yet swept.
    expect(most).toBeLessThanOrEqual(Math.ceil((ttl * SWEEP_STEP) / (SWEEP_STEP - 1)) + SWEEP_STEP);
    expect(most).toBeGreaterThanOrEqual(ttl);
  });

  it("lets yesterday's per-caller budgets go once callers move on", async () => {
    const clock = new ManualClock();
    clock.time = Date.parse('2026-12-01T12:00:00Z');
    const state = new MemorySharedState(clock);
    const budgets = new Budgets(
      { perCaller: 1 },
      { p: { m: { input: 1, output: 1, currency: 'USD' } } },
      state,
      clock,
    );
    const request: ChatRequest = { model: 'm', messages: [{ role: 'user', content: 'x' }], max_tokens: 1 };
    for (let i = 0; i < 500; i++) await budgets.reserve(`mcp:${i}`, 'p', request);
    expect(state.size).toBe(500);
    clock.time = Date.parse('2026-12-02T00:02:00Z'); // past the day's end and its minute of grace
    for (let i = 0; i < 200; i++) await budgets.reserve('mcp:today', 'p', request);
    expect(state.size).toBe(1);
  });
});
