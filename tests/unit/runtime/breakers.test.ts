/**
 * The circuit breakers' runner (src/runtime/breakers.ts) beyond the properties: its settings are
 * checked, a refusal says why and until when, an asynchronous shared state (Redis) behaves as the
 * memory one, and a shared state that cannot be reached lets calls through (fails open).
 */
import { describe, expect, it } from 'vitest';
import { TroupeError } from '../../../src/core/errors.js';
import { type BreakerPass, Breakers, verdictOf } from '../../../src/runtime/breakers.js';
import { MemorySharedState } from '../../../src/runtime/memory-state.js';
import type { SharedState } from '../../../src/runtime/ports.js';
import { ManualClock } from '../../support/manual-clock.js';

const SETTINGS = { failures: 2, windowMs: 1000, openMs: 5000, probeTimeoutMs: 3000, minTimeoutMs: 10_000 };

/** A call's end as the gate reports it: a timeout after the provider was silent long enough to count. */
const ended = (failure: string | null, silentMs = 60_000) => ({
  failure,
  aborted: failure === 'TIMED_OUT',
  silentMs,
});
const T0 = Date.parse('2026-03-01T00:00:00.000Z');

/** The same state behind the port's asynchronous methods only, as Redis offers it. */
function asyncOnly(memory: MemorySharedState): SharedState {
  return { update: (k, i, c, t) => memory.update(k, i, c, t), read: (k) => memory.read(k) };
}

function setup(state?: (memory: MemorySharedState) => SharedState) {
  const clock = new ManualClock();
  clock.time = T0;
  const memory = new MemorySharedState(clock);
  const errors: unknown[] = [];
  const breakers = new Breakers(state ? state(memory) : memory, SETTINGS, clock, (e) => errors.push(e));
  return { clock, memory, breakers, errors };
}

const failTwice = async (breakers: Breakers) => {
  for (let i = 0; i < 2; i++) breakers.report((await breakers.admit('p')) as BreakerPass, ended('NETWORK'));
};

