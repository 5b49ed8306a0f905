/**
 * The in-memory runtime's composition, with a scripted provider and a simulated clock: which
 * backend `createRuntime` builds, what a scale-out backend hands it (`adopt`, `runRecord`), and
 * what `status`, `sessions`, `cancel` and `metrics` show. Each runtime here holds a few sessions.
 */
import { describe, expect, it, vi } from 'vitest';
import { SimulatedClock } from 'xstate';
import { createLocalRuntime } from '../../../src/runtime/local-runtime.js';
import { createRuntime } from '../../../src/runtime/runtime.js';
import type { RuntimeOptions } from '../../../src/runtime/types.js';
import { ScriptedProvider } from '../../../src/testing/scripted-provider.js';
import { adopted } from '../../support/adopted.js';
import { flush, stop } from '../../support/local-stop.js';
import { thrown } from '../../support/thrown.js';

const ask = { messages: [{ role: 'user' as const, content: 'hello' }] };

function setup(options: Partial<RuntimeOptions> = {}) {
  const clock = new SimulatedClock();
  const provider = new ScriptedProvider('p');
  const other = new ScriptedProvider('q');
  const runtime = createLocalRuntime({
    providers: [provider, other],
    clock,
    defaults: { provider: 'p', model: 'm' },
    limits: { maxConcurrent: 4 },
    random: () => 0,
    ...options,
  });
  return { clock, provider, other, runtime };
}

describe('createRuntime', () => {
  it('builds the local runtime in memory, and hands a scale-out backend the options and the local builder', async () => {
    const provider = new ScriptedProvider('p');
    const options = { providers: [provider], defaults: { model: 'm' } };
    for (const runtime of [
      createRuntime(options),
      createRuntime({ ...options, backend: { kind: 'memory' } as never }),
    ]) {
      expect(runtime.providers).toEqual(['p']);
      await runtime.shutdown({ deadlineMs: 0 });
    }
    const built = { marker: true };
    const backend = { kind: 'redis', createRuntime: vi.fn(() => built) };
    expect(createRuntime({ ...options, backend } as never)).toBe(built);
    expect(backend.createRuntime).toHaveBeenCalledWith({ ...options, backend }, createLocalRuntime);
  });
});

describe('submit', () => {
  it('starts a session there is room for at once, however far the clock moves while the submit runs', async () => {
    // A thread preempted mid-submit (a loaded machine) reads a later time at each look: until
    // 2026-12-07 a 20 ms queue deadline read as passed there, and the session timed out queued
    // with every slot free.
    const simulated = new SimulatedClock();
    let moved = 0;
    const clock = {
      now: () => {
        moved += 25;
        return simulated.now() + moved;
      },
      setTimeout: simulated.setTimeout.bind(simulated),
      clearTimeout: simulated.clearTimeout.bind(simulated),
    };
    const { provider, runtime } = setup({ clock });
    const handle = runtime.submit(ask, { queueTimeoutMs: 20 });
    expect(runtime.session(handle.id)?.state).toBe('running');
    await flush();
    provider.pending()[0]?.settle('ok');
    expect((await handle.result).ok).toBe(true);
    await runtime.shutdown({ deadlineMs: 0 });
  });
});

describe('status().defaults', () => {
  it('states what a call that asks none gets, as resolved: the defaults given, else 5, 120000 and 60000 ms', async () => {
    const given = setup({
      defaults: { model: 'm', priority: 3, timeoutMs: 300_000, queueTimeoutMs: 7_000 },
    }).runtime;
    expect(given.status().defaults).toEqual({ priority: 3, timeoutMs: 300_000, queueTimeoutMs: 7_000 });
    const plain = setup().runtime;
    expect(plain.status().defaults).toEqual({ priority: 5, timeoutMs: 120_000, queueTimeoutMs: 60_000 });
    await Promise.all([given.shutdown({ deadlineMs: 0 }), plain.shutdown({ deadlineMs: 0 })]);
  });
});

