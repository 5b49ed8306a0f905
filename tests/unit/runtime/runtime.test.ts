import { describe, expect, it } from 'vitest';
import { SimulatedClock } from 'xstate';
import { createSimulatedProvider } from '../../../src/providers/simulated.js';
import { createRuntime } from '../../../src/runtime/runtime.js';
import type { RuntimeEvent, SessionEvent } from '../../../src/runtime/types.js';
import { ScriptedProvider } from '../../../src/testing/scripted-provider.js';
import { thrown } from '../../support/thrown.js';

const flush = () => new Promise((resolve) => setImmediate(resolve));
const ask = { messages: [{ role: 'user' as const, content: 'hello' }] };

function setup(limits = {}, provider = new ScriptedProvider('p')) {
  const clock = new SimulatedClock();
  const runtime = createRuntime({
    providers: [provider],
    clock,
    defaults: { model: 'm' },
    limits,
    random: () => 0,
  });
  return { clock, runtime, provider };
}

describe('runtime', () => {
  it('returns a result with full session metadata', async () => {
    const { clock, runtime, provider } = setup({ maxConcurrent: 1 });
    const first = runtime.submit(ask, {
      requestId: 'req-1',
      priority: 7,
      metadata: { user: 'u1' },
      label: 'chat',
    });
    const second = runtime.submit(ask);
    clock.increment(40);
    provider.pending()[0]!.settle('ok');
    await flush();
    clock.increment(10);
    provider.pending()[0]!.settle('ok');
    const [a, b] = await Promise.all([first.result, second.result]);
    expect(a).toMatchObject({
      ok: true,
      content: 'answer 0',
      metadata: {
        sessionId: first.id,
        requestId: 'req-1',
        provider: 'p',
        model: 'm',
        priority: 7,
        state: 'done',
        queuedMs: 0,
        runMs: 40,
        totalMs: 40,
        attempts: 1,
        usage: { promptTokens: 1, completionTokens: 2, totalTokens: 3 },
        caller: { user: 'u1' },
        label: 'chat',
      },
    });
    expect(b.metadata).toMatchObject({ queuedMs: 40, runMs: 10, totalMs: 50, requestId: second.id });
  });

  it('refuses a full queue with QUEUE_FULL and loses nothing already queued', async () => {
    const { runtime, provider } = setup({ maxConcurrent: 1, maxQueued: 1 });
    const running = runtime.submit(ask);
    const queued = runtime.submit(ask);
    const error = thrown(() => runtime.submit(ask));
    expect(error.code).toBe('QUEUE_FULL');
    expect(error.message).toMatch(/limit 1/);
    provider.pending()[0]!.settle('ok');
    await flush();
    provider.pending()[0]!.settle('ok');
    expect((await running.result).ok && (await queued.result).ok).toBe(true);
    expect(runtime.metrics().rejected).toEqual({ QUEUE_FULL: 1 });
  });

  it('explains invalid options and unknown providers', () => {
    const { runtime } = setup();
    expect(thrown(() => runtime.submit(ask, { priority: 12 })).message).toBe(
      'Expected `priority` to be an integer from 0 to 9, got `12` (number)',
    );
    expect(thrown(() => runtime.submit(ask, { timeoutMs: -1 })).code).toBe('INVALID_REQUEST');
    const unknown = thrown(() => runtime.submit({ ...ask, provider: 'nope' }));
    expect(unknown.code).toBe('UNKNOWN_PROVIDER');
    expect(unknown.message).toContain('"p"');
  });

  it('a timeout aborts the provider call: nothing keeps running after its session ended', async () => {
    const { clock, runtime, provider } = setup();
    const handle = runtime.submit(ask, { timeoutMs: 1000 });
    await flush();
    const call = provider.calls[0]!;
    clock.increment(999);
    expect(call.signal.aborted).toBe(false);
    clock.increment(1);
    const result = await handle.result;
    expect(result).toMatchObject({ ok: false, error: { code: 'TIMED_OUT', timeout: 'run' } });
    expect(call.signal.aborted).toBe(true);
  });

  it('cancels by handle, by id and by an outside signal (even one aborted already)', async () => {
    const { runtime, provider } = setup({ maxConcurrent: 5 });
    const byHandle = runtime.submit(ask);
    const byId = runtime.submit(ask);
    const controller = new AbortController();
    const bySignal = runtime.submit(ask, { signal: controller.signal });
    const preAborted = runtime.submit(ask, { signal: AbortSignal.abort('too late') });
    await flush();
    expect(byHandle.cancel('not needed')).toBe(true);
    expect(runtime.cancel(byId.id)).toBe(true);
    controller.abort();
    const results = await Promise.all([byHandle, byId, bySignal, preAborted].map((h) => h.result));
    expect(results.map((r) => r.metadata.state)).toEqual([
      'cancelled',
      'cancelled',
      'cancelled',
      'cancelled',
    ]);
    expect(results[0]).toMatchObject({ error: { code: 'CANCELLED', message: 'Cancelled: not needed' } });
    expect(results[3]).toMatchObject({ error: { message: expect.stringContaining('too late') } });
    expect(provider.calls.every((c) => c.signal.aborted)).toBe(true);
    expect(byHandle.cancel()).toBe(false);
  });

  it('retries a retryable failure after backoff, counting attempts', async () => {
    const { clock, runtime, provider } = setup();
    const retries: RuntimeEvent[] = [];
    runtime.subscribe((e) => e.type === 'session.retry' && retries.push(e));
    const handle = runtime.submit(ask);
    await flush();
    provider.pending()[0]!.settle('retryable');
    await flush();
    expect(provider.pending()).toHaveLength(0);
    clock.increment(1);
    await flush();
    provider.pending()[0]!.settle('ok');
    const result = await handle.result;
    expect(result.metadata.attempts).toBe(2);
    expect(retries).toHaveLength(1);
    expect(runtime.metrics().retries).toBe(1);
  });

  it('streams events in order, starting from the current state', async () => {
    const clock = new SimulatedClock();
    const runtime = createRuntime({
      providers: [
        createSimulatedProvider({
          clock,
          latencyMs: { min: 0, max: 0 },
          tokensPerSec: 100,
          answerWords: { min: 3, max: 3 },
        }),
      ],
      clock,
      defaults: { model: 'sim-fast' },
      limits: { maxConcurrent: 1 },
    });
    const blocker = runtime.submit({ ...ask, extra: { simulate: 'hang' } });
    const handle = runtime.submit({ ...ask, stream: true });
    const seen: SessionEvent['type'][] = [];
    const reading = (async () => {
      for await (const event of handle.events) seen.push(event.type);
    })();
    blocker.cancel();
    for (let i = 0; i < 10; i++) {
      await flush();
      clock.increment(10);
    }
    await reading;
    expect(seen[0]).toBe('session.queued');
    expect(seen[1]).toBe('session.started');
    expect(seen.filter((t) => t === 'session.delta').length).toBeGreaterThanOrEqual(3);
    expect(seen.at(-1)).toBe('session.ended');
    expect((await handle.result).ok).toBe(true);
  });

  it('shuts down: refuses new work, lets work finish until the deadline, then cancels and reports the rest', async () => {
    const { clock, runtime, provider } = setup({ maxConcurrent: 1 });
    const finishing = runtime.submit(ask);
    const waiting = runtime.submit(ask);
    const stuck = runtime.submit(ask);
    const report = runtime.shutdown({ deadlineMs: 1000 });
    expect(thrown(() => runtime.submit(ask)).code).toBe('SHUTTING_DOWN');
    expect(runtime.status().state).toBe('draining');
    provider.pending()[0]!.settle('ok');
    await flush();
    provider.pending()[0]!.settle('ok');
    await flush();
    clock.increment(1000);
    const { finished, cancelled } = await report;
    // Two ended on their own; the one cancelled at the deadline is not counted as finished.
    expect(finished).toBe(2);
    expect(cancelled).toEqual([stuck.id]);
    expect((await finishing.result).ok && (await waiting.result).ok).toBe(true);
    expect(await stuck.result).toMatchObject({
      ok: false,
      error: { code: 'SHUTTING_DOWN' },
      metadata: { state: 'cancelled' },
    });
    expect(runtime.status().state).toBe('stopped');
    expect(await runtime.shutdown()).toEqual({ finished: 2, cancelled: [stuck.id] });
  });

  it('keeps only a bounded history of ended sessions', async () => {
    const { runtime, provider } = setup({ historySize: 2, maxConcurrent: 10 });
    const handles = Array.from({ length: 5 }, () => runtime.submit(ask));
    for (const call of provider.pending()) call.settle('ok');
    await Promise.all(handles.map((h) => h.result));
    expect(runtime.status({ recent: 10 }).recent.map((s) => s.sessionId)).toEqual([
      handles[4]!.id,
      handles[3]!.id,
    ]);
    expect(runtime.session(handles[0]!.id)).toBeUndefined();
    expect(runtime.session(handles[4]!.id)?.state).toBe('done');
    expect(runtime.sessions()).toEqual([]);
  });

  it('cuts oversized caller metadata and marks it, without failing the call', async () => {
    const { runtime, provider } = setup({ callerMetadataBytes: 50 });
    const handle = runtime.submit(ask, { metadata: { keep: 'yes', blob: 'x'.repeat(10_000) } });
    provider.pending()[0]!.settle('ok');
    const { metadata } = await handle.result;
    expect(metadata.caller).toEqual({ keep: 'yes' });
    expect(metadata.truncated).toBe(true);
  });

  it('a throwing subscriber goes to onError and breaks nothing', async () => {
    const errors: unknown[] = [];
    const provider = new ScriptedProvider('p');
    const runtime = createRuntime({
      providers: [provider],
      defaults: { model: 'm' },
      onError: (e) => errors.push(e),
    });
    runtime.subscribe(() => {
      throw new Error('listener bug');
    });
    const handle = runtime.submit(ask);
    provider.pending()[0]!.settle('ok');
    expect((await handle.result).ok).toBe(true);
    expect(errors.length).toBeGreaterThan(0);
  });
});

