/**
 * Every row of both vendor error tables, end to end over real HTTP through the `kimi` and `glm`
 * presets (loaded from the environment as a user would), against the local server in Kimi and GLM
 * modes answering with the bodies the vendors document.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LoadedProviders, loadProviders } from '../../../src/providers/config.js';
import { GLM_ERRORS, KIMI_ERRORS } from '../../../src/providers/vendor-errors.js';
import { createRuntime } from '../../../src/runtime/runtime.js';
import type { Runtime, SessionResult } from '../../../src/runtime/types.js';
import { createOpenAIServer, type OpenAIServer } from '../../../src/testing/openai-server.js';
import { VENDOR_ERROR_CASES, type VendorMode } from '../../../src/testing/vendor-modes.js';

const KEY = 'sk-vendor-errors-0123456789abcdef';

interface Expected {
  readonly code: string;
  readonly retryable: boolean;
  readonly retryAfterMs?: number;
  /** Words the message must contain (what the user does next). */
  readonly says?: RegExp;
}

const EXPECTED: Readonly<Record<string, Expected>> = {
  'kimi.suspended': { code: 'QUOTA_EXHAUSTED', retryable: false, says: /Top up/ },
  'kimi.quota': { code: 'QUOTA_EXHAUSTED', retryable: false, says: /Top up or wait/ },
  'kimi.quota-403': { code: 'QUOTA_EXHAUSTED', retryable: false },
  'kimi.tpd': { code: 'QUOTA_EXHAUSTED', retryable: false, says: /tokens-per-day/ },
  'kimi.rate': { code: 'RATE_LIMITED', retryable: true, retryAfterMs: 7000 },
  'kimi.rate#concurrency-header': { code: 'RATE_LIMITED', retryable: true, retryAfterMs: 2000 },
  'kimi.overloaded': { code: 'RATE_LIMITED', retryable: true },
  'kimi.content-filter': { code: 'CONTENT_FILTERED', retryable: false, says: /high risk/ },
  'kimi.too-long': {
    code: 'CONTEXT_TOO_LONG',
    retryable: false,
    says: /context window of 262144 tokens \(`kimi-k2\.6`\)/,
  },
  'kimi.invalid': { code: 'INVALID_REQUEST', retryable: false },
  'kimi.auth': { code: 'AUTH_FAILED', retryable: false },
  'kimi.auth#incorrect-key': { code: 'AUTH_FAILED', retryable: false },
  'kimi.permission': { code: 'AUTH_FAILED', retryable: false },
  'kimi.not-found': { code: 'MODEL_NOT_FOUND', retryable: false },
  'kimi.server': { code: 'PROVIDER_UNAVAILABLE', retryable: true },
  'glm.auth': { code: 'AUTH_FAILED', retryable: false },
  'glm.account': { code: 'AUTH_FAILED', retryable: false },
  'glm.arrears': { code: 'QUOTA_EXHAUSTED', retryable: false, says: /recharge/ },
  'glm.account-busy': { code: 'PROVIDER_UNAVAILABLE', retryable: true },
  'glm.invalid': { code: 'INVALID_REQUEST', retryable: false },
  'glm.model': { code: 'MODEL_NOT_FOUND', retryable: false },
  'glm.permission': { code: 'AUTH_FAILED', retryable: false },
  'glm.api-gone': { code: 'INVALID_REQUEST', retryable: false },
  'glm.server': { code: 'PROVIDER_UNAVAILABLE', retryable: true },
  'glm.too-long': { code: 'CONTEXT_TOO_LONG', retryable: false, says: /204800 tokens \(`glm-4\.6`\)/ },
  'glm.sensitive': { code: 'CONTENT_FILTERED', retryable: false },
  'glm.concurrency': { code: 'RATE_LIMITED', retryable: true },
  'glm.frequency': { code: 'RATE_LIMITED', retryable: true },
  'glm.daily': { code: 'QUOTA_EXHAUSTED', retryable: false, says: /daily call limit/ },
  'glm.overloaded': { code: 'RATE_LIMITED', retryable: true },
  'glm.window': { code: 'QUOTA_EXHAUSTED', retryable: false, says: /resets at 2026-12-01 09:15:00/ },
  'glm.window#zoned': { code: 'QUOTA_EXHAUSTED', retryable: false, says: /resets at 2099-01-01T00:00:00Z/ },
  'glm.plan-expired': { code: 'QUOTA_EXHAUSTED', retryable: false, says: /renew/ },
  'glm.period': { code: 'QUOTA_EXHAUSTED', retryable: false, says: /resets at 2026-12-07 00:00:00/ },
};