describe('Breakers', () => {
  it('counts 5xx, network errors and timeouts past minTimeoutMs as failures; a cancel or a sooner timeout tells nothing', () => {
    const v = (failure: string | null, aborted: boolean, silentMs: number) =>
      verdictOf({ failure, aborted, silentMs }, 10_000);
    expect(v('PROVIDER_UNAVAILABLE', false, 5)).toBe('failure');
    expect(v('NETWORK', false, 5)).toBe('failure');
    expect(v('TIMED_OUT', true, 10_000)).toBe('failure');
    expect(v('TIMED_OUT', true, 9_999)).toBe('void');
    // A provider's own timeout error is held to the same bound.
    expect(v('TIMED_OUT', false, 9_999)).toBe('void');
    expect(v('RATE_LIMITED', false, 5)).toBe('success');
    expect(v('AUTH_FAILED', false, 5)).toBe('success');
    expect(v(null, false, 5)).toBe('success');
    expect(v(null, true, 50_000)).toBe('void');
    // "This model is overloaded" (GLM 1305, 1312) is the provider answering, of one model.
    expect(
      verdictOf({ failure: 'PROVIDER_UNAVAILABLE', aborted: false, silentMs: 5, modelScoped: true }, 10_000),
    ).toBe('success');
  });

  it("one caller's short deadlines never open the breaker; a probe its caller cut short lets the next call probe at once", async () => {
    const { clock, breakers, memory } = setup();
    // Timeouts of 1 ms, many: nothing written, the breaker stays closed for everyone.
    for (let i = 0; i < 10; i++)
      breakers.report((await breakers.admit('p')) as BreakerPass, ended('TIMED_OUT', 1));
    expect(memory.readNow('breaker:p')).toBeUndefined();
    await failTwice(breakers);
    clock.time += SETTINGS.openMs;
    const probe = (await breakers.admit('p')) as BreakerPass;
    expect(probe.probe).toBe(1);
    expect(breakers.admit('p')).toBeInstanceOf(TroupeError);
    // Cancelled by its caller: neither closes nor reopens it, and the next call is the probe.
    breakers.report(probe, { failure: null, aborted: true, silentMs: 10 });
    expect(breakers.views()[0]?.state).toBe('halfOpen');
    const next = (await breakers.admit('p')) as BreakerPass;
    expect(next.probe).toBe(2);
    // A late word from the first probe says nothing of the second's turn: still out.
    breakers.report(probe, { failure: null, aborted: true, silentMs: 10 });
    expect(breakers.admit('p')).toBeInstanceOf(TroupeError);
    breakers.report(next, ended('TIMED_OUT', 5));
    expect(breakers.views()[0]?.state).toBe('halfOpen');
    const third = (await breakers.admit('p')) as BreakerPass;
    breakers.report(third, ended(null));
    expect(breakers.views()[0]?.state).toBe('closed');
  });

  it('refuses settings that are not positive integers, naming the setting', () => {
    const make = (options: object) => () =>
      new Breakers(new MemorySharedState(new ManualClock()), options, new ManualClock(), () => {});
    expect(make({ failures: 0 })).toThrow('Expected `breakers.failures` to be a positive integer, got `0`');
    expect(make({ openMs: 1.5 })).toThrow('Expected `breakers.openMs` to be a positive integer, got `1.5`');
    expect(make({ windowMs: -1 })).toThrow(TroupeError);
    expect(make({ minTimeoutMs: 0 })).toThrow(
      'Expected `breakers.minTimeoutMs` to be a positive integer, got `0`',
    );
    expect(make({ probeTimeoutMs: Number.NaN })).toThrow(
      expect.objectContaining({ code: 'INVALID_REQUEST' }),
    );
    expect(make({ failures: 1, windowMs: undefined })).not.toThrow();
  });

  it('refuses a length of time past Node’s longest timer, and takes a count that large', () => {
    const make = (options: object) => () =>
      new Breakers(new MemorySharedState(new ManualClock()), options, new ManualClock(), () => {});
    for (const name of ['windowMs', 'openMs', 'probeTimeoutMs', 'minTimeoutMs']) {
      expect(make({ [name]: 2_147_483_647 })).not.toThrow();
      expect(make({ [name]: 2_147_483_648 })).toThrow(
        `Expected \`breakers.${name}\` to be at most 2147483647 (milliseconds: the longest timer Node sets`,
      );
    }
    expect(make({ failures: 2_147_483_648 })).not.toThrow();
  });

  it('an open breaker refuses with why, until when and in how long; half-open, that its probe is out', async () => {
    const { clock, breakers } = setup();
    await failTwice(breakers);
    clock.time += 1500;
    const refused = breakers.admit('p') as TroupeError;
    expect(refused.code).toBe('PROVIDER_UNAVAILABLE');
    expect(refused.retryable).toBe(false);
    expect(refused.retryAfterMs).toBe(3500);
    expect(refused.message).toBe(
      'Expected provider `p` to take calls, got its circuit breaker open after 2 failures within 1000 ms (last NETWORK) until 2026-03-01T00:00:05.000Z (in 4 s), when one probe call may go; call again after that, or name a fallback',
    );
    clock.time = T0 + 5000;
    const probe = breakers.admit('p') as BreakerPass;
    expect(probe.probe).toBe(1);
    clock.time += 100;
    const halfOpen = breakers.admit('p') as TroupeError;
    expect(halfOpen.message).toContain(
      'got its circuit breaker half-open with its one probe call out until 2026-03-01T00:00:08.000Z (in 3 s) at the latest',
    );
    expect(halfOpen.retryAfterMs).toBe(2900);
  });

  it('shows the last state it saw of each provider; an answer to a plain call writes nothing', async () => {
    const { breakers, memory } = setup();
    breakers.report((await breakers.admit('q')) as BreakerPass, ended(null));
    expect(breakers.views()).toEqual([]);
    expect(memory.readNow('breaker:q')).toBeUndefined();
    breakers.report((await breakers.admit('p')) as BreakerPass, ended('PROVIDER_UNAVAILABLE'));
    expect(breakers.views()).toEqual([
      {
        provider: 'p',
        state: 'closed',
        failures: 1,
        threshold: 2,
        openUntil: null,
        opened: 0,
        lastError: 'PROVIDER_UNAVAILABLE',
      },
    ]);
  });

  it('over an asynchronous shared state: opens, refuses, lets one probe go, and closes on its answer', async () => {
    const { clock, breakers, memory, errors } = setup(asyncOnly);
    const first = breakers.admit('p');
    expect(first).toBeInstanceOf(Promise);
    expect(await first).toEqual({ provider: 'p', probe: null });
    await failTwice(breakers);
    await Promise.resolve();
    await Promise.resolve();
    expect(memory.readNow<{ value: string }>('breaker:p')?.value).toBe('open');
    expect(await breakers.admit('p')).toBeInstanceOf(TroupeError);
    expect(breakers.views()[0]?.state).toBe('open');
    clock.time += SETTINGS.openMs;
    const probe = (await breakers.admit('p')) as BreakerPass;
    expect(probe).toEqual({ provider: 'p', probe: 1 });
    expect(await breakers.admit('p')).toBeInstanceOf(TroupeError);
    breakers.report(probe, ended(null));
    await Promise.resolve();
    await Promise.resolve();
    expect(memory.readNow<{ value: string }>('breaker:p')?.value).toBe('closed');
    expect(await breakers.admit('p')).toEqual({ provider: 'p', probe: null });
    expect(errors).toEqual([]);
  });

  it('fails open: a shared state that cannot be read or changed lets the call through and reports why', async () => {
    const down = new Error('Expected Redis to answer, got ECONNREFUSED');
    const { clock, breakers, errors } = setup((memory) => ({
      read: (k) => (broken.read ? Promise.reject(down) : memory.read(k)),
      update: (k, i, c, t) => (broken.update ? Promise.reject(down) : memory.update(k, i, c, t)),
    }));
    const broken = { read: true, update: false };
    expect(await breakers.admit('p')).toEqual({ provider: 'p', probe: null });
    expect(errors).toEqual([down]);
    broken.read = false;
    await failTwice(breakers);
    await Promise.resolve();
    clock.time += SETTINGS.openMs;
    broken.update = true;
    // Open, and the probe cannot be recorded: the call goes anyway.
    expect(await breakers.admit('p')).toEqual({ provider: 'p', probe: null });
    breakers.report({ provider: 'p', probe: null }, ended('NETWORK'));
    await new Promise((resolve) => setImmediate(resolve));
    expect(errors).toEqual([down, down, down]);
  });

  it('without options: opens at the 5th failure within 30 s, for 30 s, and presumes a probe lost after 60 s', async () => {
    const clock = new ManualClock();
    clock.time = T0;
    const breakers = new Breakers(new MemorySharedState(clock), {}, clock, () => {});
    const fail = () => breakers.report(breakers.admit('p') as BreakerPass, ended('NETWORK'));
    for (let i = 0; i < 4; i++) fail();
    expect(breakers.views()[0]).toMatchObject({ state: 'closed', failures: 4, threshold: 5 });
    clock.time = T0 + 30_000;
    // The four at T0 have left the window: this one is alone in it.
    fail();
    expect(breakers.views()[0]).toMatchObject({ state: 'closed', failures: 1 });
    for (let i = 0; i < 4; i++) fail();
    expect(breakers.views()[0]).toMatchObject({ state: 'open', openUntil: T0 + 60_000, opened: 1 });
    clock.time = T0 + 60_000;
    expect(breakers.admit('p')).toEqual({ provider: 'p', probe: 1 });
    clock.time = T0 + 119_999;
    expect((breakers.admit('p') as TroupeError).retryAfterMs).toBe(1);
    clock.time = T0 + 120_000;
    expect(breakers.admit('p')).toEqual({ provider: 'p', probe: 2 });
  });

  /** Two instances over one state; `second` sees it through `view` and counts its writes. */
  function twoInstances(view: (memory: MemorySharedState, writes: { count: number }) => SharedState) {
    const { clock, memory, breakers: first } = setup();
    const writes = { count: 0 };
    const second = new Breakers(view(memory, writes), SETTINGS, clock, (e) => {
      throw e;
    });
    return { clock, memory, first, second, writes };
  }
  const countingSync = (memory: MemorySharedState, writes: { count: number }) =>
    Object.assign(asyncOnly(memory), {
      readNow: (k: string) => memory.readNow(k),
      updateNow: (...args: Parameters<MemorySharedState['updateNow']>) => {
        writes.count++;
        return memory.updateNow(...args);
      },
    });
  const countingAsync = (memory: MemorySharedState, writes: { count: number }): SharedState => ({
    read: (k) => memory.read(k),
    update: (k, i, c, t) => {
      writes.count++;
      return memory.update(k, i, c, t);
    },
  });

  for (const [kind, view] of [
    ['a synchronous', countingSync],
    ['an asynchronous', countingAsync],
  ] as const) {
    it(`over ${kind} state: admit shows what another instance wrote, and a closed breaker's admit writes nothing`, async () => {
      const { first, second, writes } = twoInstances(view);
      expect(await second.admit('p')).toEqual({ provider: 'p', probe: null });
      // Nothing stored yet: nothing to show.
      expect(second.views()).toEqual([]);
      first.report(first.admit('p') as BreakerPass, ended('TIMED_OUT'));
      expect(await second.admit('p')).toEqual({ provider: 'p', probe: null });
      expect(second.views()).toEqual([
        {
          provider: 'p',
          state: 'closed',
          failures: 1,
          threshold: 2,
          openUntil: null,
          opened: 0,
          lastError: 'TIMED_OUT',
        },
      ]);
      expect(writes.count).toBe(0);
      first.report(first.admit('p') as BreakerPass, ended('TIMED_OUT'));
      const refused = await second.admit('p');
      expect(refused).toBeInstanceOf(TroupeError);
      expect(second.views()[0]).toMatchObject({ state: 'open', openUntil: T0 + SETTINGS.openMs });
    });
  }

  it('a breaker read open but closed by another instance before the change lets the call go as a plain one', async () => {
    const { clock, memory, first, second } = twoInstances((state) => ({
      read: <S>() => Promise.resolve(stale as S),
      update: (k, i, c, t) => state.update(k, i, c, t),
    }));
    for (let i = 0; i < 2; i++) first.report(first.admit('p') as BreakerPass, ended('NETWORK'));
    const stale = memory.readNow('breaker:p');
    clock.time += SETTINGS.openMs;
    first.report(first.admit('p') as BreakerPass, ended(null));
    expect(memory.readNow<{ value: string }>('breaker:p')?.value).toBe('closed');
    expect(await second.admit('p')).toEqual({ provider: 'p', probe: null });
    expect(second.views()[0]).toMatchObject({ state: 'closed', opened: 1 });
  });
});
