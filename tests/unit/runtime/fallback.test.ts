/**
 * Fallback chains and the context-window check through the runtime (in memory, simulated clock):
 * admission resolves the chain and refuses what fits nowhere; the session calls each target's own
 * adapter with its model; the route and the `session.fallback` event say what happened.
 */
import { describe, expect, it } from 'vitest';
import { SimulatedClock } from 'xstate';
import { providerError, TroupeError } from '../../../src/core/errors.js';
import type { ChatDelta, ChatProvider } from '../../../src/providers/port.js';
import { createModelRegistry, type ProviderEntry } from '../../../src/providers/registry.js';
import { createRuntime } from '../../../src/runtime/runtime.js';
import type { SessionEvent, SessionRequest } from '../../../src/runtime/types.js';
import { ScriptedProvider } from '../../../src/testing/scripted-provider.js';

const flush = () => new Promise((resolve) => setImmediate(resolve));
const ask = (content = 'hello', extra: Partial<SessionRequest> = {}): SessionRequest => ({
  messages: [{ role: 'user', content }],
  ...extra,
});

const ENTRIES: ProviderEntry[] = [
  { name: 'p', configured: true, models: [{ id: 'small', contextWindow: 1000, defaultMaxTokens: 100 }] },
  {
    name: 'q',
    configured: true,
    models: [
      { id: 'big', contextWindow: 100_000 },
      { id: 'chained', contextWindow: 100_000, fallbacks: [{ provider: 'p', model: 'small' }] },
    ],
  },
];

function setup(providers: ChatProvider[] = [new ScriptedProvider('p'), new ScriptedProvider('q')]) {
  const clock = new SimulatedClock();
  const registry = createModelRegistry(ENTRIES);
  const runtime = createRuntime({ providers, clock, router: registry.router, random: () => 0 });
  return { clock, runtime };
}

function refusal(fn: () => unknown): TroupeError {
  try {
    fn();
  } catch (error) {
    if (error instanceof TroupeError) return error;
    throw error;
  }
  throw new Error('Expected a refusal, got none');
}

async function drain(events: AsyncIterable<SessionEvent>): Promise<SessionEvent[]> {
  const out: SessionEvent[] = [];
  for await (const e of events) out.push(e);
  return out;
}

