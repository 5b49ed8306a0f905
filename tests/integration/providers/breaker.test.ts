/**
 * A dead provider opens its breaker and recovers, over real HTTP: the local server answers 503
 * to the first requests for a model, then answers. Once the breaker is open, sessions fail fast
 * (no request reaches the server) with a message that says until when; after `openMs` one probe
 * goes, its answer closes the breaker, and calls flow again.
 *
 * The runtimes run on a simulated clock, moved only by the tests: the breaker's times, the calls'
 * deadlines and how long a provider was silent are exact, whatever the machine's load (on the
 * system clock a loaded machine fired a 20 ms deadline late enough to count past an 80 ms minimum,
 * and delayed a stalled stream's chunks until it was silent less than 300 ms). The HTTP is real.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SimulatedClock } from 'xstate';
import { createOpenAICompatibleProvider } from '../../../src/providers/openai-compatible.js';
import { createRuntime } from '../../../src/runtime/runtime.js';
import type { Runtime, SessionHandle } from '../../../src/runtime/types.js';
import { createOpenAIServer, type OpenAIServer } from '../../../src/testing/openai-server.js';

const KEY = 'sk-breaker-test-0123456789';
const OPEN_MS = 400;
let server: OpenAIServer;
let provider: ReturnType<typeof createOpenAICompatibleProvider>;
let runtime: Runtime;
let clock: SimulatedClock;

/** A simulated clock at a plausible time; it moves only when a test moves it. */
function newClock(): SimulatedClock {
  const c = new SimulatedClock();
  c.set(Date.parse('2026-12-02T12:00:00.000Z'));
  return c;
}

/** Shuts `rt` down, moving `c` past the drain deadline in case a session is left. */
async function stop(rt: Runtime, c: SimulatedClock): Promise<void> {
  const stopped = rt.shutdown({ deadlineMs: 100 });
  c.increment(100);
  await stopped;
}

beforeAll(async () => {
  server = createOpenAIServer({ apiKey: KEY });
  await server.start();
  provider = createOpenAICompatibleProvider({ name: 'local', baseURL: server.baseURL, apiKey: KEY });
  clock = newClock();
  runtime = createRuntime({
    providers: [provider],
    clock,
    defaults: { provider: 'local', maxAttempts: 1 },
    breakers: { failures: 3, windowMs: 60_000, openMs: OPEN_MS },
  });
});
afterAll(async () => {
  await stop(runtime, clock);
  await provider.close();
  await server.close();
});

const ask = (model: string, stream = false) =>
  runtime.submit({ model, stream, messages: [{ role: 'user', content: 'hi' }] }).result;

/** Resolves once the server has received `count` requests in all. */
const requestsReach = (count: number) =>
  expect.poll(() => server.requests.length, { timeout: 10_000, interval: 5 }).toBe(count);

/** A session whose deltas are recorded with the (simulated) time each came at. */
function watched(handle: SessionHandle) {
  const deltasAt: number[] = [];
  void (async () => {
    for await (const event of handle.events) if (event.type === 'session.delta') deltasAt.push(event.at);
  })();
  return { result: handle.result, heardAt: (at: number) => deltasAt.includes(at) };
}

