/**
 * A call answered whole (no stream) whose provider stops sending mid-body ends on the session's
 * `idleTimeoutMs`, not at its run deadline: over real HTTP, against the local server's `stall`.
 * The bound is a gap between the body's bytes, from the headers on; never a wait for the headers,
 * which a whole answer sends only once the model is done.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createOpenAICompatibleProvider } from '../../../src/providers/openai-compatible.js';
import { createRuntime } from '../../../src/runtime/runtime.js';
import type { Runtime, SessionRequest, SessionResult } from '../../../src/runtime/types.js';
import {
  createOpenAIServer,
  type OpenAIServer,
  type RecordedRequest,
} from '../../../src/testing/openai-server.js';

const KEY = 'sk-whole-stall-0123456789';
let server: OpenAIServer;
let first: ReturnType<typeof createOpenAICompatibleProvider>;
let second: ReturnType<typeof createOpenAICompatibleProvider>;
let runtime: Runtime;

beforeAll(async () => {
  server = createOpenAIServer({ apiKey: KEY });
  await server.start();
  first = createOpenAICompatibleProvider({ name: 'first', baseURL: server.baseURL, apiKey: KEY });
  second = createOpenAICompatibleProvider({ name: 'second', baseURL: server.baseURL, apiKey: KEY });
  runtime = createRuntime({
    providers: [first, second],
    defaults: { provider: 'first', model: 'echo-1', maxAttempts: 3, backoffBaseMs: 10, backoffMaxMs: 50 },
  });
});
afterAll(async () => {
  await runtime.shutdown({ deadlineMs: 100 });
  await Promise.all([first.close(), second.close()]);
  await server.close();
});
beforeEach(() => server.reset());

const unique = (model: string) => `${model}:tag=${Math.random().toString(36).slice(2)}`;
const ask = (model: string, more: Partial<SessionRequest> = {}): SessionRequest => ({
  model,
  messages: [{ role: 'user', content: 'a whole answer, please' }],
  ...more,
});
const forModel = (model: string) => (r: RecordedRequest) =>
  (r.body as { model?: string } | undefined)?.model === model;
const errorOf = (result: SessionResult) => (result.ok ? undefined : result.error);

describe('a whole answer whose body stalls', () => {
  it('ends TIMED_OUT (idle) one idleTimeoutMs after its last byte, not at the run deadline, and closes the connection', async () => {
    const model = unique('fault:stall');
    const startedAt = Date.now();
    const result = await runtime.submit(ask(model), { idleTimeoutMs: 300, timeoutMs: 20_000 }).result;
    const endedAt = Date.now();
    expect([result.metadata.state, result.metadata.code]).toEqual(['timedOut', 'TIMED_OUT']);
    expect(errorOf(result)).toMatchObject({ family: 'runtime', timeout: 'idle', retryable: false });
    expect(errorOf(result)?.message).toMatch(/^first chat completion: .*no byte of it came for 300 ms/);
    // Not retried: a stalled answer is the runtime's idle timeout, as a stream's is.
    expect(result.metadata.attempts).toBe(1);
    // undici's body timer ticks at about half a second: past the bound, and far from the deadline.
    expect(endedAt - startedAt).toBeGreaterThanOrEqual(300);
    expect(endedAt - startedAt).toBeLessThan(5000);
    const received = await server.waitForRequest(forModel(model));
    expect((await server.waitForClose(received)) - endedAt).toBeLessThan(500);
    expect(received.completed).toBe(false);
  });

  it('moves on to its fallback, as a stream with no delta in time does', async () => {
    const model = unique('fault:stall');
    const result = await runtime.submit(
      ask(model, { fallbacks: [{ provider: 'second', model: 'echo-1' }] }),
      {
        idleTimeoutMs: 300,
        timeoutMs: 20_000,
      },
    ).result;
    expect(result.ok).toBe(true);
    expect(result.metadata.route?.map((h) => [h.provider, h.outcome])).toEqual([
      ['first', 'TIMED_OUT'],
      ['second', 'done'],
    ]);
  });

  it('the session’s cancel still ends it at once, well inside the bound', async () => {
    const model = unique('fault:stall');
    const handle = runtime.submit(ask(model), { idleTimeoutMs: 10_000, timeoutMs: 20_000 });
    const received = await server.waitForRequest(forModel(model));
    // The half body has left the server: the call is reading it when the cancel comes.
    await new Promise((resolve) => setTimeout(resolve, 100));
    const cancelledAt = Date.now();
    handle.cancel('the caller left');
    const result = await handle.result;
    expect([result.metadata.state, result.metadata.code]).toEqual(['cancelled', 'CANCELLED']);
    expect((await server.waitForClose(received)) - cancelledAt).toBeLessThan(500);
  });
});

describe('a whole answer that is slow but not silent', () => {
  it('a body whose pieces come under the bound apart succeeds, however long it takes in all', async () => {
    // About 16 pieces 150 ms apart: over 2 s of body, every gap half the 300 ms bound.
    const model = unique('fault:ok:split=16:chunk-ms=150');
    const startedAt = Date.now();
    const result = await runtime.submit(ask(model), { idleTimeoutMs: 300, timeoutMs: 20_000 }).result;
    expect(result.ok, JSON.stringify(errorOf(result))).toBe(true);
    expect(result.ok && result.content).toContain('a whole answer, please');
    expect(Date.now() - startedAt).toBeGreaterThan(1200);
  });

  it('headers that take longer than the bound (the model still writing) succeed before the run deadline', async () => {
    const model = unique('fault:ok:latency=1500');
    const startedAt = Date.now();
    const result = await runtime.submit(ask(model), { idleTimeoutMs: 300, timeoutMs: 20_000 }).result;
    expect(result.ok, JSON.stringify(errorOf(result))).toBe(true);
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(1400);
  });

  it('the bound of one answer ends with it: the pooled socket it leaves serves the next answer long after', async () => {
    // A server of its own: its own pooled agent, whose one socket is the one the first answer used.
    const alone = createOpenAIServer({ apiKey: KEY });
    await alone.start();
    const provider = createOpenAICompatibleProvider({ name: 'alone', baseURL: alone.baseURL, apiKey: KEY });
    try {
      const call = () =>
        provider.complete(
          { model: 'echo-1', messages: ask('echo-1').messages },
          { signal: new AbortController().signal, idleTimeoutMs: 300 },
        );
      expect((await call()).content).toContain('a whole answer, please');
      // Five bounds with the socket idle in the pool: a timer of the first answer left running
      // would have destroyed it.
      await new Promise((resolve) => setTimeout(resolve, 1500));
      expect((await call()).content).toContain('a whole answer, please');
      expect(alone.requests.map((r) => r.socketId)).toEqual([1, 1]);
    } finally {
      await provider.close();
      await alone.close();
    }
  });
});
