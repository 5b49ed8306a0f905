/**
 * A dead provider opens its breaker and recovers, over real HTTP: the local server answers 503
 * to the first requests for a model, then answers. Once the breaker is open, sessions fail fast
 * (no request reaches the server) with a message that says until when; after `openMs` one probe
 * goes, its answer closes the breaker, and calls flow again.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOpenAICompatibleProvider } from '../../../src/providers/openai-compatible.js';
import { createRuntime } from '../../../src/runtime/runtime.js';
import type { Runtime } from '../../../src/runtime/types.js';
import { createOpenAIServer, type OpenAIServer } from '../../../src/testing/openai-server.js';

const KEY = 'sk-breaker-test-0123456789';
const OPEN_MS = 400;
let server: OpenAIServer;
let provider: ReturnType<typeof createOpenAICompatibleProvider>;
let runtime: Runtime;

beforeAll(async () => {
  server = createOpenAIServer({ apiKey: KEY });
  await server.start();
  provider = createOpenAICompatibleProvider({ name: 'local', baseURL: server.baseURL, apiKey: KEY });
  runtime = createRuntime({
    providers: [provider],
    defaults: { provider: 'local', maxAttempts: 1 },
    breakers: { failures: 3, windowMs: 60_000, openMs: OPEN_MS },
  });
});
afterAll(async () => {
  await runtime.shutdown({ deadlineMs: 100 });
  await provider.close();
  await server.close();
});

const ask = (model: string, stream = false) =>
  runtime.submit({ model, stream, messages: [{ role: 'user', content: 'hi' }] }).result;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('a dead provider opens its breaker and recovers', () => {
  it('fails fast while open, lets one probe through after openMs, closes on its answer', async () => {
    // The first three requests for this model get 503; later ones are answered.
    const model = 'fault:503:first=3:tag=breaker';
    for (let i = 0; i < 3; i++) {
      const failed = await ask(model, i === 1);
      expect(failed.ok ? undefined : failed.error.code).toBe('PROVIDER_UNAVAILABLE');
    }
    expect(server.requests).toHaveLength(3);

    const before = Date.now();
    const fast = await ask(model);
    expect(fast.ok).toBe(false);
    if (fast.ok) return;
    expect(fast.error.code).toBe('PROVIDER_UNAVAILABLE');
    expect(fast.error.retryable).toBe(false);
    expect(fast.error.message).toMatch(
      /^Expected provider `local` to take calls, got its circuit breaker open after 3 failures within 60000 ms \(last PROVIDER_UNAVAILABLE\) until \d{4}-\d\d-\d\dT[\d:.]+Z/,
    );
    expect(fast.error.retryAfterMs).toBeGreaterThan(0);
    expect(fast.error.retryAfterMs).toBeLessThanOrEqual(OPEN_MS);
    expect(Date.now() - before).toBeLessThan(OPEN_MS);
    // Failing fast: no request reached the dead provider.
    expect(server.requests).toHaveLength(3);

    await sleep(OPEN_MS + 50);
    const probe = await ask(model);
    expect(probe.ok).toBe(true);
    expect(server.requests).toHaveLength(4);
    const after = await Promise.all([ask(model), ask(model, true), ask(model)]);
    expect(after.map((r) => r.ok)).toEqual([true, true, true]);
    expect(server.requests).toHaveLength(7);
  });

  it('a run timeout past minTimeoutMs counts against the breaker; a sooner one and a 4xx answer do not', async () => {
    const local = createRuntime({
      providers: [provider],
      defaults: { provider: 'local', maxAttempts: 1 },
      breakers: { failures: 2, windowMs: 60_000, openMs: 60_000, minTimeoutMs: 80 },
    });
    try {
      for (let i = 0; i < 4; i++)
        expect((await local.submit({ model: 'fault:400', messages: [] }).result).ok).toBe(false);
      // The caller's own 20 ms deadlines: the provider was not given the time to fail.
      const short = await Promise.all(
        [1, 2, 3].map(() => local.submit({ model: 'fault:hang', messages: [] }, { timeoutMs: 20 }).result),
      );
      expect(short.map((r) => r.metadata.code)).toEqual(['TIMED_OUT', 'TIMED_OUT', 'TIMED_OUT']);
      expect((await local.submit({ model: 'fault:ok', messages: [] }).result).ok).toBe(true);
      const hung = await Promise.all(
        [1, 2].map(() => local.submit({ model: 'fault:hang', messages: [] }, { timeoutMs: 100 }).result),
      );
      expect(hung.map((r) => r.metadata.code)).toEqual(['TIMED_OUT', 'TIMED_OUT']);
      const refused = await local.submit({ model: 'fault:ok', messages: [] }).result;
      expect(refused.ok ? '' : refused.error.message).toContain('(last TIMED_OUT)');
    } finally {
      await local.shutdown({ deadlineMs: 100 });
    }
  });

  it('a deadline that ends a stream still flowing does not count; a stream stalled past minTimeoutMs does', async () => {
    const local = createRuntime({
      providers: [provider],
      defaults: { provider: 'local', maxAttempts: 1 },
      breakers: { failures: 2, windowMs: 60_000, openMs: 60_000, minTimeoutMs: 300 },
    });
    // The server echoes the prompt in 4-character chunks: 400 characters are 100 chunks.
    const prompt = 'word '.repeat(80);
    const streamed = (model: string, timeoutMs: number) =>
      local.submit({ model, stream: true, messages: [{ role: 'user', content: prompt }] }, { timeoutMs })
        .result;
    try {
      // A chunk every 20 ms for 2 s, cut at 400 ms: out longer than minTimeoutMs, never silent that
      // long (a loaded machine would have to stall the loop for 280 ms to make it so).
      const flowing = await Promise.all([1, 2, 3].map(() => streamed('fault:ok:chunk-ms=20', 400)));
      expect(flowing.map((r) => r.metadata.code)).toEqual(['TIMED_OUT', 'TIMED_OUT', 'TIMED_OUT']);
      expect((await streamed('fault:ok', 5_000)).ok).toBe(true);
      // Two chunks, then nothing until the deadline: silent for about 400 ms.
      const stalled = await Promise.all([1, 2].map(() => streamed('fault:stall:after=2', 400)));
      expect(stalled.map((r) => r.metadata.code)).toEqual(['TIMED_OUT', 'TIMED_OUT']);
      const refused = await streamed('fault:ok', 5_000);
      expect(refused.ok ? '' : refused.error.message).toContain('(last TIMED_OUT)');
    } finally {
      await local.shutdown({ deadlineMs: 100 });
    }
  });
});
