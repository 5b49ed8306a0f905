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

  it('a state lives exactly its ttl: kept one millisecond before, gone at it, for reads and changes alike', () => {
    const clock = new ManualClock();
    const state = new MemorySharedState(clock);
    put(state, 'a', 100);
    put(state, 'b', 100);
    clock.time = 99;
    expect(state.readNow('a')).toBe(1);
    expect(put(state, 'b', 100)).toBe(2);
    // b's change renewed its ttl from now; a's did not move.
    clock.time = 100;
    expect(state.readNow('a')).toBeUndefined();
    expect(state.readNow('b')).toBe(2);
    clock.time = 198;
    expect(put(state, 'b')).toBe(3);
    // Without a ttl it never expires.
    clock.time = 1e12;
    expect(state.readNow('b')).toBe(3);
    // A change of a key at its expiry starts afresh (no sweep here to drop it first).
    const unswept = new MemorySharedState(clock, 0);
    put(unswept, 'c', 100);
    clock.time += 99;
    expect(put(unswept, 'c', 100)).toBe(2);
    clock.time += 100;
    expect(put(unswept, 'c', 100)).toBe(1);
  });

  it('every change examines SWEEP_STEP further keys in turn, from the start again after the last', () => {
    const clock = new ManualClock();
    const state = new MemorySharedState(clock);
    for (let i = 0; i < 10; i++) put(state, `k${i}`, 10);
    put(state, 'live');
    clock.time = 10;
    const sizes: number[] = [];
    for (let i = 0; i < 4; i++) {
      put(state, 'live');
      sizes.push(state.size);
    }
    // Ten expired keys and `live`: each change examines four keys in turn (so drops at most four;
    // `live` among them is kept), and a pass over all eleven takes three changes.
    expect(SWEEP_STEP).toBe(4);
    expect(sizes).toEqual([7, 4, 1, 1]);
    expect(state.readNow('live')).toBe(5);
  });

  it('examines no key but its own with a sweep step of 0, and live keys are never swept', () => {
    const clock = new ManualClock();
    const none = new MemorySharedState(clock, 0);
    const swept = new MemorySharedState(clock);
    for (const state of [none, swept]) {
      for (let i = 0; i < 8; i++) put(state, `old${i}`, 10);
      put(state, 'young', 1000);
    }
    clock.time = 10;
    for (let i = 0; i < 10; i++) {
      put(none, 'other');
      put(swept, 'other');
    }
    expect(none.size).toBe(10);
    expect(swept.size).toBe(2);
    expect(swept.readNow('young')).toBe(1);
  });

  it("the port: update resolves to the change's result, rejects (changing nothing) when it throws; read resolves to the state", async () => {
    const state = new MemorySharedState(new ManualClock());
    expect(
      await state.update(
        'a',
        () => 5,
        (n: number) => ({ state: n * 2, result: `was ${n}` }),
      ),
    ).toBe('was 5');
    const broken = new Error('bad change');
    await expect(
      state.update(
        'a',
        () => 0,
        () => {
          throw broken;
        },
      ),
    ).rejects.toBe(broken);
    expect(await state.read('a')).toBe(10);
    expect(await state.read('missing')).toBeUndefined();
  });
});
