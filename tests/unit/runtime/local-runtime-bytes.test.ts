/**
 * `limits.maxQueuedBytes` in the in-memory runtime: the request bytes of the queued sessions are
 * held from submission and given back exactly once when each leaves the queue, whichever way
 * (started, cancelled, its signal, its queue deadline, shutdown, moved on past a cooldown); a
 * submission past the bound is refused with `QUEUE_FULL`, one larger than the bound with
 * `INVALID_REQUEST`, and the runtime goes on. A scripted provider and a simulated clock.
 */
import { describe, expect, it } from 'vitest';
import { SimulatedClock } from 'xstate';
import type { LocalRuntime } from '../../../src/runtime/backend.js';
import { createLocalRuntime } from '../../../src/runtime/local-runtime.js';
import type { RuntimeOptions, SessionRequest } from '../../../src/runtime/types.js';
import { ScriptedProvider } from '../../../src/testing/scripted-provider.js';
import { adopted } from '../../support/adopted.js';
import { flush, stop } from '../../support/local-stop.js';
import { thrown } from '../../support/thrown.js';

const ask = (text: string): SessionRequest => ({ messages: [{ role: 'user', content: text }] });
/** What the runtime must count: the JSON of the request its provider gets (with its model), in UTF-8. */
const size = (request: SessionRequest) => Buffer.byteLength(JSON.stringify({ model: 'm', ...request }));

function setup(limits: RuntimeOptions['limits'] = {}) {
  const clock = new SimulatedClock();
  const provider = new ScriptedProvider('p');
  const other = new ScriptedProvider('q');
  const runtime = createLocalRuntime({
    providers: [provider, other],
    clock,
    defaults: { provider: 'p', model: 'm' },
    limits: { maxConcurrent: 1, ...limits },
    random: () => 0,
  });
  return { clock, provider, other, runtime };
}

const held = (runtime: LocalRuntime) => runtime.status().queuedBytes;