describe('adopt', () => {
  it('runs a session admitted elsewhere now, on the provider its input names, with its label and caller', async () => {
    const { clock, runtime } = setup();
    expect(runtime.providers).toEqual(['p', 'q']);
    const session = adopted(clock.now(), 's-1', { provider: 'q' });
    const handle = runtime.adopt({ ...session, label: 'l', caller: { owner: 'ann' }, callerTruncated: true });
    expect(handle.id).toBe('s-1');
    await flush();
    expect(runtime.session('s-1')?.state).toBe('running');
    expect(runtime.runRecord('s-1')).toEqual({ attempts: 1, startedAt: 0, runDeadlineAt: 120_000 });
    await stop(runtime, clock);
    expect((await handle.result).metadata).toMatchObject({
      provider: 'q',
      label: 'l',
      caller: { owner: 'ann' },
      truncated: true,
    });
  });

  it('refuses a session for a provider it does not have, and any once draining', async () => {
    const { clock, runtime } = setup();
    const error = thrown(() => runtime.adopt(adopted(clock.now(), 's-2', { provider: 'zz' })));
    expect(error.code).toBe('UNKNOWN_PROVIDER');
    expect(error.message).toBe('Expected a provider named "zz" here, got none');
    void runtime.shutdown({ deadlineMs: 0 });
    expect(thrown(() => runtime.adopt(adopted(clock.now(), 's-3'))).code).toBe('SHUTTING_DOWN');
  });

  it('times a session out at once when it arrives past its queue deadline', async () => {
    const { clock, provider, runtime } = setup();
    const seen: string[] = [];
    runtime.subscribe((event) => seen.push(event.type));
    clock.increment(5000);
    const handle = runtime.adopt(adopted(0, 's-4', { queueTimeoutMs: 1000 }));
    const result = await handle.result;
    expect(result).toMatchObject({
      ok: false,
      error: { code: 'TIMED_OUT', timeout: 'queue' },
    });
    // Queued, then ended: ended first, a listener (the dashboard, tracing) kept it queued for good.
    expect(seen).toEqual(['session.queued', 'session.ended']);
    // Nothing was cut from a caller it was not told about.
    expect(result.metadata.truncated ?? false).toBe(false);
    expect(provider.calls).toHaveLength(0);
  });

  it('resumes a session taken over on the fallback target it had reached, its route so far kept', async () => {
    const { clock, provider, other, runtime } = setup();
    const session = adopted(0, 's-8');
    const targets = [
      { provider: 'p', model: 'm', contextWindow: null, fits: true },
      { provider: 'q', model: 'm2', contextWindow: null, fits: true },
    ];
    clock.increment(300);
    const routing = {
      target: 1,
      since: 200,
      firstAttempt: 2,
      left: 0,
      route: [{ provider: 'p', model: 'm', attempts: 1, outcome: 'failed', code: 'PROVIDER_ERROR' }],
    };
    const handle = runtime.adopt({
      ...session,
      input: { ...session.input, targets },
      restore: { attempts: 1, startedAt: 100, runDeadlineAt: 100_000, routing } as never,
    });
    expect(runtime.session('s-8')?.state).toBe('running');
    clock.increment(1);
    await flush();
    expect(provider.calls).toHaveLength(0);
    expect(other.calls.map((c) => c.request.model)).toEqual(['m2']);
    expect(runtime.runRecord('s-8')?.routing).toMatchObject({ target: 1, left: 0 });
    other.pending()[0]?.settle('ok');
    expect((await handle.result).metadata).toMatchObject({ provider: 'q', model: 'm2', attempts: 2 });
  });

  it('shows a session taken over as running between attempts while it waits for a slot', async () => {
    const { clock, provider, runtime } = setup({ limits: { maxConcurrent: 1 } });
    const busy = runtime.submit(ask);
    clock.increment(300);
    const handle = runtime.adopt({
      ...adopted(0, 's-10'),
      restore: { attempts: 1, startedAt: 100, runDeadlineAt: 100_000 },
    });
    expect(runtime.session('s-10')?.state).toBe('running');
    for await (const event of handle.events) {
      expect(event.type).toBe('session.started');
      break;
    }
    provider.pending()[0]?.settle('ok');
    await busy.result;
    // Its next attempt goes once the slot is free.
    for (let i = 0; i < 2000 && provider.calls.length < 2; i += 50) {
      clock.increment(50);
      await flush();
    }
    expect(provider.calls).toHaveLength(2);
    await stop(runtime, clock);
  });

  it('keeps a session taken over past its queue deadline waiting for a slot, without calling', async () => {
    const { clock, provider, runtime } = setup({ limits: { maxConcurrent: 1 } });
    const busy = runtime.submit(ask);
    clock.increment(300);
    const handle = runtime.adopt({
      ...adopted(0, 's-11', { queueTimeoutMs: 100 }),
      restore: { attempts: 1, startedAt: 50, runDeadlineAt: 100_000 },
    });
    expect(provider.calls).toHaveLength(1);
    clock.increment(1);
    await flush();
    expect(provider.calls).toHaveLength(1);
    expect(runtime.status()).toMatchObject({ running: 1, queued: 1 });
    provider.pending()[0]?.settle('ok');
    await busy.result;
    for (let i = 0; i < 2000 && provider.calls.length < 2; i += 50) {
      clock.increment(50);
      await flush();
    }
    expect(provider.calls).toHaveLength(2);
    provider.pending()[0]?.settle('ok');
    expect((await handle.result).metadata.attempts).toBe(2);
  });

  it('resumes a session taken over without fallbacks with no route', async () => {
    const { clock, provider, runtime } = setup();
    clock.increment(300);
    runtime.adopt({
      ...adopted(0, 's-9'),
      restore: { attempts: 1, startedAt: 100, runDeadlineAt: 100_000, routing: { target: 0 } } as never,
    });
    clock.increment(1);
    await flush();
    expect(provider.calls).toHaveLength(1);
    expect(runtime.runRecord('s-9')).toStrictEqual({ attempts: 2, startedAt: 100, runDeadlineAt: 100_000 });
    await stop(runtime, clock);
  });

  it('resumes a session taken over from a lost instance as a further attempt, under its first run deadline', async () => {
    const { clock, provider, runtime } = setup();
    clock.increment(300);
    const handle = runtime.adopt({
      ...adopted(0, 's-5'),
      restore: { attempts: 1, startedAt: 100, runDeadlineAt: 1100 },
    });
    // It resumes between attempts: the next one goes when its retry time (now) comes.
    expect(runtime.session('s-5')?.state).toBe('running');
    clock.increment(1);
    await flush();
    expect(provider.calls).toHaveLength(1);
    expect(runtime.runRecord('s-5')).toEqual({ attempts: 2, startedAt: 100, runDeadlineAt: 1100 });
    clock.increment(799);
    expect(await handle.result).toMatchObject({
      ok: false,
      error: { code: 'TIMED_OUT', timeout: 'run' },
      metadata: { attempts: 2 },
    });
  });

  it('moves a rerouted session on to its next target at once', async () => {
    const { clock, provider, other, runtime } = setup();
    const session = adopted(clock.now(), 's-6');
    const targets = [
      { provider: 'p', model: 'm', contextWindow: null, fits: true },
      { provider: 'q', model: 'm2', contextWindow: null, fits: true },
    ];
    const handle = runtime.adopt({
      ...session,
      input: { ...session.input, targets },
      reroute: { family: 'provider', code: 'RATE_LIMITED', message: 'cooling down', retryable: true },
    });
    await flush();
    expect(provider.calls).toHaveLength(0);
    const record = runtime.runRecord('s-6');
    expect(record?.routing).toMatchObject({ target: 1 });
    // Its call goes to the target's own provider, with the target's model.
    clock.increment(1);
    await flush();
    expect(provider.calls).toHaveLength(0);
    expect(other.calls.map((c) => c.request.model)).toEqual(['m2']);
    await stop(runtime, clock);
    expect((await handle.result).metadata).toMatchObject({ provider: 'q', model: 'm2' });
  });
});