describe('a dead provider opens its breaker and recovers', () => {
  it('fails fast while open, lets one probe through after openMs, closes on its answer', async () => {
    // The first three requests for this model get 503; later ones are answered.
    const model = 'fault:503:first=3:tag=breaker';
    for (let i = 0; i < 3; i++) {
      const failed = await ask(model, i === 1);
      expect(failed.ok ? undefined : failed.error.code).toBe('PROVIDER_UNAVAILABLE');
    }
    expect(server.requests).toHaveLength(3);

    // The clock has not moved since the third failure: open until exactly OPEN_MS from now. The
    // refusal settles while the clock stands still, so it did not wait for the breaker to close.
    const fast = await ask(model);
    expect(fast.ok).toBe(false);
    if (fast.ok) return;
    expect(fast.error.code).toBe('PROVIDER_UNAVAILABLE');
    expect(fast.error.retryable).toBe(false);
    expect(fast.error.message).toMatch(
      /^Expected provider `local` to take calls, got its circuit breaker open after 3 failures within 60000 ms \(last PROVIDER_UNAVAILABLE\) until \d{4}-\d\d-\d\dT[\d:.]+Z/,
    );
    expect(fast.error.message).toContain(`until ${new Date(clock.now() + OPEN_MS).toISOString()}`);
    expect(fast.error.retryAfterMs).toBe(OPEN_MS);
    // Failing fast: no request reached the dead provider.
    expect(server.requests).toHaveLength(3);

    // A millisecond before openMs is up: still refused, still nothing sent.
    clock.increment(OPEN_MS - 1);
    const still = await ask(model);
    expect(still.ok ? undefined : still.error.retryAfterMs).toBe(1);
    expect(server.requests).toHaveLength(3);

    clock.increment(1);
    const probe = await ask(model);
    expect(probe.ok).toBe(true);
    expect(server.requests).toHaveLength(4);
    const after = await Promise.all([ask(model), ask(model, true), ask(model)]);
    expect(after.map((r) => r.ok)).toEqual([true, true, true]);
    expect(server.requests).toHaveLength(7);
  });

  it('a run timeout past minTimeoutMs counts against the breaker; a sooner one and a 4xx answer do not', async () => {
    const clock2 = newClock();
    const local = createRuntime({
      providers: [provider],
      clock: clock2,
      defaults: { provider: 'local', maxAttempts: 1 },
      breakers: { failures: 2, windowMs: 60_000, openMs: 60_000, minTimeoutMs: 80 },
    });
    const hang = (timeoutMs: number) =>
      local.submit({ model: 'fault:hang', messages: [{ role: 'user', content: 'hi' }] }, { timeoutMs })
        .result;
    try {
      for (let i = 0; i < 4; i++)
        expect(
          (await local.submit({ model: 'fault:400', messages: [{ role: 'user', content: 'hi' }] }).result).ok,
        ).toBe(false);
      // The caller's own 20 ms deadlines: the provider was not given the time to fail. Each call
      // is out (its request at the server) before the clock moves, so each was silent 20 ms.
      const beforeShort = server.requests.length;
      const shortCalls = [1, 2, 3].map(() => hang(20));
      await requestsReach(beforeShort + 3);
      clock2.increment(20);
      const short = await Promise.all(shortCalls);
      expect(short.map((r) => r.metadata.code)).toEqual(['TIMED_OUT', 'TIMED_OUT', 'TIMED_OUT']);
      expect(
        (await local.submit({ model: 'fault:ok', messages: [{ role: 'user', content: 'hi' }] }).result).ok,
      ).toBe(true);
      // 100 ms deadlines: silent 100 ms, past the 80 ms minimum.
      const beforeHung = server.requests.length;
      const hungCalls = [1, 2].map(() => hang(100));
      await requestsReach(beforeHung + 2);
      clock2.increment(100);
      const hung = await Promise.all(hungCalls);
      expect(hung.map((r) => r.metadata.code)).toEqual(['TIMED_OUT', 'TIMED_OUT']);
      const refused = await local.submit({ model: 'fault:ok', messages: [{ role: 'user', content: 'hi' }] })
        .result;
      expect(refused.ok ? '' : refused.error.message).toContain('(last TIMED_OUT)');
    } finally {
      await stop(local, clock2);
    }
  });

  it('a deadline that ends a stream still flowing does not count; a stream stalled past minTimeoutMs does', async () => {
    const clock3 = newClock();
    const local = createRuntime({
      providers: [provider],
      clock: clock3,
      defaults: { provider: 'local', maxAttempts: 1 },
      breakers: { failures: 2, windowMs: 60_000, openMs: 60_000, minTimeoutMs: 300 },
    });
    // The server echoes the prompt in 4-character chunks: 4,000 characters are 1,000 chunks, so a
    // stream paced 20 ms a chunk flows for 20 s of real time, far longer than the test needs it.
    const prompt = 'word '.repeat(800);
    const streamed = (model: string, timeoutMs: number) =>
      watched(
        local.submit({ model, stream: true, messages: [{ role: 'user', content: prompt }] }, { timeoutMs }),
      );
    try {
      // A chunk every 20 ms of real time; the clock moves 100 ms at a time, each time
      // once every stream has had a chunk at the time it stood at, to the 400 ms deadline: out
      // longer than minTimeoutMs, never silent more than 100 ms of it.
      const flowing = [1, 2, 3].map(() => streamed('fault:ok:chunk-ms=20', 400));
      for (let step = 0; step < 4; step++) {
        const now = clock3.now();
        await expect
          .poll(() => flowing.every((s) => s.heardAt(now)), { timeout: 10_000, interval: 5 })
          .toBe(true);
        clock3.increment(100);
      }
      const ended = await Promise.all(flowing.map((s) => s.result));
      expect(ended.map((r) => r.metadata.code)).toEqual(['TIMED_OUT', 'TIMED_OUT', 'TIMED_OUT']);
      expect((await streamed('fault:ok', 5_000).result).ok).toBe(true);
      // Two chunks, then nothing: the clock moves once they have come, to the 400 ms deadline, so
      // each was silent 400 ms.
      const stalled = [1, 2].map(() => streamed('fault:stall:after=2', 400));
      const now = clock3.now();
      await expect
        .poll(() => stalled.every((s) => s.heardAt(now)), { timeout: 10_000, interval: 5 })
        .toBe(true);
      clock3.increment(400);
      const cut = await Promise.all(stalled.map((s) => s.result));
      expect(cut.map((r) => r.metadata.code)).toEqual(['TIMED_OUT', 'TIMED_OUT']);
      const refused = await streamed('fault:ok', 5_000).result;
      expect(refused.ok ? '' : refused.error.message).toContain('(last TIMED_OUT)');
    } finally {
      await stop(local, clock3);
    }
  });
});
