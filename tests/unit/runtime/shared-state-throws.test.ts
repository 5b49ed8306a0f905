/**
 * A `sharedState` adapter that throws where it should reject (`update` or `read` throwing at once)
 * is taken as the rejection it stands for, by each part of the runtime that keeps its state there:
 * the limiter, the breakers and the budgets (`rejectingState`). Each case runs twice, the state
 * throwing and the state rejecting, and expects the same outcome of both: the session's result,
 * what `onError` heard and the calls the provider received. Until 2026-12-06 only the limiter took
 * a throw so: at a breaker or a budget it went up through the call's gate, and the call ended
 * `INTERNAL` (a breaker failed closed where a rejection fails open).
 */
import { describe, expect, it } from 'vitest';
import { SimulatedClock } from 'xstate';
import { TroupeError } from '../../../src/core/errors.js';
import {
  createRuntime,
  MemorySharedState,
  type Runtime,
  type RuntimeOptions,
  type SharedState,
} from '../../../src/index.js';
import { ScriptedProvider } from '../../../src/testing/scripted-provider.js';
import { stepClock } from '../../support/clock-steps.js';
import { flush } from './session-fixtures.js';

type Failure = 'throws' | 'rejects';

/** A foreign shared state over a memory one: a call `fails` picks throws or rejects, as `how` says. */
class FailingState implements SharedState {
  /** Which calls fail (none by default); told each call's method and key. */
  fails: (method: 'update' | 'read', key: string) => boolean = () => false;

  constructor(
    private readonly inner: MemorySharedState,
    private readonly how: Failure,
  ) {}

  update<S, R>(
    key: string,
    init: () => S,
    change: (state: S) => { readonly state: S; readonly result: R },
    ttlMs?: number,
  ): Promise<R> {
    if (this.fails('update', key)) return this.failure('update', key);
    return this.inner.update(key, init, change, ttlMs);
  }

  read<S>(key: string): Promise<S | undefined> {
    if (this.fails('read', key)) return this.failure('read', key);
    return this.inner.read<S>(key);
  }

  private failure(method: string, key: string): Promise<never> {
    const error = new Error(`the state broke (${method} ${key})`);
    if (this.how === 'throws') throw error;
    return Promise.reject(error);
  }
}

interface World {
  readonly runtime: Runtime;
  readonly provider: ScriptedProvider;
  readonly state: FailingState;
  readonly clock: SimulatedClock;
}

/** How a case's last session ended. */
interface Outcome {
  readonly ok: boolean;
  readonly code?: string;
  readonly message?: string;
}

/** What a case shows: its last session's end, what `onError` heard, the calls the provider got. */
interface Trace extends Outcome {
  readonly errors: readonly string[];
  readonly calls: number;
}

const ask = { messages: [{ role: 'user' as const, content: 'hello' }] };
const once = { maxAttempts: 1 };
// A thousandth of a dollar a token: a call of a few tokens stays far within a dollar's budget.
const prices = { p: { m: { input: 1000, output: 1000, currency: 'USD' } } };
const budgets = { perCaller: 1 };
const limits = { providers: { p: { requestsPerMinute: 1000 } } };

/** Of the calls that match `match`, the first `skip` go through, the next `count` fail, the rest go through. */
function failing(match: (method: string, key: string) => boolean, count = 1, skip = 0) {
  let seen = 0;
  return (method: string, key: string) => {
    if (!match(method, key)) return false;
    seen++;
    return seen > skip && seen <= skip + count;
  };
}

const writes = (prefix: string) => (method: string, key: string) =>
  method === 'update' && key.startsWith(prefix);
const reads = (prefix: string) => (method: string, key: string) =>
  method === 'read' && key.startsWith(prefix);

/** One session of p that fails with a 503 (`PROVIDER_UNAVAILABLE`): with `failures: 1` it opens p's breaker. */
async function failOnce(w: World): Promise<void> {
  const handle = w.runtime.submit(ask, once);
  await flush();
  w.provider.pending()[0]?.settle('retryable');
  expect((await handle.result).ok).toBe(false);
}

/** Submits one session, answers its call (if it gets one) with `outcome` after `waitMs`, and says how it ended. */
async function answered(w: World, outcome: 'ok' | 'retryable', waitMs = 0): Promise<Outcome> {
  const handle = w.runtime.submit(ask, { ...once, queueTimeoutMs: 60_000 });
  await stepClock(w.clock, waitMs, 100);
  w.provider.pending()[0]?.settle(outcome);
  const result = await endedSoon(handle.result);
  // Until 2026-12-06 a breaker's write that threw as a failed call ended left its session unended.
  if (result === undefined) return { ok: false, code: '(not ended)' };
  return result.ok ? { ok: true } : { ok: false, code: result.error.code, message: result.error.message };
}

/** `result`, or `undefined` when it has not come after a few turns of the event loop (no time passes). */
async function endedSoon<T>(result: Promise<T>): Promise<T | undefined> {
  let turns = 0;
  const late = (async () => {
    while (turns++ < 20) await flush();
    return undefined;
  })();
  return Promise.race([result, late]);
}

