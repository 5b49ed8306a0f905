/**
 * Limits in providers' own units, end to end over real HTTP: the test server enforces a tier as
 * Moonshot does (429 `rate_limit_reached_error`, optionally with `Retry-After`), the runtime and the
 * server share one fast clock so a 60 s window passes in 2 s.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadProviders } from '../../../src/providers/config.js';
import { preloadSdk } from '../../../src/providers/sdk-clients.js';
import { createRuntime } from '../../../src/runtime/runtime.js';
import type { Runtime } from '../../../src/runtime/types.js';
import { createOpenAIServer, type OpenAIServer } from '../../../src/testing/openai-server.js';
import { fastClock } from '../../support/fast-clock.js';
import { tempDir } from '../../support/temp-dir.js';

const KEY = 'sk-rate-limits-0123456789abcdef';
const FACTOR = 30;
const closing: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const close of closing.splice(0)) await close();
});

/** A vendor's test server enforcing `enforce`, and a runtime on its preset, on one fast clock. */
async function rig(
  vendor: 'kimi' | 'glm',
  file: Record<string, unknown>,
  enforce: Parameters<typeof createOpenAIServer>[0],
) {
  // The SDK loads on a provider's first call (`sdk-clients.ts`): at 30x, its few hundred ms on a
  // loaded machine were more of the server's clock than the window's margin. Loaded first, as
  // `troupe serve` loads it once it answers.
  await preloadSdk();
  const clock = fastClock(FACTOR);
  const server: OpenAIServer = createOpenAIServer({
    apiKey: KEY,
    vendor,
    ...enforce,
    // The server times each request on arrival: at 30x, a few ms of HTTP latency are a few hundred
    // ms of its clock, so its window is 59 s where the runtime counts 60.
    enforce: { windowMs: 50_000, ...enforce?.enforce, now: () => clock.now() },
  });
  await server.start();
  closing.push(() => server.close());
  const dir = tempDir('troupe-limits-');
  const configPath = join(dir, 'providers.json');
  await writeFile(configPath, JSON.stringify({ [vendor]: { baseURL: server.baseURL, ...file } }));
  const env = vendor === 'kimi' ? { MOONSHOT_API_KEY: KEY } : { ZHIPUAI_API_KEY: KEY };
  const loaded = await loadProviders({ env, configPath });
  closing.push(() => loaded.close());
  const runtime: Runtime = createRuntime({
    providers: loaded.providers,
    router: loaded.registry.router,
    clock,
    limits: { perProvider: loaded.perProviderLimits, providers: loaded.providerLimits },
    defaults: { queueTimeoutMs: 600_000, timeoutMs: 600_000 },
  });
  closing.unshift(() => runtime.shutdown({ deadlineMs: 1000 }));
  return { server, runtime };
}

const kimiRig = (file: Record<string, unknown>, enforce: Parameters<typeof createOpenAIServer>[0]) =>
  rig('kimi', file, enforce);

const ask = (text: string) => ({
  provider: 'kimi',
  model: 'moonshot-v1-8k',
  messages: [{ role: 'user' as const, content: text }],
});