interface Setup {
  server: OpenAIServer;
  loaded: LoadedProviders;
  runtime: Runtime;
}
const setups = new Map<VendorMode, Setup>();

async function setup(vendor: VendorMode, maxAttempts: number): Promise<Setup> {
  const server = createOpenAIServer({ apiKey: KEY, vendor });
  await server.start();
  const env =
    vendor === 'kimi'
      ? { MOONSHOT_API_KEY: KEY, KIMI_BASE_URL: server.baseURL }
      : { GLM_API_KEY: KEY, ZAI_BASE_URL: server.baseURL };
  const loaded = await loadProviders({ env });
  const runtime = createRuntime({
    providers: loaded.providers,
    router: loaded.registry.router,
    defaults: { maxAttempts, backoffBaseMs: 5, backoffMaxMs: 20 },
  });
  return { server, loaded, runtime };
}

beforeAll(async () => {
  setups.set('kimi', await setup('kimi', 1));
  setups.set('glm', await setup('glm', 1));
});
afterAll(async () => {
  for (const s of setups.values()) {
    await s.runtime.shutdown({ deadlineMs: 100 });
    await s.loaded.close();
    await s.server.close();
  }
});

/** One call whose last user message picks the documented body. */
async function call(vendor: VendorMode, caseName: string, model: string): Promise<SessionResult> {
  const s = setups.get(vendor) as Setup;
  // The message names the case, so the request carries a real catalogue model (its window is named).
  return s.runtime.submit({
    provider: vendor,
    model,
    messages: [{ role: 'user', content: `vendor-error:${caseName}` }],
  }).result as Promise<SessionResult>;
}

describe('every row of each vendor error table has a documented case', () => {
  it.each([
    ['kimi', KIMI_ERRORS.rows],
    ['glm', GLM_ERRORS.rows],
  ] as const)('%s', (vendor, rows) => {
    const cases = VENDOR_ERROR_CASES[vendor].map((c) => c.name.split('#')[0]);
    for (const row of rows) expect(cases, row.id).toContain(row.id);
    for (const c of VENDOR_ERROR_CASES[vendor]) expect(EXPECTED[c.name], c.name).toBeDefined();
  });
});

for (const vendor of ['kimi', 'glm'] as const) {
  describe(`${vendor}: documented errors become troupe codes over real HTTP`, () => {
    it.each(VENDOR_ERROR_CASES[vendor].map((c) => [c.name] as const))('%s', async (name) => {
      const expected = EXPECTED[name] as Expected;
      const result = await call(vendor, name, vendor === 'kimi' ? 'kimi-k2.6' : 'glm-4.6');
      expect(result.ok).toBe(false);
      if (result.ok) return;
      expect(result.error.code).toBe(expected.code);
      expect(result.error.retryable).toBe(expected.retryable);
      if (expected.retryAfterMs !== undefined) expect(result.error.retryAfterMs).toBe(expected.retryAfterMs);
      if (expected.says !== undefined) expect(result.error.message).toMatch(expected.says);
      expect(result.metadata.code).toBe(expected.code);
      expect(result.error.message).not.toContain(KEY);
    });
  });
}