describe('fallbacks through the runtime', () => {
  it('a fallback error moves the session to the next target: its own adapter, its model, the route', async () => {
    const p = new ScriptedProvider('p');
    const q = new ScriptedProvider('q');
    const { clock, runtime } = setup([p, q]);
    const handle = runtime.submit(
      ask('hi', { provider: 'p', model: 'small', fallbacks: [{ provider: 'q', model: 'big' }] }),
    );
    const events = drain(handle.events);
    await flush();
    clock.increment(30);
    p.pending()[0]?.settle('retryable'); // PROVIDER_UNAVAILABLE
    await flush();
    clock.increment(0);
    await flush();
    expect(q.calls.map((c) => c.request.model)).toEqual(['big']);
    clock.increment(20);
    q.pending()[0]?.settle('ok');
    const result = await handle.result;
    expect(result).toMatchObject({ ok: true, content: 'answer 0' });
    expect(result.metadata).toMatchObject({ provider: 'q', model: 'big', attempts: 2 });
    expect(result.metadata.route).toEqual([
      { provider: 'p', model: 'small', outcome: 'PROVIDER_UNAVAILABLE', ms: 30 },
      { provider: 'q', model: 'big', outcome: 'done', ms: 20 },
    ]);
    const fallback = (await events).find((e) => e.type === 'session.fallback');
    expect(fallback).toMatchObject({
      from: { provider: 'p', model: 'small' },
      to: { provider: 'q', model: 'big' },
      error: { code: 'PROVIDER_UNAVAILABLE' },
    });
    // The error that ended a target's turn is counted; a hop is not a retry.
    expect(runtime.metrics()).toMatchObject({ retries: 0, providerErrors: { PROVIDER_UNAVAILABLE: 1 } });
    await runtime.shutdown();
  });

  it('an error that is not a fallback one (AUTH_FAILED) ends the session on its first target', async () => {
    const p = new ScriptedProvider('p');
    const q = new ScriptedProvider('q');
    const { runtime } = setup([p, q]);
    const handle = runtime.submit(
      ask('hi', { provider: 'p', model: 'small', fallbacks: [{ provider: 'q', model: 'big' }] }),
    );
    await flush();
    p.pending()[0]?.settle('fatal');
    const result = await handle.result;
    expect(result.ok).toBe(false);
    expect(q.calls).toHaveLength(0);
    expect(result.metadata.route).toEqual([{ provider: 'p', model: 'small', outcome: 'AUTH_FAILED', ms: 0 }]);
    await runtime.shutdown();
  });

  it('a stream that failed after its first delta does not fall back: no text from two targets', async () => {
    const streamed: string[] = [];
    const failing: ChatProvider = {
      name: 'p',
      complete: () => Promise.reject(new Error('unused')),
      async *stream(): AsyncIterable<ChatDelta> {
        yield { type: 'content', text: 'half an ans' };
        throw providerError('NETWORK', 'Expected the stream to go on, got a reset');
      },
    };
    const q = new ScriptedProvider('q');
    const { runtime } = setup([failing, q]);
    const handle = runtime.submit(
      ask('hi', {
        provider: 'p',
        model: 'small',
        stream: true,
        fallbacks: [{ provider: 'q', model: 'big' }],
      }),
    );
    for await (const e of handle.events)
      if (e.type === 'session.delta' && e.delta.type === 'content') streamed.push(e.delta.text);
    const result = await handle.result;
    expect(result.ok).toBe(false);
    expect(result.ok ? '' : result.error.code).toBe('NETWORK');
    expect(q.calls).toHaveLength(0);
    expect(streamed).toEqual(['half an ans']);
    await runtime.shutdown();
  });

  it("the model's default fallbacks from the catalogue apply when the request names none", async () => {
    const p = new ScriptedProvider('p');
    const q = new ScriptedProvider('q');
    const { clock, runtime } = setup([p, q]);
    const handle = runtime.submit(ask('hi', { provider: 'q', model: 'chained' }));
    await flush();
    q.pending()[0]?.settle('retryable');
    await flush();
    clock.increment(0);
    await flush();
    p.pending()[0]?.settle('ok');
    const result = await handle.result;
    expect(result.metadata.route?.map((h) => `${h.provider}/${h.model} ${h.outcome}`)).toEqual([
      'q/chained PROVIDER_UNAVAILABLE',
      'p/small done',
    ]);
    // An explicit empty list turns the model's default off.
    const none = runtime.submit(ask('hi', { provider: 'q', model: 'chained', fallbacks: [] }));
    await flush();
    q.pending()[0]?.settle('retryable');
    await flush();
    expect(p.calls).toHaveLength(1);
    none.cancel('done with it');
    expect((await none.result).metadata.route).toBeUndefined();
    await runtime.shutdown();
  });
});

describe('fallbacks and circuit breakers', () => {
  it("an open breaker fails its provider's calls fast, and sessions with fallbacks go to them with no call", async () => {
    const p = new ScriptedProvider('p');
    const q = new ScriptedProvider('q');
    const clock = new SimulatedClock();
    const runtime = createRuntime({
      providers: [p, q],
      clock,
      router: createModelRegistry(ENTRIES).router,
      random: () => 0,
      defaults: { maxAttempts: 1 },
      breakers: { failures: 1, openMs: 60_000 },
    });
    const first = runtime.submit(ask('hi', { provider: 'p', model: 'small' }));
    await flush();
    p.pending()[0]?.settle('retryable'); // opens p's breaker
    expect((await first.result).ok).toBe(false);
    const second = runtime.submit(
      ask('hi', { provider: 'p', model: 'small', fallbacks: [{ provider: 'q', model: 'big' }] }),
    );
    for (let i = 0; i < 5 && q.pending().length === 0; i++) {
      await flush();
      clock.increment(0);
    }
    expect(p.calls).toHaveLength(1);
    q.pending()[0]?.settle('ok');
    const result = await second.result;
    expect(result.metadata.route?.map((h) => `${h.provider} ${h.outcome}`)).toEqual([
      'p PROVIDER_UNAVAILABLE',
      'q done',
    ]);
    await runtime.shutdown();
  });
});