interface Case {
  readonly name: string;
  readonly options: Partial<RuntimeOptions>;
  /** Runs the case on a fresh runtime; says how its last session ended. */
  readonly run: (w: World) => Promise<Outcome>;
  readonly expected: Trace;
}

const cases: Case[] = [
  {
    name: 'breakers: the read before a call fails, and the breaker fails open',
    options: { breakers: true },
    run: (w) => {
      w.state.fails = reads('breaker:');
      return answered(w, 'ok');
    },
    expected: { ok: true, errors: ['the state broke (read breaker:p)'], calls: 1 },
  },
  {
    name: 'breakers: the failure a call reports cannot be written, and the call ends with its own error',
    options: { breakers: true },
    run: (w) => {
      w.state.fails = writes('breaker:');
      return answered(w, 'retryable');
    },
    expected: {
      ok: false,
      code: 'PROVIDER_UNAVAILABLE',
      message: 'Expected a completion, got 503',
      errors: ['the state broke (update breaker:p)'],
      calls: 1,
    },
  },
  {
    name: 'breakers: an open breaker’s probe cannot be written, and the breaker fails open',
    options: { breakers: { failures: 1, openMs: 1000 } },
    run: async (w) => {
      await failOnce(w);
      w.clock.increment(1000);
      w.state.fails = failing(writes('breaker:'));
      return answered(w, 'ok');
    },
    expected: { ok: true, errors: ['the state broke (update breaker:p)'], calls: 2 },
  },
  {
    name: 'budgets: the reservation cannot be written, and the call fails with the state’s error',
    options: { budgets, prices },
    run: (w) => {
      w.state.fails = writes('budget:');
      return answered(w, 'ok');
    },
    expected: {
      ok: false,
      code: 'INTERNAL',
      message: 'Unexpected error: the state broke (update budget:USD:caller:local)',
      errors: [],
      calls: 0,
    },
  },
  {
    name: 'budgets: the cost of an answered call cannot be written, and onError hears it',
    options: { budgets, prices },
    run: async (w) => {
      // The reservation is written; the settle after the answer fails.
      w.state.fails = failing(writes('budget:'), 1, 1);
      return answered(w, 'ok');
    },
    expected: { ok: true, errors: ['the state broke (update budget:USD:caller:local)'], calls: 1 },
  },
  {
    name: 'budgets: an open breaker refuses, its reservation cannot be given back, and the call ends refused',
    options: { budgets, prices, breakers: { failures: 1, openMs: 1000 } },
    run: async (w) => {
      await failOnce(w);
      // The second session's reservation is written; giving it back after the refusal fails.
      w.state.fails = failing(writes('budget:'), 1, 1);
      return answered(w, 'ok');
    },
    expected: {
      ok: false,
      code: 'PROVIDER_UNAVAILABLE',
      message: expect.stringContaining('its circuit breaker open after 1 failures'),
      errors: ['the state broke (update budget:USD:caller:local)'],
      calls: 1,
    },
  },
  {
    name: 'limits: a start cannot be charged, and it is asked again a second later',
    options: { limits },
    run: (w) => {
      w.state.fails = failing(writes('limits:'));
      return answered(w, 'ok', 1500);
    },
    expected: { ok: true, errors: ['the state broke (update limits:p)'], calls: 1 },
  },
  {
    name: 'limits: a call’s end cannot be written, and it is written again half a second later',
    options: { limits: { providers: { p: { maxConcurrent: 1 } } } },
    run: async (w) => {
      const before = w.runtime.submit(ask, once);
      await flush();
      w.state.fails = failing(writes('limits:'));
      w.provider.pending()[0]?.settle('ok');
      expect((await before.result).ok).toBe(true);
      // The next one starts only once the first one's end has freed p's one slot.
      return answered(w, 'ok', 1500);
    },
    expected: { ok: true, errors: [], calls: 2 },
  },
];

async function trace(test: Case, how: Failure): Promise<Trace> {
  const clock = new SimulatedClock();
  const provider = new ScriptedProvider('p');
  const state = new FailingState(new MemorySharedState(clock), how);
  const errors: unknown[] = [];
  const runtime = createRuntime({
    providers: [provider],
    defaults: { provider: 'p', model: 'm' },
    clock,
    sharedState: state,
    onError: (error) => errors.push(error),
    ...test.options,
  });
  const result = await test.run({ runtime, provider, state, clock });
  await flush();
  // A session left unended is cancelled when the drain deadline passes, on the simulated clock.
  const stopped = runtime.shutdown({ deadlineMs: 0 });
  await stepClock(clock, 1, 1);
  await stopped;
  return {
    ...result,
    errors: errors.map(
      (error) => (error instanceof TroupeError ? `${error.code}: ` : '') + String((error as Error).message),
    ),
    calls: provider.calls.length,
  };
}

describe.each<Failure>(['throws', 'rejects'])('a sharedState whose call %s', (how) => {
  it.each(cases)('$name', async (test) => {
    expect(await trace(test, how)).toEqual(test.expected);
  });
});