describe('runRecord', () => {
  it('is undefined for a session unknown or still queued', async () => {
    const { clock, runtime } = setup({ limits: { maxConcurrent: 1 } });
    runtime.submit(ask);
    const queued = runtime.submit(ask);
    expect(runtime.runRecord('nope')).toBeUndefined();
    expect(runtime.runRecord(queued.id)).toBeUndefined();
    await stop(runtime, clock);
  });
});

describe('status, sessions, cancel and metrics', () => {
  it('shows the queue, the limits and the recent sessions; breakers and provider limits only when set', async () => {
    const { clock, runtime, provider } = setup({ limits: { maxConcurrent: 1, maxQueued: 9 } });
    const first = runtime.submit(ask);
    runtime.submit(ask, { priority: 7 });
    const status = runtime.status();
    expect(status).toMatchObject({
      state: 'accepting',
      queued: 1,
      running: 1,
      queuedByPriority: { 7: 1 },
      maxConcurrent: 1,
      maxQueued: 9,
      recent: [],
    });
    expect('breakers' in status).toBe(false);
    expect('limits' in status).toBe(false);
    expect(runtime.sessions().map((s) => s.state)).toEqual(['running', 'queued']);
    expect(runtime.sessions({ limit: 1 })).toHaveLength(1);
    provider.pending()[0]?.settle('ok');
    await first.result;
    expect(runtime.status().recent.map((s) => s.sessionId)).toEqual([first.id]);
    await stop(runtime, clock);
  });

  it('shows at most 20 recent sessions unless asked for more', async () => {
    const { runtime, provider } = setup({ limits: { maxConcurrent: 30 } });
    const handles = Array.from({ length: 22 }, () => runtime.submit(ask));
    for (const call of provider.pending()) call.settle('ok');
    await Promise.all(handles.map((h) => h.result));
    expect(runtime.status().recent).toHaveLength(20);
    expect(runtime.status({ recent: 22 }).recent).toHaveLength(22);
    // A page after a cursor: the next older ones, read on from its entry.
    const all = runtime.status({ recent: 22 }).recent.map((s) => s.sessionId);
    const page = runtime.status({ recent: 3, after: all[5] }).recent.map((s) => s.sessionId);
    expect(page).toEqual(all.slice(6, 9));
    await runtime.shutdown();
  });

  it('shows breakers when they are on, and what limited providers have left', async () => {
    const { runtime } = setup({ breakers: true, limits: { providers: { p: { requestsPerMinute: 5 } } } });
    const status = runtime.status();
    expect(Array.isArray(status.breakers)).toBe(true);
    expect(Object.keys(status.limits ?? {})).toEqual(['p']);
    expect(runtime.metrics().limits).toMatchObject({
      rateLimited: 0,
      cooldowns: 0,
      waits: { requestsPerMinute: 0 },
    });
    await runtime.shutdown();
  });

  it('cancels by id with a default reason, and says false for an unknown id', async () => {
    const { runtime } = setup();
    const handle = runtime.submit(ask);
    expect(runtime.cancel('nope')).toBe(false);
    expect(runtime.cancel(handle.id)).toBe(true);
    expect(await handle.result).toMatchObject({
      error: { code: 'CANCELLED', message: 'Cancelled: cancelled by request' },
    });
  });

  it('counts submissions, ends and tokens in metrics', async () => {
    const { runtime, provider } = setup();
    const handle = runtime.submit(ask);
    provider.pending()[0]?.settle('ok');
    await handle.result;
    expect(runtime.metrics()).toMatchObject({
      submitted: 1,
      ended: { done: 1 },
      tokens: { prompt: 1, completion: 2 },
      queued: 0,
      running: 0,
    });
    await runtime.shutdown();
  });
});

