/**
 * Moonshot counts a call against its TPM and TPD limits as the prompt tokens plus the
 * `max_completion_tokens` sent, "而不考虑实际生成的 token 数量" (whatever was generated): Kimi help
 * center, "速率限制的计算逻辑" (MoonshotAI/kimi-help-center, zh-CN/kimi-api/rate-limits.md).
 * troupe's windows for Kimi are reconciled to that count, not to the usage; GLM's stay reconciled
 * to the usage. Over real HTTP, against the local server in Kimi and GLM modes.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { type LoadedProviders, loadProviders } from '../../../src/providers/config.js';
import { createKimiProvider } from '../../../src/providers/kimi.js';
import { KIMI_K3_DEFAULT_MAX_TOKENS, KIMI_THINKING_MAX_TOKENS } from '../../../src/providers/kimi-rules.js';
import { createRuntime } from '../../../src/runtime/runtime.js';
import type { Runtime, SessionRequest, SessionResult } from '../../../src/runtime/types.js';
import { createOpenAIServer, type OpenAIServer } from '../../../src/testing/openai-server.js';
import type { VendorMode } from '../../../src/testing/vendor-modes.js';

const KEY = 'sk-kimi-rate-counting-0123456789abcdef';
const TPM = 1_000_000;
/** The vendor modes report 9 prompt tokens and a quarter of the content's characters. */
const PROMPT = 9;
const REPLY = 'x'.repeat(40);

interface Rig {
  server: OpenAIServer;
  loaded: LoadedProviders;
  runtime: Runtime;
}
const rigs: Rig[] = [];

afterEach(async () => {
  for (const r of rigs.splice(0)) {
    await r.runtime.shutdown({ deadlineMs: 100 });
    await r.loaded.close();
    await r.server.close();
  }
});

async function rig(vendor: VendorMode): Promise<Rig> {
  const server = createOpenAIServer({ apiKey: KEY, vendor, respond: () => ({ content: REPLY }) });
  await server.start();
  const env: Record<string, string> =
    vendor === 'kimi'
      ? { MOONSHOT_API_KEY: KEY, KIMI_BASE_URL: server.baseURL }
      : { GLM_API_KEY: KEY, ZAI_BASE_URL: server.baseURL };
  const loaded = await loadProviders({ env });
  const runtime = createRuntime({
    providers: loaded.providers,
    router: loaded.registry.router,
    limits: { providers: { [vendor]: { tokensPerMinute: TPM, tokensPerDay: 10 * TPM } } },
    defaults: { maxAttempts: 1 },
  });
  const made = { server, loaded, runtime };
  rigs.push(made);
  return made;
}

async function run(r: Rig, request: SessionRequest): Promise<SessionResult> {
  const result = await r.runtime.submit(request).result;
  expect(result.ok, JSON.stringify(result.ok ? {} : result.error)).toBe(true);
  return result;
}

function left(r: Rig, vendor: VendorMode) {
  return r.runtime.status({ recent: 0 }).limits?.[vendor]?.remaining;
}

describe('Kimi: TPM and TPD are counted as Moonshot counts them (prompt + budget sent)', () => {
  it("a thinking call with troupe's default budget charges prompt + 32768, not the tokens generated", async () => {
    const r = await rig('kimi');
    const result = await run(r, {
      provider: 'kimi',
      model: 'kimi-k2.6',
      messages: [{ role: 'user', content: 'hi' }],
    });
    const sent = r.server.requests.at(-1)?.body as Record<string, unknown>;
    expect(sent.max_completion_tokens).toBe(KIMI_THINKING_MAX_TOKENS);
    const generated = REPLY.length / 4;
    expect(result.metadata.usage).toMatchObject({
      promptTokens: PROMPT,
      totalTokens: PROMPT + generated,
      rateLimitTokens: PROMPT + KIMI_THINKING_MAX_TOKENS,
    });
    expect(left(r, 'kimi')).toMatchObject({
      tokensPerMinute: TPM - (PROMPT + KIMI_THINKING_MAX_TOKENS),
      tokensPerDay: 10 * TPM - (PROMPT + KIMI_THINKING_MAX_TOKENS),
    });
  });

  it("the caller's own budget is what is charged", async () => {
    const r = await rig('kimi');
    await run(r, {
      provider: 'kimi',
      model: 'kimi-k2.6',
      max_tokens: 500,
      messages: [{ role: 'user', content: 'hi' }],
    });
    expect(left(r, 'kimi')?.tokensPerMinute).toBe(TPM - (PROMPT + 500));
  });

  it("kimi-k3, sent no budget, is charged Moonshot's own default (131072)", async () => {
    const r = await rig('kimi');
    const result = await run(r, {
      provider: 'kimi',
      model: 'kimi-k3',
      messages: [{ role: 'user', content: 'hi' }],
    });
    const sent = r.server.requests.at(-1)?.body as Record<string, unknown>;
    expect(sent).toBeDefined();
    expect(sent.max_completion_tokens).toBeUndefined();
    expect(result.metadata.usage?.rateLimitTokens).toBe(PROMPT + KIMI_K3_DEFAULT_MAX_TOKENS);
    expect(left(r, 'kimi')?.tokensPerMinute).toBe(TPM - (PROMPT + KIMI_K3_DEFAULT_MAX_TOKENS));
  });

  it('with no budget sent (a model that does not think) the usage is what is charged', async () => {
    const r = await rig('kimi');
    const result = await run(r, {
      provider: 'kimi',
      model: 'moonshot-v1-8k',
      messages: [{ role: 'user', content: 'hi' }],
    });
    const sent = r.server.requests.at(-1)?.body as Record<string, unknown>;
    expect(sent).toBeDefined();
    expect(sent.max_completion_tokens).toBeUndefined();
    expect(result.metadata.usage?.rateLimitTokens).toBeUndefined();
    expect(left(r, 'kimi')?.tokensPerMinute).toBe(TPM - (PROMPT + REPLY.length / 4));
  });

  it('a whole answer (complete) carries the same count', async () => {
    const server = createOpenAIServer({ apiKey: KEY, vendor: 'kimi', respond: () => ({ content: REPLY }) });
    await server.start();
    const kimi = createKimiProvider({ apiKey: KEY, baseURL: server.baseURL });
    try {
      const answer = await kimi.complete(
        { model: 'kimi-k2.6', max_tokens: 700, messages: [{ role: 'user', content: 'hi' }] },
        { signal: AbortSignal.timeout(5000) },
      );
      expect(answer.usage?.rateLimitTokens).toBe(PROMPT + 700);
    } finally {
      await kimi.close();
      await server.close();
    }
  });
});

describe('GLM: no such rule is documented; its windows follow the usage', () => {
  it('a call with a budget is charged the tokens it used', async () => {
    const r = await rig('glm');
    const result = await run(r, {
      provider: 'glm',
      model: 'glm-4.6',
      max_tokens: 500,
      messages: [{ role: 'user', content: 'hi' }],
    });
    expect(result.metadata.usage?.rateLimitTokens).toBeUndefined();
    expect(left(r, 'glm')?.tokensPerMinute).toBe(TPM - (PROMPT + REPLY.length / 4));
  });
});