describe('the context-window check before the call', () => {
  const long = 'x'.repeat(4 * 1000); // 1000 tokens by the text rule, plus framing

  it('refuses a prompt over the window with the numbers, and calls nothing', () => {
    const p = new ScriptedProvider('p');
    const { runtime } = setup([p, new ScriptedProvider('q')]);
    const error = refusal(() => runtime.submit(ask(long, { provider: 'p', model: 'small' })));
    expect(error.code).toBe('CONTEXT_TOO_LONG');
    expect(error.message).toMatch(
      /^Expected at most 1000 tokens for model small, got an estimated 1005 prompt \+ 100 completion; /,
    );
    expect(p.calls).toHaveLength(0);
    expect(runtime.metrics().rejected).toEqual({ CONTEXT_TOO_LONG: 1 });
  });

  it('counts `max_tokens` as the completion, over the model default', () => {
    const { runtime } = setup();
    const error = refusal(() =>
      runtime.submit(ask('short', { provider: 'p', model: 'small', max_tokens: 995 })),
    );
    expect(error.message).toContain('got an estimated 7 prompt + 995 completion');
    expect(() =>
      runtime.submit(ask('short', { provider: 'p', model: 'small', max_tokens: 993 })),
    ).not.toThrow();
  });

  it('goes straight to a fallback with a larger window; the skipped target is in the route with 0 ms', async () => {
    const p = new ScriptedProvider('p');
    const q = new ScriptedProvider('q');
    const { clock, runtime } = setup([p, q]);
    const handle = runtime.submit(
      ask(long, { provider: 'p', model: 'small', fallbacks: [{ provider: 'q', model: 'big' }] }),
    );
    await flush();
    expect(p.calls).toHaveLength(0);
    clock.increment(5);
    q.pending()[0]?.settle('ok');
    const result = await handle.result;
    expect(result.metadata).toMatchObject({ provider: 'q', model: 'big' });
    expect(result.metadata.route).toEqual([
      { provider: 'p', model: 'small', outcome: 'CONTEXT_TOO_LONG', ms: 0 },
      { provider: 'q', model: 'big', outcome: 'done', ms: 5 },
    ]);
    // It was queued under the provider it calls.
    expect(runtime.status().providers.find((pr) => pr.name === 'q')).toBeDefined();
    await runtime.shutdown();
  });

  it('refuses when no target of the chain has room, naming the first', () => {
    const { runtime } = setup();
    const error = refusal(() =>
      runtime.submit(
        ask(long, { provider: 'p', model: 'small', fallbacks: [{ provider: 'p', model: 'small' }] }),
      ),
    );
    expect(error.code).toBe('CONTEXT_TOO_LONG');
    expect(error.message).toContain('Expected at most 1000 tokens for model small');
    expect(error.message).toContain('no larger window in its fallback');
  });

  it('does not check a model whose window is unknown', async () => {
    const p = new ScriptedProvider('p');
    const clock = new SimulatedClock();
    const runtime = createRuntime({ providers: [p], clock, defaults: { model: 'unlisted' } });
    const handle = runtime.submit(ask('x'.repeat(4_000_000)));
    await flush();
    expect(p.calls).toHaveLength(1);
    handle.cancel('checked');
    expect((await handle.result).metadata.route).toBeUndefined();
  });
});

describe('fallbacks that are not valid', () => {
  it('refuses more than MAX_FALLBACKS, a malformed entry, and an unknown provider, by index', () => {
    const { runtime } = setup();
    const many = Array.from({ length: 5 }, () => ({ provider: 'q', model: 'big' }));
    expect(refusal(() => runtime.submit(ask('hi', { fallbacks: many }))).message).toBe(
      'Expected at most 4 fallbacks, got 5; keep the likeliest',
    );
    const malformed = refusal(() => runtime.submit(ask('hi', { fallbacks: [{ model: '' }] })));
    expect(malformed.message).toMatch(
      /^Expected `fallbacks\[0\]` to be \{ provider\?: string, model: string \}/,
    );
    const unknown = refusal(() =>
      runtime.submit(
        ask('hi', {
          fallbacks: [
            { provider: 'q', model: 'big' },
            { provider: 'zz', model: 'm' },
          ],
        }),
      ),
    );
    expect(unknown.code).toBe('UNKNOWN_PROVIDER');
    expect(unknown.message).toMatch(/^fallbacks\[1\]: Expected one of the providers/);
  });
});
