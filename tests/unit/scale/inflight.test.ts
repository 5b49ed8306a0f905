/**
 * `Inflight` (src/scale/inflight.ts): what the cluster runtime asked of its ports and has not heard
 * back from. Ports wrapped by it behave as before; `drain` waits for every call in flight, also one
 * made by the continuation of a call that settled during the drain, and gives up after its bound.
 */
import { describe, expect, it } from 'vitest';
import { systemClock } from '../../../src/core/clock.js';
import { Inflight } from '../../../src/scale/inflight.js';
import { ManualClock } from '../../support/manual-clock.js';

class Port {
  #secret = 'own';
  readonly name = 'port';
  calls: string[] = [];
  sync(value: number): number {
    this.calls.push(`sync ${value}`);
    return value * 2;
  }
  async own(): Promise<string> {
    return this.#secret;
  }
  failing(): Promise<never> {
    return Promise.reject(new Error('refused'));
  }
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve: () => void = () => {};
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

describe('Inflight', () => {
  it('a wrapped port answers as the port does, and counts only calls that return a promise', async () => {
    const inflight = new Inflight();
    const port = new Port();
    const wrapped = inflight.wrap(port);
    expect(wrapped.name).toBe('port');
    expect(wrapped.sync(21)).toBe(42);
    expect(port.calls).toEqual(['sync 21']);
    expect(inflight.size).toBe(0);
    // Called on the port itself: its private fields are there.
    const own = wrapped.own();
    expect(inflight.size).toBe(1);
    expect(await own).toBe('own');
    await expect(wrapped.failing()).rejects.toThrow('refused');
    expect(inflight.size).toBe(0);
  });

  it('drain waits for calls in flight, and for the calls their continuations make', async () => {
    const inflight = new Inflight();
    const first = deferred();
    const second = deferred();
    const done: string[] = [];
    const port = inflight.wrap({ first: () => first.promise, second: () => second.promise });
    // A chain through a few async layers, as a limiter's answer reaches the local limits.
    void (async () => {
      await port.first();
      for (let i = 0; i < 20; i++) await null;
      await port.second();
      done.push('second');
    })();
    let drained = false;
    const drain = inflight.drain(systemClock, 60_000).then(() => {
      drained = true;
    });
    await new Promise((r) => setTimeout(r, 20));
    expect(drained).toBe(false);
    first.resolve();
    await new Promise((r) => setTimeout(r, 20));
    expect(drained).toBe(false);
    second.resolve();
    await drain;
    expect(done).toEqual(['second']);
  });

  it('drain with nothing in flight resolves at once; a call that never answers holds it only until its bound', async () => {
    const clock = new ManualClock();
    const inflight = new Inflight();
    await inflight.drain(clock, 1000);
    expect(clock.pending).toBe(0);
    const port = inflight.wrap({ hang: () => new Promise<void>(() => {}) });
    void port.hang();
    let drained = false;
    const drain = inflight.drain(clock, 1000).then(() => {
      drained = true;
    });
    await new Promise((r) => setTimeout(r, 20));
    clock.advance(999);
    expect(clock.runDue()).toBe(0);
    await new Promise((r) => setTimeout(r, 20));
    expect(drained).toBe(false);
    clock.advance(1);
    expect(clock.runDue()).toBe(1);
    await drain;
    expect(inflight.size).toBe(1);
    expect(clock.pending).toBe(0);
  });
});