describe('around the queue', () => {
  it('lists every provider as a lane before anything is submitted', async () => {
    const { clock, runtime } = setup({ limits: { maxConcurrent: 4, perProvider: { q: 2 } } });
    expect(runtime.status().providers).toEqual([
      { name: 'p', queued: 0, running: 0, limit: null },
      { name: 'q', queued: 0, running: 0, limit: 2 },
    ]);
    await stop(runtime, clock);
  });

  it('tells a listener where a new session waits in the queue', async () => {
    const { clock, runtime } = setup({ limits: { maxConcurrent: 1 } });
    const queued: unknown[] = [];
    runtime.subscribe((event) => {
      if (event.type === 'session.queued') queued.push([event.sessionId, event.position, event.at]);
    });
    clock.increment(7);
    const first = runtime.submit(ask);
    const second = runtime.submit(ask);
    const third = runtime.submit(ask);
    expect(queued).toEqual([
      [first.id, 0, 7],
      [second.id, 0, 7],
      [third.id, 1, 7],
    ]);
    await stop(runtime, clock);
  });

  it('times out a session that arrives exactly at its queue deadline, without waiting for a tick', async () => {
    const { clock, provider, runtime } = setup();
    clock.increment(1000);
    const handle = runtime.adopt(adopted(0, 's-7', { queueTimeoutMs: 1000 }));
    const state = await Promise.race([
      handle.result.then((r) => r.metadata.state),
      flush().then(() => 'pending'),
    ]);
    expect(state).toBe('timedOut');
    expect(provider.calls).toHaveLength(0);
  });

  it('shows at most 100 sessions unless asked for more', async () => {
    const { clock, runtime } = setup({ limits: { maxConcurrent: 1 } });
    for (let i = 0; i < 101; i++) runtime.submit(ask);
    expect(runtime.sessions()).toHaveLength(100);
    expect(runtime.sessions({ limit: 101 })).toHaveLength(101);
    await stop(runtime, clock);
  });

  it('says which provider limit holds a queued session back, and admits it when the limit allows', async () => {
    const { clock, provider, runtime } = setup({ limits: { providers: { p: { requestsPerMinute: 1 } } } });
    const first = runtime.submit(ask);
    const held = runtime.submit(ask, { queueTimeoutMs: 300_000 });
    expect(provider.calls).toHaveLength(1);
    expect(runtime.session(held.id)).toMatchObject({ state: 'queued', waitingFor: 'requestsPerMinute' });
    expect(runtime.metrics().limits?.waits).toMatchObject({ requestsPerMinute: 1 });
    provider.pending()[0]?.settle('ok');
    await first.result;
    clock.increment(59_000);
    await flush();
    expect(provider.calls).toHaveLength(1);
    clock.increment(2001);
    await flush();
    expect(provider.calls).toHaveLength(2);
    expect(runtime.status().limits?.p).toMatchObject({ remaining: { requestsPerMinute: 0 } });
    await stop(runtime, clock);
  });

  it('holds a retry its provider limit does not allow yet, then lets it go', async () => {
    const { clock, provider, runtime } = setup({ limits: { providers: { p: { requestsPerMinute: 1 } } } });
    const handle = runtime.submit(ask, { timeoutMs: 120_000 });
    provider.pending()[0]?.settle('retryable');
    await flush();
    clock.increment(1000);
    await flush();
    // The backoff is over, but the minute's only request is spent: the retry waits.
    expect(provider.calls).toHaveLength(1);
    clock.increment(58_000);
    await flush();
    expect(provider.calls).toHaveLength(1);
    clock.increment(2001);
    await flush();
    expect(provider.calls).toHaveLength(2);
    provider.pending()[0]?.settle('ok');
    expect((await handle.result).metadata.attempts).toBe(2);
  });

  it('reports limits from a shared state read at once (in memory), leaves them out of one read only asynchronously, and breakers out when off', async () => {
    const clock = new SimulatedClock();
    const { MemorySharedState } = await import('../../../src/runtime/memory-state.js');
    const memory = new MemorySharedState(clock);
    // A port-only state (as Redis is): its backend reports the limits, from its own view.
    const portOnly = { update: memory.update.bind(memory), read: memory.read.bind(memory) };
    for (const sharedState of [memory, portOnly]) {
      const runtime = createLocalRuntime({
        providers: [new ScriptedProvider('p')],
        clock,
        defaults: { model: 'm' },
        limits: { providers: { p: { requestsPerMinute: 5 } } },
        sharedState,
        breakers: false,
      });
      const status = runtime.status();
      expect(status.limits?.p?.remaining.requestsPerMinute).toBe(sharedState === memory ? 5 : undefined);
      expect('limits' in status).toBe(sharedState === memory);
      expect('breakers' in status).toBe(false);
      await stop(runtime, clock);
    }
  });
});

