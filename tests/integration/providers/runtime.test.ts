/**
 * The adapter under the real runtime, over real HTTP: fault modes end sessions in the right final
 * state with the right code; timeouts and cancellation close the connection; retries honour
 * Retry-After and the deadline; per-provider limits hold under 200 concurrent submits.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createOpenAICompatibleProvider } from '../../../src/providers/openai-compatible.js';
import { createModelRegistry } from '../../../src/providers/registry.js';
import { createRuntime } from '../../../src/runtime/runtime.js';
import type { Runtime, SessionRequest, SubmitOptions } from '../../../src/runtime/types.js';
import {
  createOpenAIServer,
  type OpenAIServer,
  type RecordedRequest,
} from '../../../src/testing/openai-server.js';
import { contentWritten } from '../../support/written.js';

const KEY = 'sk-runtime-test-key-0123456789';
let server: OpenAIServer;
let provider: ReturnType<typeof createOpenAICompatibleProvider>;
let runtime: Runtime;

beforeAll(async () => {
  server = createOpenAIServer({ apiKey: KEY });
  await server.start();
  provider = createOpenAICompatibleProvider({ name: 'local', baseURL: server.baseURL, apiKey: KEY });
  runtime = createRuntime({
    providers: [provider],
    limits: { perProvider: { local: 4 } },
    defaults: { provider: 'local', model: 'echo-1', maxAttempts: 1, backoffBaseMs: 10, backoffMaxMs: 50 },
  });
});
afterAll(async () => {
  await runtime.shutdown({ deadlineMs: 100 });
  await provider.close();
  await server.close();
});
beforeEach(() => server.reset());

const unique = (model: string) => `${model}:tag=${Math.random().toString(36).slice(2)}`;
const ask = (model: string, more: Partial<SessionRequest> = {}): SessionRequest => ({
  model,
  messages: [{ role: 'user', content: 'hello' }],
  ...more,
});
const forModel = (model: string) => (r: RecordedRequest) =>
  (r.body as { model?: string } | undefined)?.model === model;

describe('fault modes end sessions in the right state', () => {
  const table: readonly [model: string, state: string, code: string | undefined, options?: SubmitOptions][] =
    [
      ['fault:401', 'failed', 'AUTH_FAILED'],
      ['fault:404', 'failed', 'MODEL_NOT_FOUND'],
      ['fault:400', 'failed', 'INVALID_REQUEST'],
      ['fault:500', 'failed', 'PROVIDER_UNAVAILABLE'],
      ['fault:503', 'failed', 'PROVIDER_UNAVAILABLE'],
      ['fault:429', 'failed', 'RATE_LIMITED'],
      ['fault:reset', 'failed', 'NETWORK'],
      ['fault:bad-json', 'failed', 'BAD_RESPONSE'],
      ['fault:wrong-type', 'failed', 'BAD_RESPONSE'],
      ['fault:empty', 'failed', 'BAD_RESPONSE'],
      ['fault:hang', 'timedOut', 'TIMED_OUT', { timeoutMs: 200 }],
      ['fault:ok:latency=20', 'done', undefined],
    ];
  for (const stream of [false, true]) {
    for (const [model, state, code, options] of table) {
      it(`${stream ? 'stream' : 'complete'}: ${model} -> ${state}${code ? ` ${code}` : ''}`, async () => {
        const result = await runtime.submit(ask(model, { stream }), options).result;
        expect(result.metadata.state).toBe(state);
        expect(result.metadata.code).toBe(code);
        expect(result.metadata.attempts).toBe(1);
        if (!result.ok) expect(result.error.code).toBe(code);
      });
    }
  }

  // A server that leaves finish_reason out (`[DONE]` on a stream): a whole answer, its reason unknown.
  for (const stream of [false, true]) {
    it(`${stream ? 'stream' : 'complete'}: no finish_reason from the server -> done, no finishReason, a note saying so`, async () => {
      const result = await runtime.submit(ask('fault:ok:no-finish=1', { stream })).result;
      expect(result.metadata.state).toBe('done');
      expect(result.metadata.attempts).toBe(1);
      expect(result.metadata.finishReason).toBeUndefined();
      expect(result.ok && result.finishReason).toBeUndefined();
      expect(result.ok && result.content).toBe('echo: hello');
      expect(result.metadata.notes).toEqual([
        stream
          ? 'the server ended its stream with [DONE] but no finish_reason: the answer is taken as whole'
          : 'the server answered with no finish_reason: the answer is taken as whole',
      ]);
    });
  }

  it('stream: a malformed SSE chunk -> failed BAD_RESPONSE', async () => {
    const result = await runtime.submit(ask('fault:bad-sse', { stream: true })).result;
    expect([result.metadata.state, result.metadata.code]).toEqual(['failed', 'BAD_RESPONSE']);
  });

  it('stream: a stall past idleTimeoutMs -> timedOut, and the server sees the close within 200 ms', async () => {
    const model = unique('fault:stall:after=2');
    const handle = runtime.submit(ask(model, { stream: true }), { idleTimeoutMs: 150, timeoutMs: 5000 });
    const result = await handle.result;
    const endedAt = Date.now();
    expect(result.metadata.state).toBe('timedOut');
    expect(result.metadata.code).toBe('TIMED_OUT');
    const received = await server.waitForRequest(forModel(model));
    expect((await server.waitForClose(received)) - endedAt).toBeLessThan(200);
    expect(received.completed).toBe(false);
  });

  it('stream: chunks for three idle timeouts keep it alive; the stall after them times out one idle timeout after the last', async () => {
    // 12 chunks 250 ms apart (about 3 s of streaming), idle timeout 1 s: the idle deadline moves
    // with every chunk, while the session's wake-up in the deadline heap stays at the first one (a
    // spare tick there finds nothing due and re-arms). Until 2026-12-08 100 ms and 400 ms: at load
    // 29 one pause past 400 ms before the first chunk timed it out with no delta.
    const model = unique('fault:stall:after=12:chunk-ms=250');
    const long = { role: 'user' as const, content: 'abcd'.repeat(15) };
    const handle = runtime.submit(ask(model, { stream: true, messages: [long] }), {
      idleTimeoutMs: 1_000,
      timeoutMs: 15_000,
    });
    const startedAt = Date.now();
    let lastDeltaAt = 0;
    let deltas = 0;
    let written = '';
    for await (const event of handle.events) {
      if (event.type !== 'session.delta') continue;
      deltas += 1;
      if (event.delta.type === 'content') written += event.delta.text;
      lastDeltaAt = Date.now();
    }
    const result = await handle.result;
    const endedAt = Date.now();
    expect([result.metadata.state, result.metadata.code]).toEqual(['timedOut', 'TIMED_OUT']);
    expect(result.ok ? undefined : result.error.message).toMatch(/stream delta at least every 1000 ms/);
    // Every chunk the server sent before stalling (its first carries only the role) reached the caller.
    expect(deltas).toBe(11);
    // And the result keeps what they wrote: the text is not lost with the answer.
    expect(written.length).toBeGreaterThan(0);
    expect(result.ok ? undefined : result.partial).toStrictEqual({ content: written });
    expect(lastDeltaAt - startedAt).toBeGreaterThan(2500);
    // Not before the idle timeout after the last delta; and not much later (load allows some).
    expect(endedAt - lastDeltaAt).toBeGreaterThanOrEqual(990);
    expect(endedAt - lastDeltaAt).toBeLessThan(2600);
  });

  // `truncate`: the body ends cleanly, no finish chunk, no [DONE] (a proxy closing a long stream):
  // until 2026-12-04 the session ended `done` with the cut text as its whole answer.
  it.each([
    ['reset', 'reset-mid'],
    ['clean end', 'truncate'],
  ])(
    'stream: a connection %s after three chunks -> failed NETWORK, with the text they carried as partial',
    async (_, mode) => {
      const handle = runtime.submit(
        ask(unique(`fault:${mode}:after=4`), {
          stream: true,
          messages: [{ role: 'user', content: 'one two three four five six' }],
        }),
        { maxAttempts: 3 },
      );
      const written = await contentWritten(handle);
      const result = await handle.result;
      expect([result.metadata.state, result.metadata.code, result.metadata.attempts]).toEqual([
        'failed',
        'NETWORK',
        1,
      ]);
      expect(written.length).toBeGreaterThan(0);
      expect(result.ok ? undefined : result.partial).toStrictEqual({ content: written });
    },
  );

  it('a run deadline on a hanging call closes the server-side connection within 200 ms', async () => {
    const model = unique('fault:hang');
    const result = await runtime.submit(ask(model), { timeoutMs: 150 }).result;
    const endedAt = Date.now();
    expect(result.metadata.state).toBe('timedOut');
    const received = await server.waitForRequest(forModel(model));
    expect((await server.waitForClose(received)) - endedAt).toBeLessThan(200);
  });

  it('cancel() on a running session ends it cancelled and closes the connection within 200 ms', async () => {
    const model = unique('fault:hang');
    const handle = runtime.submit(ask(model));
    const received = await server.waitForRequest(forModel(model));
    const cancelledAt = Date.now();
    expect(handle.cancel('test')).toBe(true);
    const result = await handle.result;
    expect(result.metadata.state).toBe('cancelled');
    expect((await server.waitForClose(received)) - cancelledAt).toBeLessThan(200);
  });
});

describe('retries', () => {
  it('429 then success: done with attempts 2, the retry waits for Retry-After', async () => {
    const model = unique('fault:429:retry-after-ms=300:first=1');
    const result = await runtime.submit(ask(model), { maxAttempts: 3, timeoutMs: 5000 }).result;
    expect(result.ok).toBe(true);
    expect(result.metadata.state).toBe('done');
    expect(result.metadata.attempts).toBe(2);
    const [first, second] = server.requests.filter(forModel(model));
    expect(second!.receivedAt - first!.receivedAt).toBeGreaterThanOrEqual(290);
  });

  it('503 twice then success, streamed: done with attempts 3', async () => {
    const model = unique('fault:503:first=2');
    const result = await runtime.submit(ask(model, { stream: true }), { maxAttempts: 3, timeoutMs: 5000 })
      .result;
    expect([result.metadata.state, result.metadata.attempts]).toEqual(['done', 3]);
  });

  it('409 (a lock timeout, which the openai SDK retries) then success: done with attempts 2', async () => {
    const model = unique('fault:409:first=1');
    const result = await runtime.submit(ask(model), { maxAttempts: 3, timeoutMs: 5000 }).result;
    expect([result.metadata.state, result.metadata.attempts]).toEqual(['done', 2]);
    expect(server.requests.filter(forModel(model)).length).toBe(2);
  });

  it('401 is not retried: failed AUTH_FAILED after one attempt', async () => {
    const model = unique('fault:401');
    const result = await runtime.submit(ask(model), { maxAttempts: 5 }).result;
    expect([result.metadata.state, result.metadata.code, result.metadata.attempts]).toEqual([
      'failed',
      'AUTH_FAILED',
      1,
    ]);
    expect(server.requests.filter(forModel(model)).length).toBe(1);
  });

  it('never retries past the deadline: a long Retry-After ends the session well before it', async () => {
    const model = unique('fault:429:retry-after=10');
    const started = Date.now();
    const result = await runtime.submit(ask(model), { maxAttempts: 5, timeoutMs: 400 }).result;
    expect(result.metadata.state).not.toBe('done');
    expect(Date.now() - started).toBeLessThan(3000);
    expect(server.requests.filter(forModel(model)).length).toBe(1);
  });
});

describe('limits and routing', () => {
  it('per-provider limit holds under 200 concurrent submits (server max in flight <= 4)', async () => {
    const handles = Array.from({ length: 200 }, (_, i) =>
      runtime.submit(ask('fault:ok:latency=5', { messages: [{ role: 'user', content: `n${i}` }] }), {
        queueTimeoutMs: 30_000,
      }),
    );
    const results = await Promise.all(handles.map((h) => h.result));
    expect(results.every((r) => r.ok)).toBe(true);
    expect(server.requests.length).toBe(200);
    expect(server.maxInFlight).toBeLessThanOrEqual(4);
    expect(server.maxInFlight).toBeGreaterThanOrEqual(2);
  });

  it('the registry as router refuses an unknown model before any network call', async () => {
    const registry = createModelRegistry([{ name: 'local', configured: true, models: [{ id: 'echo-1' }] }]);
    const routed = createRuntime({ providers: [provider], router: registry.router });
    expect(() => routed.submit(ask('nope-9'))).toThrow(expect.objectContaining({ code: 'MODEL_NOT_FOUND' }));
    const ok = await routed.submit(ask('echo-1')).result;
    expect(ok.ok).toBe(true);
    expect(server.requests.map((r) => (r.body as { model: string }).model)).toEqual(['echo-1']);
    await routed.shutdown({ deadlineMs: 100 });
  });
});
