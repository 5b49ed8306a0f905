/**
 * `rejectingState` (src/runtime/rejecting-state.ts): a `SharedState` whose adapter throws at once
 * rejects instead, what it answers otherwise passes as it is, and a `MemorySharedState` is not
 * wrapped. Through runtimes, for the limiter, the breakers and the budgets: shared-state-throws.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { MemorySharedState } from '../../../src/runtime/memory-state.js';
import type { SharedState } from '../../../src/runtime/ports.js';
import { rejectingState } from '../../../src/runtime/rejecting-state.js';

const broke = new Error('the adapter broke');

/** An adapter that throws at once from both methods. */
const throwing: SharedState = {
  update: () => {
    throw broke;
  },
  read: () => {
    throw broke;
  },
};

describe('rejectingState', () => {
  it('turns an adapter’s throw into the rejection it stands for, with the very error', async () => {
    const state = rejectingState(throwing);
    const update = state.update(
      'k',
      () => 0,
      (s) => ({ state: s, result: s }),
    );
    const read = state.read('k');
    await expect(update).rejects.toBe(broke);
    await expect(read).rejects.toBe(broke);
  });

  it('passes every argument on and answers what the adapter answers, a rejection included', async () => {
    const seen: unknown[] = [];
    const init = () => 1;
    const change = (s: number) => ({ state: s + 1, result: `was ${s}` });
    const adapter: SharedState = {
      update: (...args: unknown[]) => {
        seen.push(args);
        return Promise.resolve('updated') as never;
      },
      read: (key) => {
        seen.push(key);
        return key === 'gone' ? Promise.reject(broke) : Promise.resolve('read' as never);
      },
    };
    const state = rejectingState(adapter);
    expect(await state.update('k', init, change, 5000)).toBe('updated');
    expect(await state.read('k')).toBe('read');
    await expect(state.read('gone')).rejects.toBe(broke);
    expect(seen).toEqual([['k', init, change, 5000], 'k', 'gone']);
  });

  it('leaves a MemorySharedState as it is: its synchronous twins stay, no wrapper is paid', () => {
    const memory = new MemorySharedState();
    expect(rejectingState(memory)).toBe(memory);
  });
});
