/**
 * Fallback chains and the context-window check over real HTTP: the Kimi and GLM presets, loaded
 * from the environment as a user would, against two local servers in Kimi and GLM modes.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type LoadedProviders, loadProviders } from '../../../src/providers/config.js';
import { createRuntime } from '../../../src/runtime/runtime.js';
import type {
  Runtime,
  SessionEvent,
  SessionRequest,
  SessionResult,
  SubmitOptions,
} from '../../../src/runtime/types.js';
import { createOpenAIServer, type OpenAIServer } from '../../../src/testing/openai-server.js';

const KEY = 'sk-fallbacks-0123456789abcdef';
let kimi: OpenAIServer;
let glm: OpenAIServer;
let loaded: LoadedProviders;
let runtime: Runtime;

beforeAll(async () => {
  kimi = createOpenAIServer({ apiKey: KEY, vendor: 'kimi' });
  glm = createOpenAIServer({ apiKey: KEY, vendor: 'glm' });
  await Promise.all([kimi.start(), glm.start()]);
  loaded = await loadProviders({
    env: { MOONSHOT_API_KEY: KEY, KIMI_BASE_URL: kimi.baseURL, GLM_API_KEY: KEY, ZAI_BASE_URL: glm.baseURL },
  });
  runtime = createRuntime({
    providers: loaded.providers,
    router: loaded.registry.router,
    defaults: { maxAttempts: 1, idleTimeoutMs: 1500, timeoutMs: 20_000 },
  });
});
afterAll(async () => {
  await runtime?.shutdown({ deadlineMs: 100 });
  await loaded?.close();
  await Promise.all([kimi?.close(), glm?.close()]);
});
beforeEach(() => {
  kimi.reset();
  glm.reset();
});

const chats = (server: OpenAIServer) => server.requests.filter((r) => r.path.endsWith('/chat/completions'));
const toGlm = [{ provider: 'glm', model: 'glm-4.6' }] as const;

async function run(
  request: SessionRequest,
  options: SubmitOptions = {},
): Promise<{ result: SessionResult; deltas: string[]; events: SessionEvent[] }> {
  const handle = runtime.submit(request, options);
  const deltas: string[] = [];
  const events: SessionEvent[] = [];
  for await (const event of handle.events) {
    events.push(event);
    if (event.type === 'session.delta' && event.delta.type === 'content') deltas.push(event.delta.text);
  }
  return { result: await handle.result, deltas, events };
}

describe('fallbacks over real HTTP', () => {
  it('Kimi out of quota (its documented 429 body) falls back to GLM, which answers', async () => {
    // The test server answers a model named `vendor-error:<case>` with that case's documented body.
    const { result, events } = await run({
      provider: 'kimi',
      model: 'vendor-error:kimi.quota',
      messages: [{ role: 'user', content: 'hello from the fallback test' }],
      fallbacks: toGlm,
    });
    expect(result.ok).toBe(true);
    expect(result.ok && result.content).toContain('hello from the fallback test');
    expect(result.metadata).toMatchObject({ provider: 'glm', model: 'glm-4.6', state: 'done', attempts: 2 });
    expect(result.metadata.route?.map((h) => [h.provider, h.model, h.outcome])).toEqual([
      ['kimi', 'vendor-error:kimi.quota', 'QUOTA_EXHAUSTED'],
      ['glm', 'glm-4.6', 'done'],
    ]);
    expect(chats(kimi)).toHaveLength(1);
    expect(chats(glm)).toHaveLength(1);
    expect(events.find((e) => e.type === 'session.fallback')).toMatchObject({
      to: { provider: 'glm', model: 'glm-4.6' },
      error: { code: 'QUOTA_EXHAUSTED' },
    });
  });

  it.each([
    ['1312', 'glm.model-busy'],
    ['1305', 'glm.overloaded'],
  ])(
    "GLM's %s (this model is overloaded: try later or another) moves on at once, and cools no provider down",
    async (_code, name) => {
      const before = runtime.metrics().limits;
      const { result } = await run({
        provider: 'glm',
        model: `vendor-error:${name}`,
        messages: [{ role: 'user', content: 'another model, please' }],
        fallbacks: [{ provider: 'glm', model: 'glm-4.7' }],
      });
      expect(result.ok).toBe(true);
      expect(result.metadata.route?.map((h) => [h.model, h.outcome])).toEqual([
        [`vendor-error:${name}`, 'PROVIDER_UNAVAILABLE'],
        ['glm-4.7', 'done'],
      ]);
      expect(chats(glm)).toHaveLength(2);
      expect(runtime.metrics().limits).toMatchObject({
        rateLimited: before?.rateLimited,
        cooldowns: before?.cooldowns,
      });
    },
  );

  it('a 429 on every attempt a target has moves on to the next target instead of failing', async () => {
    // Each 429 could be waited out (Retry-After 1 s, deadline 20 s): the first is retried on the
    // same model, the second spends its two attempts, and the fallback answers.
    const limited = 'fault:429:retry-after=1:tag=every-attempt';
    const { result } = await run(
      {
        provider: 'glm',
        model: limited,
        messages: [{ role: 'user', content: 'rate limited twice' }],
        fallbacks: [{ provider: 'glm', model: 'glm-4.7' }],
      },
      { maxAttempts: 2 },
    );
    expect(result.ok).toBe(true);
    expect(result.metadata).toMatchObject({ model: 'glm-4.7', attempts: 3 });
    expect(result.metadata.route?.map((h) => [h.model, h.outcome])).toEqual([
      [limited, 'RATE_LIMITED'],
      ['glm-4.7', 'done'],
    ]);
    expect(chats(glm).map((r) => (r.body as { model: string }).model)).toEqual([limited, limited, 'glm-4.7']);
  });

  it('a stream that fails after its first delta does not fall back: the caller saw one target only', async () => {
    const { result, deltas } = await run({
      provider: 'kimi',
      model: 'fault:reset-mid:after=4:chunk-ms=30',
      stream: true,
      messages: [{ role: 'user', content: 'one two three four five six' }],
      fallbacks: toGlm,
    });
    expect(result.ok).toBe(false);
    expect(result.ok ? '' : result.error.code).toBe('NETWORK');
    expect(deltas.length).toBeGreaterThan(0);
    expect(chats(glm)).toHaveLength(0);
    expect(result.metadata.route?.map((h) => h.outcome)).toEqual(['NETWORK']);
  });

  it('a stream that fails before its first delta does fall back, and streams the fallback only', async () => {
    const { result, deltas } = await run({
      provider: 'kimi',
      model: 'fault:reset',
      stream: true,
      messages: [{ role: 'user', content: 'streamed by glm' }],
      fallbacks: toGlm,
    });
    expect(result.ok).toBe(true);
    expect(deltas.join('')).toBe(result.ok ? result.content : '');
    expect(result.metadata.route?.map((h) => `${h.provider} ${h.outcome}`)).toEqual([
      'kimi NETWORK',
      'glm done',
    ]);
  });

  it('a stream with no first delta within the idle timeout moves on', async () => {
    const { result } = await run({
      provider: 'kimi',
      model: 'fault:hang',
      stream: true,
      messages: [{ role: 'user', content: 'are you there' }],
      fallbacks: toGlm,
    });
    expect(result.ok).toBe(true);
    const route = result.metadata.route ?? [];
    expect(route.map((h) => `${h.provider} ${h.outcome}`)).toEqual(['kimi TIMED_OUT', 'glm done']);
    expect(route[0]?.ms).toBeGreaterThanOrEqual(1500);
  });

  it('an error that is not a fallback one (Kimi auth failure) does not move', async () => {
    const { result } = await run({
      provider: 'kimi',
      model: 'vendor-error:kimi.auth',
      messages: [{ role: 'user', content: 'hi' }],
      fallbacks: toGlm,
    });
    expect(result.ok ? '' : result.error.code).toBe('AUTH_FAILED');
    expect(chats(glm)).toHaveLength(0);
  });
});

describe('the context-window check over real HTTP', () => {
  // About 12,000 tokens by the estimate rule: over moonshot-v1-8k's 8,192, under glm-4.6's 204,800.
  const long = 'lorem ipsum '.repeat(4000);

  it('a long prompt goes to the larger-window model without a request to the small one', async () => {
    const { result } = await run({
      provider: 'kimi',
      model: 'moonshot-v1-8k',
      max_tokens: 256,
      messages: [{ role: 'user', content: long }],
      fallbacks: toGlm,
    });
    expect(result.ok).toBe(true);
    expect(chats(kimi)).toHaveLength(0);
    expect(chats(glm)).toHaveLength(1);
    expect(result.metadata.route).toEqual([
      { provider: 'kimi', model: 'moonshot-v1-8k', outcome: 'CONTEXT_TOO_LONG', ms: 0 },
      expect.objectContaining({ provider: 'glm', model: 'glm-4.6', outcome: 'done' }),
    ]);
  });

  it("the vendor's own CONTEXT_TOO_LONG moves to a fallback with a known window, past one without", async () => {
    // The first model's window is unknown (an open id), so only the vendor can say it is too long.
    const { result } = await run({
      provider: 'kimi',
      model: 'vendor-error:kimi.too-long',
      messages: [{ role: 'user', content: 'a prompt the vendor finds too long' }],
      fallbacks: [{ provider: 'glm', model: 'unlisted-glm' }, ...toGlm],
    });
    expect(result.ok).toBe(true);
    expect(result.metadata.route?.map((h) => `${h.model} ${h.outcome}`)).toEqual([
      'vendor-error:kimi.too-long CONTEXT_TOO_LONG',
      'unlisted-glm CONTEXT_TOO_LONG',
      'glm-4.6 done',
    ]);
    expect(result.metadata.route?.[1]?.ms).toBe(0);
    expect(chats(glm).map((r) => (r.body as { model: string }).model)).toEqual(['glm-4.6']);
  });

  it('without a fallback it is refused with the numbers, and nothing is sent', () => {
    expect(() =>
      runtime.submit({
        provider: 'kimi',
        model: 'moonshot-v1-8k',
        max_tokens: 256,
        messages: [{ role: 'user', content: long }],
      }),
    ).toThrow(
      /^Expected at most 8192 tokens for model moonshot-v1-8k, got an estimated 12005 prompt \+ 256 completion/,
    );
    expect(chats(kimi)).toHaveLength(0);
  });
});

describe('a model the key cannot use moves on to the next target', () => {
  it.each([
    ['glm', 'vendor-error:glm.plan-model', 'GLM 1311: the plan does not include the model'],
    ['kimi', 'fault:404', 'a 404 for the model'],
  ])('%s %s (%s): the fallback answers, and the route says why it moved', async (provider, model) => {
    const { result } = await run({
      provider,
      model,
      messages: [{ role: 'user', content: 'a model my plan has, please' }],
      fallbacks: [{ provider: 'glm', model: 'glm-4.7' }],
    });
    expect(result.ok).toBe(true);
    expect(result.metadata.route?.map((h) => [h.model, h.outcome])).toEqual([
      [model, 'MODEL_NOT_FOUND'],
      ['glm-4.7', 'done'],
    ]);
  });

  it('without a fallback it ends MODEL_NOT_FOUND, not retried', async () => {
    const { result } = await run({
      provider: 'glm',
      model: 'vendor-error:glm.plan-model',
      messages: [{ role: 'user', content: 'no chain' }],
    });
    expect(result.ok || result.error.code).toBe('MODEL_NOT_FOUND');
    expect(chats(glm)).toHaveLength(1);
  });
});

describe('one GLM model overloaded, with breakers on (as troupe serve runs)', () => {
  it('its 1305s and 1312s do not open the provider’s breaker: the fallback to another GLM model answers', async () => {
    const guarded = createRuntime({
      providers: loaded.providers,
      router: loaded.registry.router,
      defaults: { maxAttempts: 1, timeoutMs: 20_000 },
      breakers: { failures: 2, windowMs: 60_000, openMs: 60_000 },
    });
    try {
      for (const name of ['glm.overloaded', 'glm.model-busy', 'glm.overloaded']) {
        const result = await guarded.submit({
          provider: 'glm',
          model: `vendor-error:${name}`,
          messages: [{ role: 'user', content: 'busy' }],
          fallbacks: [{ provider: 'glm', model: 'glm-4.7' }],
        }).result;
        expect(result.ok).toBe(true);
        expect(result.metadata.route?.map((h) => h.outcome)).toEqual(['PROVIDER_UNAVAILABLE', 'done']);
      }
      const glmBreaker = guarded.status().breakers?.find((b) => b.provider === 'glm');
      expect(glmBreaker?.state ?? 'closed').toBe('closed');
      expect(glmBreaker?.failures ?? 0).toBe(0);
      // A fault of the provider itself still counts: two 500s open it.
      for (let i = 0; i < 2; i++) {
        const failed = await guarded.submit({
          provider: 'glm',
          model: 'vendor-error:glm.server',
          messages: [{ role: 'user', content: 'down' }],
        }).result;
        expect(failed.ok || failed.error.code).toBe('PROVIDER_UNAVAILABLE');
      }
      const refused = await guarded.submit({
        provider: 'glm',
        model: 'glm-4.7',
        messages: [{ role: 'user', content: 'x' }],
      }).result;
      expect(refused.ok || refused.error.message).toMatch(/circuit breaker open/);
    } finally {
      await guarded.shutdown({ deadlineMs: 100 });
    }
  });
});