describe('shutdown', () => {
  it('waits 10 s by default, then cancels what is left, saying why', async () => {
    const { clock, runtime } = setup();
    const stuck = runtime.submit(ask);
    let done = false;
    const report = runtime.shutdown().then((r) => {
      done = true;
      return r;
    });
    clock.increment(9_999);
    await flush();
    expect(done).toBe(false);
    clock.increment(1);
    for (let i = 0; i < 3; i++) {
      await flush();
      clock.increment(1);
    }
    expect(await report).toEqual({ finished: 0, cancelled: [stuck.id] });
    expect(await stuck.result).toMatchObject({
      error: {
        code: 'SHUTTING_DOWN',
        message: expect.stringContaining('the runtime shut down before it finished (drain deadline passed)'),
      },
    });
  });

  it('admits nothing more once the drain deadline passed', async () => {
    const { clock, provider, runtime } = setup({ limits: { maxConcurrent: 1 } });
    runtime.submit(ask);
    const queued = runtime.submit(ask);
    await stop(runtime, clock);
    expect(provider.calls).toHaveLength(1);
    expect((await queued.result).metadata.state).toBe('cancelled');
  });
});

describe('errors nobody handles', () => {
  it('go to a process warning without `onError`', async () => {
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    try {
      const { clock, provider, runtime } = setup({ onError: undefined });
      runtime.subscribe(() => {
        throw new Error('listener bug');
      });
      const handle = runtime.submit(ask);
      provider.pending()[0]?.settle('ok');
      await handle.result;
      expect(warn).toHaveBeenCalledWith('listener bug', {
        type: 'Error',
        code: 'TROUPE_LISTENER_ERROR',
        detail: expect.stringContaining('listener bug'),
      });
      await stop(runtime, clock);
    } finally {
      warn.mockRestore();
    }
  });
});

