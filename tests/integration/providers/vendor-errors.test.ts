/**
 * Every row of both vendor error tables, end to end over real HTTP through the `kimi` and `glm`
 * presets (loaded from the environment as a user would), against the local server in Kimi and GLM
 * modes answering with the bodies the vendors document. That every row has a case, and the mapping
 * of each without HTTP: tests/unit/providers/http-errors-vendors.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LoadedProviders, loadProviders } from '../../../src/providers/config.js';
import { createRuntime } from '../../../src/runtime/runtime.js';
import type { Runtime, SessionResult } from '../../../src/runtime/types.js';
import { createOpenAIServer, type OpenAIServer } from '../../../src/testing/openai-server.js';
import { VENDOR_ERROR_CASES, type VendorMode } from '../../../src/testing/vendor-modes.js';
import { EXPECTED, type Expected } from '../../fixtures/vendor-error-expectations.js';

const KEY = 'sk-vendor-errors-0123456789abcdef';

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
      // The local server is not the vendor's host: a refused key names it instead of the vendor's advice.
      const says = expected.viaProxy ?? expected.says;
      if (says !== undefined) expect(result.error.message).toMatch(says);
      if (expected.viaProxy !== undefined && expected.says !== undefined)
        expect(result.error.message).not.toMatch(expected.says);
      expect(result.metadata.code).toBe(expected.code);
      expect(result.error.message).not.toContain(KEY);
    });
  });
}
