/**
 * What a session held by its caller's share (`limits.maxRunningPerCaller`) says it waits for once
 * that share no longer holds it. Until 2026-12-05 the mark stayed: a `run()` task that had waited
 * for its caller's share and then started still showed `waitingFor: 'maxRunningPerCaller'` while
 * it ran, and timing out at its run deadline said its caller's share had held it back.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createRuntime } from '../../../src/runtime/runtime.js';
import type { Runtime } from '../../../src/runtime/types.js';
import { ScriptedProvider } from '../../../src/testing/scripted-provider.js';

let runtime: Runtime | undefined;
afterEach(async () => {
  await runtime?.shutdown({ deadlineMs: 0 });
  runtime = undefined;
});

const tick = () => new Promise((r) => setTimeout(r, 5));

describe('a session its caller’s share no longer holds', () => {
  it('does not say a running task waits for its caller’s share, nor that the share held it when it times out running', async () => {
    runtime = createRuntime({
      providers: [new ScriptedProvider('p')],
      defaults: { model: 'm' },
      limits: { maxConcurrent: 2, maxRunningPerCaller: 1 },
    });
    const rt = runtime;
    let release = () => {};
    const first = rt.run(() => new Promise<string>((resolve) => (release = () => resolve('one'))), {
      lane: 'tools',
      metadata: { owner: 'alice' },
    });
    // Its caller runs its share: it waits, and says so.
    const second = rt.run(
      ({ signal }) =>
        new Promise<string>((_, reject) => signal.addEventListener('abort', () => reject(signal.reason))),
      { lane: 'tools', metadata: { owner: 'alice' }, timeoutMs: 50 },
    );
    await tick();
    expect(rt.session(second.id)).toMatchObject({ state: 'queued', waitingFor: 'maxRunningPerCaller' });
    release();
    await first.result;
    await tick();
    const running = rt.session(second.id);
    expect(running?.state).toBe('running');
    expect(running?.waitingFor).toBeUndefined();
    const result = await second.result;
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.metadata.state).toBe('timedOut');
    expect(result.metadata.waitingFor).toBeUndefined();
    expect(result.error.message).not.toContain('maxRunningPerCaller');
  });
});

describe('a queued session its caller’s share held, once its caller has a place again', () => {
  it('does not time out naming its caller’s share when its provider’s slots are what it waits for', async () => {
    const p = new ScriptedProvider('p');
    runtime = createRuntime({
      providers: [p],
      defaults: { model: 'm', queueTimeoutMs: 200 },
      limits: { maxConcurrent: 4, maxRunningPerCaller: 1, perProvider: { p: 1 } },
    });
    const rt = runtime;
    const ask = { messages: [{ role: 'user' as const, content: 'hi' }] };
    // alice runs a task (her share); her chat waits for it.
    let release = () => {};
    const task = rt.run(() => new Promise<string>((resolve) => (release = () => resolve('done'))), {
      lane: 'tools',
      metadata: { owner: 'alice' },
    });
    const bob = rt.submit(ask, { metadata: { owner: 'bob' }, queueTimeoutMs: 60_000 });
    const alice = rt.submit(ask, { metadata: { owner: 'alice' } });
    await tick();
    expect(rt.session(alice.id)).toMatchObject({ state: 'queued', waitingFor: 'maxRunningPerCaller' });
    // Her task ends: her share has room, but bob's call holds p's only slot until alice's deadline.
    release();
    await task.result;
    const result = await alice.result;
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.metadata.state).toBe('timedOut');
    expect(result.metadata.waitingFor).not.toBe('maxRunningPerCaller');
    expect(result.error.message).not.toContain('maxRunningPerCaller');
    bob.cancel('test over');
    await bob.result;
  });

  it('keeps naming the limit of its model that held it, when its caller has room and it times out', async () => {
    const provider = new ScriptedProvider('p');
    runtime = createRuntime({
      providers: [provider],
      defaults: { model: 'm' },
      limits: {
        maxConcurrent: 3,
        maxRunningPerCaller: 1,
        providers: { p: { models: { m: { requestsPerMinute: 1 } } } },
      },
    });
    const rt = runtime;
    const first = rt.submit({ messages: [{ role: 'user', content: 'hi' }] }, { metadata: { owner: 'bob' } });
    await tick();
    provider.pending()[0]?.settle('ok');
    await first.result;
    const late = rt.submit(
      { messages: [{ role: 'user', content: 'hi' }] },
      { metadata: { owner: 'alice' }, queueTimeoutMs: 50 },
    );
    const result = await late.result;
    expect(result.ok ? null : result.error.message).toContain(
      "held back by its provider's requestsPerMinute limit",
    );
    expect(result.metadata.waitingFor).toBe('requestsPerMinute');
  });
});