describe('runRecord with fallbacks', () => {
  it('includes the route only for a session that has one', async () => {
    const { clock, runtime } = setup();
    const plain = runtime.submit(ask);
    const routed = runtime.submit({ ...ask, fallbacks: [{ provider: 'q', model: 'm2' }] });
    await flush();
    expect(runtime.runRecord(plain.id)).toStrictEqual({ attempts: 1, startedAt: 0, runDeadlineAt: 120_000 });
    expect(runtime.runRecord(routed.id)).toMatchObject({ attempts: 1, routing: { target: 0 } });
    await stop(runtime, clock);
  });
});

describe('cooldowns', () => {
  it('moves a session queued behind a provider that cools down past its queue deadline on to its fallback at once', async () => {
    const { clock, provider, other, runtime } = setup({
      limits: { providers: { p: { requestsPerMinute: 100 } } },
    });
    const first = runtime.submit(ask, { maxAttempts: 1 });
    // A 429 with a 500 ms hint: p cools down until 500.
    provider.pending()[0]?.settle('rateLimited');
    await first.result;
    const waiting = runtime.submit(
      { ...ask, fallbacks: [{ provider: 'q', model: 'm2' }] },
      { queueTimeoutMs: 200 },
    );
    const patient = runtime.submit(
      { ...ask, fallbacks: [{ provider: 'q', model: 'm2' }] },
      { queueTimeoutMs: 5000 },
    );
    await flush();
    // Moved on at once, to its fallback's provider and model; the one that can wait, waits.
    expect(runtime.session(waiting.id)).toMatchObject({ state: 'running', provider: 'q', model: 'm2' });
    clock.increment(1);
    await flush();
    expect(other.calls).toHaveLength(1);
    expect(other.calls[0]?.request.model).toBe('m2');
    expect(runtime.session(patient.id)).toMatchObject({ state: 'queued', waitingFor: 'cooldown' });
    await stop(runtime, clock);
  });
});

describe('options the runtime composes', () => {
  it('starts one span per session on the tracer it is given', async () => {
    const names: string[] = [];
    const ended: string[] = [];
    const tracer = {
      startSpan: (name: string) => {
        names.push(name);
        return {
          setAttributes: () => undefined,
          addEvent: () => undefined,
          setStatus: () => undefined,
          end: () => {
            ended.push(name);
          },
        };
      },
    };
    const { runtime, provider } = setup({ tracer });
    const handle = runtime.submit(ask);
    expect(names).toEqual(['troupe.session']);
    provider.pending()[0]?.settle('ok');
    await handle.result;
    expect(ended).toEqual(['troupe.session']);
    await runtime.shutdown();
  });

  it('opens a provider breaker after the failures its options name (5 by default)', async () => {
    for (const [breakers, state] of [
      [{ failures: 1 }, 'open'],
      [true, 'closed'],
    ] as const) {
      const { runtime, provider } = setup({ breakers });
      const handle = runtime.submit(ask, { maxAttempts: 1 });
      provider.pending()[0]?.settle('retryable');
      await handle.result;
      const view = runtime.status().breakers?.find((b) => b.provider === 'p');
      expect(view).toMatchObject({ state, threshold: breakers === true ? 5 : 1 });
      await runtime.shutdown();
    }
  });

  it('refuses a session once its budget is spent or reserved', async () => {
    const { runtime, provider } = setup({
      budgets: { global: 0.001 },
      prices: { p: { m: { input: 0, output: 10, currency: 'USD' } } },
    });
    const first = runtime.submit({ ...ask, max_tokens: 1000 });
    await flush();
    expect(provider.calls).toHaveLength(1);
    expect(thrown(() => runtime.submit({ ...ask, max_tokens: 1000 })).code).toBe('BUDGET_EXCEEDED');
    provider.pending()[0]?.settle('ok');
    expect((await first.result).ok).toBe(true);
    await runtime.shutdown();
  });

  it('draws retry jitter from the random source it is given', async () => {
    const { clock, provider, runtime } = setup({
      random: () => 0.5,
      defaults: { provider: 'p', model: 'm', backoffBaseMs: 1000, backoffMaxMs: 1000 },
    });
    const handle = runtime.submit(ask);
    provider.pending()[0]?.settle('retryable');
    await flush();
    clock.increment(499);
    await flush();
    expect(provider.calls).toHaveLength(1);
    clock.increment(1);
    await flush();
    expect(provider.calls).toHaveLength(2);
    provider.pending()[0]?.settle('ok');
    expect((await handle.result).metadata.attempts).toBe(2);
  });
});

