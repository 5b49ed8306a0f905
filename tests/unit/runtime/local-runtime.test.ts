/**
 * The in-memory runtime's composition, with a scripted provider and a simulated clock: which
 * backend `createRuntime` builds, what a scale-out backend hands it (`adopt`, `runRecord`), and
 * what `status`, `sessions`, `cancel` and `metrics` show. Each runtime here holds a few sessions.
 */
import { describe, expect, it, vi } from 'vitest';
import { SimulatedClock } from 'xstate';
import { TroupeError } from '../../../src/core/errors.js';
import type { LocalRuntime } from '../../../src/runtime/backend.js';
import { createLocalRuntime } from '../../../src/runtime/local-runtime.js';
import { resolveDefaults, resolveSubmitOptions, sessionInput } from '../../../src/runtime/options.js';
import { createRuntime } from '../../../src/runtime/runtime.js';
import type { RuntimeOptions } from '../../../src/runtime/types.js';
import { ScriptedProvider } from '../../../src/testing/scripted-provider.js';

const flush = () => new Promise((resolve) => setImmediate(resolve));
const ask = { messages: [{ role: 'user' as const, content: 'hello' }] };

function setup(options: Partial<RuntimeOptions> = {}) {
  const clock = new SimulatedClock();
  const provider = new ScriptedProvider('p');
  const runtime = createLocalRuntime({
    providers: [provider, new ScriptedProvider('q')],
    clock,
    defaults: { provider: 'p', model: 'm' },
    limits: { maxConcurrent: 4 },
    random: () => 0,
    ...options,
  });
  return { clock, provider, runtime };
}

/** What a shared queue hands over: a session admitted elsewhere at `now`. */
function adopted(now: number, id: string, overrides: { provider?: string; queueTimeoutMs?: number } = {}) {
  const resolved = resolveSubmitOptions(
    { queueTimeoutMs: overrides.queueTimeoutMs ?? 1000 },
    resolveDefaults(),
  );
  const input = sessionInput(
    { sessionId: id, requestId: undefined },
    { lane: overrides.provider ?? 'p', model: 'm', stream: false },
    now,
    resolved,
    resolveDefaults({ backoffBaseMs: 0, backoffMaxMs: 0 }),
  );
  return { input, request: { model: 'm', messages: ask.messages } };
}

/** Shuts down, cancelling what is left: the simulated clock runs the drain deadline. */
async function stop(runtime: LocalRuntime, clock: SimulatedClock) {
  const report = runtime.shutdown({ deadlineMs: 0 });
  for (let i = 0; i < 5; i++) {
    clock.increment(1);
    await flush();
  }
  return report;
}

function thrown(fn: () => unknown): TroupeError {
  try {
    fn();
  } catch (error) {
    if (error instanceof TroupeError) return error;
    throw error;
  }
  throw new Error('Expected a throw, got none');
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
    clock.increment(5000);
    const handle = runtime.adopt(adopted(0, 's-4', { queueTimeoutMs: 1000 }));
    expect(await handle.result).toMatchObject({
      ok: false,
      error: { code: 'TIMED_OUT', timeout: 'queue' },
    });
    expect(provider.calls).toHaveLength(0);
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
    const { clock, provider, runtime } = setup();
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