describe("limits in providers' own units, over HTTP", () => {
  it('tier 0: five parallel calls all succeed, in priority order, and the server answers no 429', async () => {
    const { server, runtime } = await kimiRig(
      { tier: 0 },
      { enforce: { concurrency: 1, requestsPerMinute: 3, retryAfter: true } },
    );
    const handles = [
      runtime.submit(ask('first'), { priority: 5 }),
      runtime.submit(ask('low'), { priority: 1 }),
      runtime.submit(ask('high'), { priority: 9 }),
      runtime.submit(ask('middle'), { priority: 5 }),
      runtime.submit(ask('higher'), { priority: 7 }),
    ];
    // While they wait, each says what holds it.
    const waiting = runtime.sessions().filter((s) => s.state === 'queued');
    expect(waiting.length).toBe(4);
    const results = await Promise.all(handles.map((h) => h.result));
    expect(results.map((r) => r.ok)).toEqual([true, true, true, true, true]);
    const order = server.requests
      .filter((r) => r.path === '/v1/chat/completions')
      .map((r) => (r.body as { messages: { content: string }[] }).messages.at(-1)?.content);
    // Why a call was sent twice, if one was, before which: a 429 (the server's window and the
    // runtime's drifted apart under load) and its retry, or a second send of one attempt.
    expect(server.rateLimited).toBe(0);
    // The fourth and fifth waited for the 60 s window, not for a retry.
    expect(results.map((r) => r.metadata.attempts)).toEqual([1, 1, 1, 1, 1]);
    expect(order).toEqual(['first', 'high', 'higher', 'middle', 'low']);
    expect(results[1]?.metadata.queuedMs).toBeGreaterThanOrEqual(59_000);
  }, 30_000);

  it('a 429 with Retry-After pauses the provider: the sessions queued meanwhile cause no 429 of their own', async () => {
    // The runtime knows no rate limit; the server allows 5 a minute and says when to come back.
    const { server, runtime } = await kimiRig({}, { enforce: { requestsPerMinute: 5, retryAfter: true } });
    // Someone else spent this minute's requests.
    for (let i = 0; i < 5; i++) {
      await fetch(`${server.baseURL}/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify(ask(`elsewhere ${i}`)),
      });
    }
    const retries: string[] = [];
    const stop = runtime.subscribe((event) => {
      if (event.type === 'session.retry') retries.push(event.error.code);
    });
    closing.push(async () => stop());
    const first = runtime.submit(ask('first'));
    while (retries.length === 0) await new Promise((r) => setTimeout(r, 5));
    // The provider cools down: four more wait for it instead of each spending a 429.
    const rest = Array.from({ length: 4 }, (_, i) => runtime.submit(ask(`queued ${i}`)));
    await new Promise((r) => setTimeout(r, 50));
    expect(rest.map((h) => runtime.session(h.id)?.waitingFor)).toEqual([
      'cooldown',
      'cooldown',
      'cooldown',
      'cooldown',
    ]);
    const results = await Promise.all([first, ...rest].map((h) => h.result));
    expect(results.map((r) => r.ok)).toEqual([true, true, true, true, true]);
    expect(server.rateLimited).toBe(1);
    expect(retries).toEqual(['RATE_LIMITED']);
  }, 30_000);
});

describe('GLM limits each model apart, over HTTP', () => {
  async function glmRig(file: Record<string, unknown>) {
    // The server counts each model on its own and answers Z.ai's 1303 with Retry-After (tier-limits.ts).
    const { server, runtime } = await rig('glm', file, {
      enforce: { requestsPerMinute: 2, retryAfter: true },
    });
    const chat = (model: string, text: string) =>
      runtime.submit({ provider: 'glm', model, messages: [{ role: 'user' as const, content: text }] });
    // Someone else spent glm-4.6's minute.
    for (let i = 0; i < 2; i++) {
      await fetch(`${server.baseURL}/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'glm-4.6', messages: [{ role: 'user', content: `elsewhere ${i}` }] }),
      });
    }
    const retries: string[] = [];
    const stop = runtime.subscribe((event) => {
      if (event.type === 'session.retry') retries.push(event.error.code);
    });
    closing.push(async () => stop());
    const first = chat('glm-4.6', 'first');
    while (retries.length === 0) await new Promise((r) => setTimeout(r, 5));
    return { server, runtime, chat, first, retries };
  }

  it("a 429 for one model pauses only that model: the account's other models answer meanwhile", async () => {
    const { server, runtime, chat, first, retries } = await glmRig({});
    // A second call of the model waits for its cooldown, ahead of two calls of another model (its
    // own minute's two).
    const second = chat('glm-4.6', 'second');
    const flash = Array.from({ length: 2 }, (_, i) => chat('glm-4.5-flash', `flash ${i}`));
    const flashResults = await Promise.all(flash.map((h) => h.result));
    expect(flashResults.map((r) => r.ok)).toEqual([true, true]);
    // They were answered while glm-4.6 still cooled down (about 60 s of the runtime's clock).
    expect(runtime.session(second.id)?.state).toBe('queued');
    expect(runtime.session(second.id)?.waitingFor).toBe('cooldown');
    expect(runtime.session(first.id)?.state).toBe('running');
    // Status names the model cooling down; the provider itself stays open.
    const glm = runtime.status().limits?.glm;
    expect(glm?.cooldown).toBe('open');
    expect(Object.keys(glm?.models ?? {})).toEqual(['glm-4.6']);
    const results = await Promise.all([first.result, second.result]);
    expect(results.map((r) => r.ok)).toEqual([true, true]);
    expect(server.rateLimited).toBe(1);
    expect(retries).toEqual(['RATE_LIMITED']);
  }, 30_000);

  it('with `cooldownScope: "provider"` in the providers file, the same 429 pauses every model', async () => {
    const { runtime, chat, first } = await glmRig({ cooldownScope: 'provider' });
    const flash = chat('glm-4.5-flash', 'flash');
    await new Promise((r) => setTimeout(r, 200));
    expect(runtime.session(flash.id)?.state).toBe('queued');
    expect(runtime.session(flash.id)?.waitingFor).toBe('cooldown');
    const results = await Promise.all([first.result, flash.result]);
    expect(results.map((r) => r.ok)).toEqual([true, true]);
  }, 30_000);
});