describe("the caller's signal", () => {
  it('cancels a session whose signal is already aborted, with its reason', async () => {
    const { runtime, provider } = setup();
    const controller = new AbortController();
    controller.abort('not needed');
    const handle = runtime.submit(ask, { signal: controller.signal });
    expect(await handle.result).toMatchObject({ ok: false, error: { code: 'CANCELLED' } });
    expect(provider.pending()).toHaveLength(0);
    await runtime.shutdown();
  });

  it('cancels a running session when its signal aborts, and leaves no listener on it once ended', async () => {
    const { EventEmitter } = await import('node:events');
    const getEventListeners = EventEmitter.getEventListeners;
    const { runtime, provider } = setup();
    const controller = new AbortController();
    const handle = runtime.submit(ask, { signal: controller.signal });
    expect(provider.pending()).toHaveLength(1);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1);
    controller.abort('not needed');
    expect(await handle.result).toMatchObject({ ok: false, error: { code: 'CANCELLED' } });
    expect(provider.pending()).toHaveLength(0);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    const done = new AbortController();
    const finished = runtime.submit(ask, { signal: done.signal });
    provider.pending()[0]?.settle('ok');
    expect((await finished.result).ok).toBe(true);
    expect(getEventListeners(done.signal, 'abort')).toHaveLength(0);
    await runtime.shutdown();
  });
});

describe('handles', () => {
  it("cancel their own session with the caller's reason, and stream its events", async () => {
    const { runtime, provider } = setup({ limits: { maxConcurrent: 1 } });
    const running = runtime.submit(ask);
    const queued = runtime.submit(ask);
    const first = async (handle: typeof running) => {
      for await (const event of handle.events) return event.type;
      return 'none';
    };
    for await (const event of queued.events) {
      expect(event).toMatchObject({ type: 'session.queued', position: 0 });
      break;
    }
    expect(await first(running)).toBe('session.started');
    expect(await first(queued)).toBe('session.queued');
    expect(queued.cancel()).toBe(true);
    expect(await queued.result).toMatchObject({
      error: { code: 'CANCELLED', message: 'Cancelled: cancelled by the caller' },
    });
    expect(await first(queued)).toBe('session.ended');
    provider.pending()[0]?.settle('ok');
    await running.result;
    await runtime.shutdown();
  });

  it('run a task and hand back its value', async () => {
    const { runtime } = setup();
    const handle = runtime.run(async () => 42, { lane: 'tasks' });
    expect(await handle.result).toMatchObject({ ok: true, value: 42 });
    await runtime.shutdown();
  });
});

describe('draining', () => {
  it('tells listeners it drains, and finishes once the running session ends, before its deadline', async () => {
    const { runtime, provider } = setup();
    const events: string[] = [];
    runtime.subscribe((event) => {
      if (event.type.startsWith('supervisor.')) events.push(event.type);
    });
    const handle = runtime.submit(ask);
    const report = runtime.shutdown({ deadlineMs: 60_000 });
    expect(events).toEqual(['supervisor.draining']);
    provider.pending()[0]?.settle('ok');
    expect((await handle.result).ok).toBe(true);
    expect(await report).toEqual({ finished: 1, cancelled: [] });
    expect(events).toEqual(['supervisor.draining', 'supervisor.stopped']);
  });
});