describe('runtime.run (any task as a session)', () => {
  it('runs a task under its lane limit with the session signal, and returns its value', async () => {
    const { runtime } = setup({ perProvider: { tools: 1 }, maxConcurrent: 10 });
    let inFlight = 0;
    let most = 0;
    const task = async () => {
      inFlight++;
      most = Math.max(most, inFlight);
      await flush();
      inFlight--;
      return { rows: 3 };
    };
    const handles = Array.from({ length: 4 }, () => runtime.run(task, { lane: 'tools', name: 'query' }));
    const results = await Promise.all(handles.map((h) => h.result));
    expect(most).toBe(1);
    expect(results[0]).toMatchObject({
      ok: true,
      value: { rows: 3 },
      metadata: { provider: 'tools', model: 'query', state: 'done' },
    });
  });

  it('aborts the task signal at its deadline and reports progress', async () => {
    const { clock, runtime } = setup();
    let signal: AbortSignal | undefined;
    const events: RuntimeEvent[] = [];
    runtime.subscribe((e) => events.push(e));
    const handle = runtime.run(
      ({ signal: s, progress }) => {
        signal = s;
        progress(1, 10, 'started');
        return new Promise(() => {});
      },
      { lane: 'work', timeoutMs: 500 },
    );
    await flush();
    clock.increment(500);
    expect(await handle.result).toMatchObject({ ok: false, error: { code: 'TIMED_OUT' } });
    expect(signal?.aborted).toBe(true);
    expect(events.find((e) => e.type === 'session.progress')).toMatchObject({
      progress: 1,
      total: 10,
      message: 'started',
    });
  });

  it('works with no chat providers at all, refusing chat clearly', async () => {
    const runtime = createRuntime({ providers: [] });
    const handle = runtime.run(async () => 42, { lane: 'jobs' });
    expect(await handle.result).toMatchObject({ ok: true, value: 42 });
    expect(thrown(() => runtime.submit({ ...ask, provider: 'kimi', model: 'k' })).message).toBe(
      'Expected a chat provider (this runtime has none), got "kimi"',
    );
  });

  it('a task that throws fails its session with the error, not the runtime', async () => {
    const { runtime } = setup();
    const handle = runtime.run(
      async () => {
        throw new Error('task bug');
      },
      { lane: 'work' },
    );
    expect(await handle.result).toMatchObject({
      ok: false,
      error: { code: 'INTERNAL', message: expect.stringContaining('task bug') },
    });
    expect(thrown(() => runtime.run(undefined as never, { lane: 'x' })).code).toBe('INVALID_REQUEST');
  });
});

