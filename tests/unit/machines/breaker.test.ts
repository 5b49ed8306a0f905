/**
 * The circuit breaker machine (machines/breaker.ts) transition by transition, as a pure function
 * of its stored snapshot: the failure window's edge, what opening and closing record, the probe
 * presumed lost at `probeUntil` (and not before), and that only the probe out closes or reopens it.
 */
import { describe, expect, it } from 'vitest';
import {
  type BreakerEvent,
  type BreakerSnapshot,
  initialBreaker,
  requestBreaker,
  stepBreaker,
} from '../../../machines/breaker.js';

const S = { failures: 2, windowMs: 1000, openMs: 5000, probeTimeoutMs: 3000 };
const fail = (now: number, probe: number | null = null, code = 'NETWORK'): BreakerEvent => ({
  type: 'breaker.failure',
  now,
  code,
  probe,
});
const steps = (snapshot: BreakerSnapshot, ...events: BreakerEvent[]) => events.reduce(stepBreaker, snapshot);
/** Opened by two failures at 100 and 200: open until 5200. */
const opened = () => steps(initialBreaker(S), fail(100), fail(200, null, 'PROVIDER_UNAVAILABLE'));
/** Half-open with probe 1 out since 5200 (presumed lost at 8200). */
const halfOpen = () => requestBreaker(opened(), 5200).state;

describe('breaker machine', () => {
  it('starts closed, with no failure, never opened', () => {
    expect(initialBreaker(S)).toEqual({
      value: 'closed',
      context: {
        settings: S,
        failures: [],
        lastError: null,
        openedAt: null,
        openUntil: null,
        probeUntil: null,
        probes: 0,
        opened: 0,
      },
    });
  });

  it('a failure exactly windowMs old has left the window', () => {
    expect(steps(initialBreaker(S), fail(0), fail(1000)).value).toBe('closed');
    expect(steps(initialBreaker(S), fail(0), fail(1000)).context.failures).toEqual([1000]);
    expect(steps(initialBreaker(S), fail(0), fail(999)).value).toBe('open');
  });

  it('opening records when, until when, the last error and the count, and forgets the failures', () => {
    const open = opened();
    expect(open.value).toBe('open');
    expect(open.context).toMatchObject({
      failures: [],
      lastError: 'PROVIDER_UNAVAILABLE',
      openedAt: 200,
      openUntil: 5200,
      probeUntil: null,
      opened: 1,
    });
  });

  it('a closed breaker lets every call pass without a change', () => {
    const closed = initialBreaker(S);
    expect(requestBreaker(closed, 0)).toEqual({ state: closed, result: { kind: 'pass' } });
  });

  it('open: refused until openUntil, then exactly one probe goes', () => {
    const refused = requestBreaker(opened(), 5199);
    expect(refused.result).toEqual({ kind: 'refused', until: 5200, state: 'open' });
    const probe = requestBreaker(opened(), 5200);
    expect(probe.result).toEqual({ kind: 'probe', probe: 1 });
    expect(probe.state.value).toBe('halfOpen');
    expect(probe.state.context).toMatchObject({ probes: 1, probeUntil: 8200, openUntil: null });
  });

  it('half-open: refused while the probe may still answer; at probeUntil it is lost and a new probe goes', () => {
    expect(requestBreaker(halfOpen(), 8199).result).toEqual({
      kind: 'refused',
      until: 8200,
      state: 'halfOpen',
    });
    const second = requestBreaker(halfOpen(), 8200);
    expect(second.result).toEqual({ kind: 'probe', probe: 2 });
    expect(second.state.context).toMatchObject({ probes: 2, probeUntil: 11200 });
  });

  it("the probe's answer closes it, clearing what opening set; its failure opens it again", () => {
    const closed = stepBreaker(halfOpen(), { type: 'breaker.success', now: 5300, probe: 1 });
    expect(closed.value).toBe('closed');
    expect(closed.context).toMatchObject({
      failures: [],
      openedAt: null,
      openUntil: null,
      probeUntil: null,
      opened: 1,
    });
    const reopened = stepBreaker(halfOpen(), fail(5300, 1, 'TIMED_OUT'));
    expect(reopened.value).toBe('open');
    expect(reopened.context).toMatchObject({ openUntil: 10300, lastError: 'TIMED_OUT', opened: 2 });
  });

  it("only the probe out decides: a lost probe's or a plain call's outcome changes nothing", () => {
    const second = requestBreaker(halfOpen(), 8200).state;
    for (const probe of [1, null]) {
      expect(stepBreaker(second, { type: 'breaker.success', now: 8300, probe })).toEqual(second);
      expect(stepBreaker(second, fail(8300, probe))).toEqual(second);
    }
    expect(stepBreaker(second, { type: 'breaker.success', now: 8300, probe: 2 }).value).toBe('closed');
  });
});