describe('maxQueuedBytes in the local runtime', () => {
  it('holds a queued request’s bytes (tools and options too) and gives them back once when it starts and ends', async () => {
    const { clock, provider, runtime } = setup({ maxQueuedBytes: 10_000 });
    const first = runtime.submit(ask('runs at once'));
    expect(held(runtime)).toBe(0);
    const second: SessionRequest = {
      ...ask('wait: ünïcödé ✓ 🎉 "quoted"'),
      tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object' } } }],
      temperature: 0.5,
      extra: { thinking: { type: 'enabled' } },
    };
    const queued = runtime.submit(second);
    expect(runtime.status()).toMatchObject({ queued: 1, queuedBytes: size(second), maxQueuedBytes: 10_000 });
    provider.pending()[0]?.settle('ok');
    await first.result;
    await flush();
    // Started: released; ended: nothing more given back (a second release would go below 0).
    expect(runtime.session(queued.id)?.state).toBe('running');
    expect(held(runtime)).toBe(0);
    provider.pending()[0]?.settle('ok');
    await queued.result;
    expect(held(runtime)).toBe(0);
    await stop(runtime, clock);
  });

  it('admits a request that exactly fills the bound and refuses one byte more with QUEUE_FULL, losing nothing queued', async () => {
    const a = ask('aaaa');
    const b = ask('bbbbbbbb');
    const { clock, provider, runtime } = setup({ maxQueuedBytes: size(a) + size(b) });
    runtime.submit(ask('running'));
    runtime.submit(a);
    runtime.submit(b);
    expect(held(runtime)).toBe(size(a) + size(b));
    const error = thrown(() => runtime.submit(ask('')));
    expect(error.code).toBe('QUEUE_FULL');
    expect(error.message).toBe(
      `Expected room for a request of ${size(ask(''))} bytes in the queue, got ${size(a) + size(b)} bytes waiting (limit ${size(a) + size(b)}, limits.maxQueuedBytes)`,
    );
    expect(runtime.metrics().rejected).toEqual({ QUEUE_FULL: 1 });
    expect(runtime.status()).toMatchObject({ queued: 2, queuedBytes: size(a) + size(b) });
    // Once one starts, a request of its size fits again; a task holds no bytes at all.
    provider.pending()[0]?.settle('ok');
    await flush();
    expect(held(runtime)).toBe(size(b));
    runtime.submit(ask('aaab'));
    expect(held(runtime)).toBe(size(a) + size(b));
    runtime.run(async () => 1, { lane: 'jobs' });
    expect(runtime.status()).toMatchObject({ queued: 3, queuedBytes: size(a) + size(b) });
    await stop(runtime, clock);
    expect(held(runtime)).toBe(0);
  });

  it('refuses a request larger than the whole bound even with nothing queued, and goes on', async () => {
    const big = ask('x'.repeat(100));
    const { clock, provider, runtime } = setup({ maxQueuedBytes: size(big) - 1 });
    const error = thrown(() => runtime.submit(big));
    expect(error.code).toBe('INVALID_REQUEST');
    expect(error.message).toBe(
      `Expected a request of at most ${size(big) - 1} bytes of JSON (limits.maxQueuedBytes), got at least ${size(big)} bytes; send a smaller request (fewer or shorter messages, smaller tool arguments), or raise maxQueuedBytes`,
    );
    expect(runtime.status()).toMatchObject({ queued: 0, running: 0, queuedBytes: 0 });
    const fits = runtime.submit(ask('small'));
    provider.pending()[0]?.settle('ok');
    expect((await fits.result).ok).toBe(true);
    await stop(runtime, clock);
  });

  it('gives the bytes back when a queued session is cancelled, by id, by handle or by its signal', async () => {
    const { clock, runtime } = setup();
    runtime.submit(ask('running'));
    const a = runtime.submit(ask('a'));
    const b = runtime.submit(ask('bb'));
    const controller = new AbortController();
    const c = runtime.submit(ask('ccc'), { signal: controller.signal });
    expect(held(runtime)).toBe(size(ask('a')) + size(ask('bb')) + size(ask('ccc')));
    expect(runtime.cancel(a.id)).toBe(true);
    expect(held(runtime)).toBe(size(ask('bb')) + size(ask('ccc')));
    b.cancel();
    expect(held(runtime)).toBe(size(ask('ccc')));
    controller.abort();
    expect(held(runtime)).toBe(0);
    for (const handle of [a, b, c]) expect((await handle.result).metadata.state).toBe('cancelled');
    expect(held(runtime)).toBe(0);
    await stop(runtime, clock);
  });

  it('gives the bytes back when a queued session times out in the queue, and when shutdown cancels it', async () => {
    const { clock, runtime } = setup();
    runtime.submit(ask('running'));
    const early = runtime.submit(ask('early'), { queueTimeoutMs: 100 });
    const late = runtime.submit(ask('late!'), { queueTimeoutMs: 5_000 });
    clock.increment(100);
    await flush();
    expect((await early.result).metadata.state).toBe('timedOut');
    expect(held(runtime)).toBe(size(ask('late!')));
    await stop(runtime, clock);
    expect((await late.result).metadata.state).toBe('cancelled');
    expect(held(runtime)).toBe(0);
  });

  it('gives the bytes back when a queued session moves on past a cooling-down provider', async () => {
    const { clock, provider, other, runtime } = setup({
      maxConcurrent: 4,
      providers: { p: { requestsPerMinute: 100 } },
    });
    const first = runtime.submit(ask('first'), { maxAttempts: 1 });
    provider.pending()[0]?.settle('rateLimited');
    await first.result;
    const request = { ...ask('moves on'), fallbacks: [{ provider: 'q', model: 'm2' }] };
    const patient = { ...ask('waits'), fallbacks: [{ provider: 'q', model: 'm2' }] };
    const moving = runtime.submit(request, { queueTimeoutMs: 200 });
    runtime.submit(patient, { queueTimeoutMs: 5000 });
    await flush();
    expect(runtime.session(moving.id)).toMatchObject({ state: 'running', provider: 'q' });
    // Its fallbacks are not sent, so not counted (until 2026-12-07 they were).
    expect(held(runtime)).toBe(size(ask('waits')));
    clock.increment(1);
    await flush();
    expect(other.calls).toHaveLength(1);
    await stop(runtime, clock);
    expect(held(runtime)).toBe(0);
  });

  it('holds what a task says it holds while it waits (the host: its call’s arguments), and gives it back', async () => {
    const { clock, runtime } = setup({ maxQueuedBytes: 100 });
    runtime.submit(ask('running'));
    const task = runtime.run(async () => 1, { lane: 'jobs', bytes: 60 });
    expect(held(runtime)).toBe(60);
    expect(thrown(() => runtime.run(async () => 2, { lane: 'jobs', bytes: 41 })).code).toBe('QUEUE_FULL');
    task.cancel();
    expect(held(runtime)).toBe(0);
    await stop(runtime, clock);
  });

  it('holds nothing for a session a shared queue hands it (counted where it was submitted)', async () => {
    const { clock, runtime } = setup();
    runtime.submit(ask('running'));
    runtime.adopt(adopted(clock.now(), 's-1'));
    expect(runtime.status()).toMatchObject({ queued: 1, queuedBytes: 0 });
    await stop(runtime, clock);
  });

  it('bounds at 256 MiB by default, and with 0 admits tasks but no chat request', async () => {
    const { clock, runtime } = setup();
    expect(runtime.status().maxQueuedBytes).toBe(256 * 1024 * 1024);
    await stop(runtime, clock);
    const none = setup({ maxQueuedBytes: 0 });
    expect(thrown(() => none.runtime.submit(ask(''))).code).toBe('INVALID_REQUEST');
    const task = none.runtime.run(async () => 7, { lane: 'jobs' });
    expect(await task.result).toMatchObject({ ok: true, value: 7 });
    await stop(none.runtime, none.clock);
  });
});