describe('session engines', () => {
  /** One scripted scenario: a success, a retried failure, a cancel, and a session admitted later. */
  async function scenario(engine: 'compiled' | 'xstate', inspect?: (event: { type: string }) => void) {
    const provider = new ScriptedProvider('p');
    const clock = new SimulatedClock();
    const runtime = createRuntime({
      providers: [provider],
      clock,
      defaults: { model: 'm', backoffBaseMs: 100, queueTimeoutMs: 500 },
      limits: { maxConcurrent: 2 },
      random: () => 0.5,
      engine,
      ...(inspect === undefined ? {} : { inspect }),
    });
    const handles = [runtime.submit(ask), runtime.submit(ask), runtime.submit(ask), runtime.submit(ask)];
    const [first, second] = provider.pending();
    first!.settle('ok');
    second!.settle('retryable');
    await flush();
    handles[2]!.cancel('changed my mind');
    clock.increment(60);
    await flush();
    for (const call of provider.pending()) call.settle('ok');
    await flush();
    clock.increment(1_000);
    const results = await Promise.all(handles.map((h) => h.result));
    const recent = runtime.status({ recent: 10 }).recent;
    await runtime.shutdown();
    // Ids differ between runs; everything else must not.
    const strip = <T extends { sessionId: string; requestId: string }>({
      sessionId: _s,
      requestId: _r,
      ...rest
    }: T): Omit<T, 'sessionId' | 'requestId'> => rest;
    return {
      results: results.map((r) => ({ ...r, metadata: strip(r.metadata) })),
      recent: recent.map(strip),
      ids: handles.map((h) => h.id),
    };
  }

  it('the compiled default and real XState actors give the same results, metadata and history', async () => {
    const compiled = await scenario('compiled');
    const xstate = await scenario('xstate');
    expect(compiled.results.map((r) => r.metadata.state)).toEqual(['done', 'done', 'cancelled', 'done']);
    expect(compiled.results[1]!.metadata.attempts).toBe(2);
    expect(compiled.results).toEqual(xstate.results);
    expect(compiled.recent).toEqual(xstate.recent);
  });

  it('`inspect` attaches XState inspection to every session actor', async () => {
    const events: { type: string; actorRef?: { sessionId?: string }; snapshot?: { value?: unknown } }[] = [];
    const run = await scenario('xstate', (event) => events.push(event as never));
    const actors = events.filter((e) => e.type === '@xstate.actor');
    expect(actors).toHaveLength(4);
    const finals = events
      .filter((e) => e.type === '@xstate.snapshot')
      .map((e) => e.snapshot?.value)
      .filter((value) => typeof value === 'string' && value !== 'queued');
    expect(finals.sort()).toEqual(['cancelled', 'done', 'done', 'done']);
    expect(run.ids).toHaveLength(4);
  });

  it('refuses an engine it does not know, and a sample rate outside (0, 1]', () => {
    const base = { providers: [new ScriptedProvider('p')], defaults: { model: 'm' } };
    expect(thrown(() => createRuntime({ ...base, engine: 'fast' as never })).message).toBe(
      'Expected `engine` to be "compiled" or "xstate", got `"fast"` (string)',
    );
    for (const rate of [0, 1.5, Number.NaN]) {
      const error = thrown(() => createRuntime({ ...base, inspect: () => {}, inspectSampleRate: rate }));
      expect(error.code).toBe('INVALID_REQUEST');
      expect(error.message).toMatch(/^Expected `inspectSampleRate` to be a number in \(0, 1\]/);
    }
  });

  it.each(['compiled', 'xstate'] as const)(
    'a session whose own action throws ends failed with INTERNAL, its call aborted and slot freed (%s)',
    async (engine) => {
      // A clock that breaks when the `notifyStarted` action reads it: the action throws mid-macrostep.
      const base = new SimulatedClock();
      let broken = true;
      const clock = {
        now: () => {
          if (broken && new Error().stack?.includes('notifyStarted')) throw new Error('clock broke');
          return base.now();
        },
        setTimeout: (fn: (...args: unknown[]) => void, ms: number) => base.setTimeout(fn, ms),
        clearTimeout: (id: unknown) => base.clearTimeout(id as never),
      };
      const provider = new ScriptedProvider('p');
      const runtime = createRuntime({
        providers: [provider],
        clock,
        defaults: { model: 'm' },
        limits: { maxConcurrent: 1 },
        engine,
      });
      runtime.subscribe(() => {}); // so `notifyStarted` builds its event and reads the clock
      const first = runtime.submit(ask);
      broken = false;
      const second = runtime.submit(ask);
      const result = await first.result;
      expect(result.ok).toBe(false);
      expect(result.metadata.state).toBe('failed');
      expect(result.ok ? '' : result.error.code).toBe('INTERNAL');
      expect(result.ok ? '' : result.error.message).toMatch(/"session\.admit".*clock broke/);
      // The slot was freed: the second session was admitted and runs normally.
      await flush();
      const calls = provider.pending();
      expect(calls).toHaveLength(1);
      calls[0]!.settle('ok');
      expect((await second.result).metadata.state).toBe('done');
      expect(provider.calls.every((call) => call.settled || call.signal.aborted)).toBe(true);
      await runtime.shutdown();
    },
  );
});