describe('cooldowns with the global limit full', () => {
  it('moves a session on to its fallback once a slot frees, and releases the fallback provider when it ends', async () => {
    const { clock, provider, other, runtime } = setup({
      limits: { maxConcurrent: 1, providers: { p: { requestsPerMinute: 100 } } },
    });
    const first = runtime.submit(ask, { maxAttempts: 1 });
    // A 429 with a 500 ms hint: p cools down until 500.
    provider.pending()[0]?.settle('rateLimited');
    await first.result;
    const busy = runtime.submit({ ...ask, provider: 'q' });
    const waiting = runtime.submit(
      { ...ask, fallbacks: [{ provider: 'q', model: 'm2' }] },
      { queueTimeoutMs: 200 },
    );
    await flush();
    // No global room: it waits in the queue, still for p.
    expect(runtime.session(waiting.id)).toMatchObject({ state: 'queued' });
    expect(other.calls).toHaveLength(1);
    other.pending()[0]?.settle('ok');
    await busy.result;
    await flush();
    expect(runtime.session(waiting.id)).toMatchObject({ state: 'running', provider: 'q', model: 'm2' });
    clock.increment(1);
    await flush();
    expect(other.calls).toHaveLength(2);
    expect(other.calls[1]?.request.model).toBe('m2');
    other.pending()[0]?.settle('ok');
    expect((await waiting.result).ok).toBe(true);
    expect(runtime.status()).toMatchObject({ running: 0, queued: 0 });
    expect(runtime.status().providers.map((p) => [p.name, p.running])).toEqual([
      ['p', 0],
      ['q', 0],
    ]);
    // The freed slot admits the next session at once.
    const next = runtime.submit({ ...ask, provider: 'q' });
    expect(other.calls).toHaveLength(3);
    other.pending()[0]?.settle('ok');
    await next.result;
    await stop(runtime, clock);
  });
});

describe('cooldowns found while the last slot is taken', () => {
  it('keeps the session that must move on, and moves it when the next slot frees', async () => {
    const { clock, provider, other, runtime } = setup({
      limits: { maxConcurrent: 2, providers: { p: { requestsPerMinute: 100 } } },
    });
    const first = runtime.submit(ask, { maxAttempts: 1 });
    provider.pending()[0]?.settle('rateLimited');
    await first.result;
    // Both slots taken; then a session for p (cooling down until 500) and one for q queue.
    const busy = [runtime.submit({ ...ask, provider: 'q' }), runtime.submit({ ...ask, provider: 'q' })];
    const waiting = runtime.submit(
      { ...ask, fallbacks: [{ provider: 'q', model: 'm2' }] },
      { queueTimeoutMs: 200 },
    );
    const filler = runtime.submit({ ...ask, provider: 'q' });
    expect(other.calls).toHaveLength(2);
    other.pending()[0]?.settle('ok');
    await busy[0]?.result;
    await flush();
    // The freed slot went to the one that could take it; the other still waits, for its fallback.
    expect(runtime.session(filler.id)?.state).toBe('running');
    expect(runtime.session(waiting.id)?.state).toBe('queued');
    other.pending()[0]?.settle('ok');
    await busy[1]?.result;
    await flush();
    expect(runtime.session(waiting.id)).toMatchObject({ state: 'running', provider: 'q', model: 'm2' });
    clock.increment(1);
    await flush();
    expect(other.calls.map((c) => c.request.model)).toEqual(['m', 'm', 'm', 'm2']);
    await stop(runtime, clock);
  });

  it('gives back only the global slot of a session cancelled between providers', async () => {
    const { clock, provider, other, runtime } = setup({
      limits: { maxConcurrent: 4, perProvider: { q: 1 }, providers: { p: { requestsPerMinute: 100 } } },
    });
    const first = runtime.submit(ask, { maxAttempts: 1 });
    provider.pending()[0]?.settle('rateLimited');
    await first.result;
    const busy = runtime.submit({ ...ask, provider: 'q' });
    const waiting = runtime.submit(
      { ...ask, fallbacks: [{ provider: 'q', model: 'm2' }] },
      { queueTimeoutMs: 200 },
    );
    await flush();
    expect(runtime.status()).toMatchObject({ running: 2 });
    expect(waiting.cancel()).toBe(true);
    await waiting.result;
    expect(runtime.status().running).toBe(1);
    expect(runtime.status().providers.map((p) => [p.name, p.running])).toEqual([
      ['p', 0],
      ['q', 1],
    ]);
    other.pending()[0]?.settle('ok');
    await busy.result;
    await stop(runtime, clock);
  });
});
