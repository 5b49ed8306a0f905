/**
 * The limits view's refresh, every second on each instance, while the shared state (Redis) is away:
 * one error naming what failed, not one a second with only the driver's words ("Stream isn't
 * writeable", seen once a second per instance in an audit's Redis restart), and once more only
 * after a read has succeeded in between.
 */
import { describe, expect, it } from 'vitest';
import { SimulatedClock } from 'xstate';
import type { SharedState } from '../../../src/runtime/ports.js';
import { LimitsView } from '../../../src/scale/limits-view.js';

const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('LimitsView while the shared state is away', () => {
  it('says a failing refresh once until one succeeds, naming the read and what it keeps', async () => {
    const clock = new SimulatedClock();
    let away = true;
    const state = {
      read: async () => {
        if (away) throw new Error("Stream isn't writeable and enableOfflineQueue options is false");
        return undefined;
      },
    } as unknown as SharedState;
    const errors: unknown[] = [];
    const view = new LimitsView(state, new Map([['p', { requestsPerMinute: 3 }]]), ['p'], clock, (e) =>
      errors.push(e),
    );
    const tick = async () => {
      clock.increment(1000);
      await flush();
    };
    view.start();
    await flush();
    for (let i = 0; i < 4; i++) await tick();
    expect(errors).toHaveLength(1);
    expect((errors[0] as Error).message).toMatch(
      /^Expected the shared state \(Redis\) to answer the limits view's read of the providers' limits and holds, got Stream isn't writeable .*; the view keeps its last figures/,
    );
    away = false;
    await tick();
    away = true;
    await tick();
    await tick();
    expect(errors).toHaveLength(2);
    view.stop();
  });
});
