/**
 * Moonshot counts a call against its TPM and TPD limits as the prompt tokens plus the
 * `max_completion_tokens` sent, "而不考虑实际生成的 token 数量" (whatever was generated): Kimi help
 * center, "速率限制的计算逻辑" (MoonshotAI/kimi-help-center, zh-CN/kimi-api/rate-limits.md).
 * troupe's windows for Kimi are reconciled to that count, not to the usage; GLM's stay reconciled
 * to the usage. Over real HTTP, against the local server in Kimi and GLM modes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKimiProvider } from '../../../src/providers/kimi.js';
import {
  KIMI_K2_5_DEFAULT_MAX_TOKENS,
  KIMI_K3_DEFAULT_MAX_TOKENS,
  KIMI_THINKING_MAX_TOKENS,
} from '../../../src/providers/kimi-rules.js';
import type { RuntimeBackend } from '../../../src/runtime/backend.js';
import type { SessionRequest, SessionResult } from '../../../src/runtime/types.js';
import { redisBackend } from '../../../src/scale/redis-backend.js';
import { createOpenAIServer } from '../../../src/testing/openai-server.js';
import type { VendorMode } from '../../../src/testing/vendor-modes.js';
import { type RedisServer, startRedis } from '../../support/redis.js';
import { run as runRig, useVendorRigs, type VendorRig } from '../../support/vendor-rig.js';

const KEY = 'sk-kimi-rate-counting-0123456789abcdef';
const TPM = 1_000_000;
/** The vendor modes report 9 prompt tokens and a quarter of the content's characters. */
const PROMPT = 9;
const REPLY = 'x'.repeat(40);

const rigs = useVendorRigs(KEY);

let redis: RedisServer;
let prefixSeq = 0;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});

/** A rig whose server answers REPLY, with token windows of `tpm` a minute and ten times that a day. */
function rig(vendor: VendorMode, tpm = TPM, backend?: RuntimeBackend): Promise<VendorRig> {
  return rigs(vendor, {
    respond: () => ({ content: REPLY }),
    providerLimits: { [vendor]: { tokensPerMinute: tpm, tokensPerDay: 10 * tpm } },
    ...(backend === undefined ? {} : { backend }),
  });
}

/** A call that must succeed. */
async function run(r: VendorRig, request: SessionRequest): Promise<SessionResult> {
  const result = await runRig(r, request);
  expect(result.ok, JSON.stringify(result.ok ? {} : result.error)).toBe(true);
  return result;
}

function left(r: VendorRig, vendor: VendorMode) {
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

  // "max_tokens … 默认值为32k，即32768" (the K2.5, K2.6 and K2.7 Code quickstarts): with thinking off
  // troupe sends no budget, and Moonshot's limiter counts that default; until 2026-12-05 troupe
  // counted the usage, so a burst of such calls ran its window under Moonshot's.
  it.each(['kimi-k2.5', 'kimi-k2.6'])(
    "%s with thinking off, sent no budget, is charged Moonshot's own default (32768)",
    async (model) => {
      const r = await rig('kimi');
      const result = await run(r, {
        provider: 'kimi',
        model,
        thinking: 'disabled',
        messages: [{ role: 'user', content: 'hi' }],
      });
      const sent = r.server.requests.at(-1)?.body as Record<string, unknown>;
      expect(sent).toBeDefined();
      expect(sent.max_completion_tokens).toBeUndefined();
      expect(result.metadata.usage?.rateLimitTokens).toBe(PROMPT + KIMI_K2_5_DEFAULT_MAX_TOKENS);
      expect(left(r, 'kimi')?.tokensPerMinute).toBe(TPM - (PROMPT + KIMI_K2_5_DEFAULT_MAX_TOKENS));
    },
  );

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

const backends: [string, () => Promise<RuntimeBackend | undefined>][] = [
  ['memory', async () => undefined],
  ['redis', async () => redisBackend({ url: redis.url, prefix: `krc${++prefixSeq}` })],
];

describe.each(backends)(
  'Kimi: admission charges what Moonshot will count, before the answer (%s)',
  (_name, backend) => {
    /** One call, then a second one, as Moonshot would count them against a window of `tpm`. */
    async function twice(model: string, tpm: number, fields: Partial<SessionRequest> = {}) {
      const r = await rig('kimi', tpm, await backend());
      const ask = {
        provider: 'kimi',
        model,
        messages: [{ role: 'user' as const, content: 'hi' }],
        ...fields,
      };
      await run(r, ask);
      const second = await r.runtime.submit(ask, { queueTimeoutMs: 1500 }).result;
      return { r, second };
    }

    it("a thinking call without max_tokens is charged troupe's budget (32768) at admission, so the next waits", async () => {
      // 40,000 a minute: one call counted as prompt + 32768 leaves no room for a second one.
      const { r, second } = await twice('kimi-k2.6', 40_000);
      expect(second.ok).toBe(false);
      if (second.ok) return;
      expect(second.error.code).toBe('TIMED_OUT');
      expect(second.metadata.waitingFor).toBe('tokensPerMinute');
      expect(r.server.requests).toHaveLength(1);
    });

    it("kimi-k3 without max_tokens is charged Moonshot's own default (131072) at admission", async () => {
      const { r, second } = await twice('kimi-k3', 200_000);
      expect(second.ok || second.error.code).toBe('TIMED_OUT');
      expect(r.server.requests).toHaveLength(1);
    });

    it('kimi-k3 without max_tokens under a window smaller than 131072 is refused at once, naming the limit', async () => {
      const r = await rig('kimi', 100_000, await backend());
      const ask = {
        provider: 'kimi',
        model: 'kimi-k3',
        messages: [{ role: 'user' as const, content: 'hi' }],
      };
      // Refused at submit, as every admission refusal is (not at its queue deadline); nothing was sent.
      let refused: unknown;
      try {
        r.runtime.submit(ask, { queueTimeoutMs: 20_000 });
      } catch (error) {
        refused = error;
      }
      expect(refused).toMatchObject({ code: 'INVALID_REQUEST' });
      expect((refused as Error).message).toContain('limits.providers.kimi.tokensPerMinute (100000 tokens)');
      expect((refused as Error).message).toContain('it could never start');
      expect(r.server.requests).toHaveLength(0);
      // With a budget that fits, it goes.
      expect((await run(r, { ...ask, max_tokens: 1000 })).ok).toBe(true);
    });

    it("kimi-k2.6 with thinking off, sent no budget, is charged Moonshot's own default (32768) at admission", async () => {
      const { r, second } = await twice('kimi-k2.6', 40_000, { thinking: 'disabled' });
      expect(second.ok || second.error.code).toBe('TIMED_OUT');
      expect(r.server.requests).toHaveLength(1);
      expect(r.server.requests[0]?.body).not.toHaveProperty('max_completion_tokens');
    });

    it('a model sent no budget is charged limits.defaultCompletionTokens: the next fits', async () => {
      const { r, second } = await twice('moonshot-v1-8k', 40_000);
      expect(second.ok).toBe(true);
      expect(r.server.requests).toHaveLength(2);
    });
  },
);

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
