/**
 * When the vendor refuses a call for its length and its message states the window (GLM's 1210
 * "... exceeds the model's maximum context length 202750", Moonshot's "Your request exceeded model
 * token limit: 262144 (requested: N)"; docs/providers.md [Z1], [K4]), the error names that figure,
 * and the adapter checks later calls to the model against it before sending: only where it lowers
 * the window by half at most, or gives one to a model without; never from a figure no window is.
 * Over real HTTP against the local server in GLM and Kimi modes, loaded from the environment.
 */
import { describe, expect, it } from 'vitest';
import { catalogFromRegistry } from '../../../src/mcp/catalog.js';
import type { McpContext } from '../../../src/mcp/context.js';
import { listModelsTool } from '../../../src/mcp/tools/list-models.js';
import type { OpenAICompatibleProvider } from '../../../src/providers/openai-compatible.js';
import type { ChatMessage } from '../../../src/providers/port.js';
import { chatBodies, run, useVendorRigs, type VendorRig } from '../../support/vendor-rig.js';

const KEY = 'sk-stated-window-0123456789abcdef';
const rig = useVendorRigs(KEY);
const user = (content: string): ChatMessage => ({ role: 'user', content });
// About 203,500 tokens by the estimate rule (4 ASCII characters a token): over 202,750, under 204,800.
const BETWEEN = 'x'.repeat(814_000);
// About 275,000 tokens: over Moonshot's 262,144.
const OVER_256K = 'x'.repeat(1_100_000);

const statedOf = (r: VendorRig, model: string) =>
  (r.loaded.providers[0] as OpenAICompatibleProvider).learnedWindow(model)?.tokens;

/** What `list_models` shows of `model`, over the registry the load built (as `troupe serve` lists it). */
async function listedOf(r: VendorRig, model: string) {
  const mcp = { catalog: catalogFromRegistry(r.loaded.registry) } as unknown as McpContext;
  const listed = await listModelsTool.run({}, mcp, { signal: new AbortController().signal });
  const { providers } = listed.structured as unknown as { providers: { models: { id: string }[] }[] };
  return { text: listed.text, model: providers.flatMap((p) => p.models).find((m) => m.id === model) };
}

async function refused(r: VendorRig, provider: 'glm' | 'kimi', model: string, directive: string) {
  const result = await run(r, { provider, model, messages: [user(`vendor-error:${directive}`)] });
  expect(result.ok).toBe(false);
  if (result.ok) throw new Error('expected a refusal');
  expect(result.error.code).toBe('CONTEXT_TOO_LONG');
  return result.error.message;
}

describe('glm: the window its 1210 states', () => {
  it('is named, and the next call over it is refused before it is sent, or starts on a fallback', async () => {
    const r = await rig('glm');
    expect((await listedOf(r, 'glm-4.6')).model).toEqual({ id: 'glm-4.6', context_window: 204_800 });
    const before = Date.now();
    expect(await refused(r, 'glm', 'glm-4.6', 'glm.overflow')).toMatch(
      /exceed its context window of 202750 tokens \(`glm-4\.6`\), the figure the vendor states; troupe had 204800, and checks later calls to `glm-4\.6` against it: shorten/,
    );
    expect(statedOf(r, 'glm-4.6')).toBe(202_750);
    // `list_models` shows it, marked learned, beside the catalogue's figure.
    const listed = await listedOf(r, 'glm-4.6');
    expect(listed.model).toEqual({
      id: 'glm-4.6',
      context_window: 204_800,
      learned_window: {
        tokens: 202_750,
        learned_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
        stated: 'maximum context length 202750',
      },
    });
    const at = Date.parse(
      (listed.model as unknown as { learned_window: { learned_at: string } }).learned_window.learned_at,
    );
    expect(at).toBeGreaterThanOrEqual(before);
    expect(at).toBeLessThanOrEqual(Date.now());
    expect(listed.text).toMatch(
      /glm-4\.6 \[204800 tokens; learned 202750 at \S+ from the vendor's refusal "maximum context length 202750", checked instead\]/,
    );
    expect((await listedOf(r, 'glm-4.7-flashx')).model).not.toHaveProperty('learned_window');
    await expect(
      run(r, { provider: 'glm', model: 'glm-4.6', messages: [user(BETWEEN)] }),
    ).rejects.toMatchObject({
      code: 'CONTEXT_TOO_LONG',
      message: expect.stringMatching(
        /^Expected at most 202750 tokens for model glm-4\.6, got an estimated 2035\d\d prompt/,
      ),
    });
    // With a fallback whose window still fits, the call starts there: glm-4.6 is not called again.
    const moved = await run(r, {
      provider: 'glm',
      model: 'glm-4.6',
      messages: [user(BETWEEN)],
      fallbacks: [{ provider: 'glm', model: 'glm-4.7-flashx' }],
    });
    expect(moved.ok).toBe(true);
    expect(chatBodies(r).map((b) => b.model)).toEqual(['glm-4.6', 'glm-4.7-flashx']);
    // Other models keep their own windows.
    expect(statedOf(r, 'glm-4.7-flashx')).toBeUndefined();
  });
});

describe('kimi: the window its overflow message states', () => {
  it('gives a model the catalogue lacks the window the vendor stated', async () => {
    const r = await rig('kimi');
    expect(await refused(r, 'kimi', 'kimi-k2.8-preview', 'kimi.too-long')).toMatch(
      /exceed its context window of 262144 tokens \(`kimi-k2\.8-preview`\), the figure the vendor states, and checks later calls to `kimi-k2\.8-preview` against it: shorten/,
    );
    await expect(
      run(r, { provider: 'kimi', model: 'kimi-k2.8-preview', messages: [user(OVER_256K)] }),
    ).rejects.toMatchObject({
      code: 'CONTEXT_TOO_LONG',
      message: expect.stringMatching(/^Expected at most 262144 tokens for model kimi-k2\.8-preview/),
    });
    expect(chatBodies(r)).toHaveLength(1);
  });

  it('learns it from an error inside a 200 stream too', async () => {
    const r = await rig('kimi');
    const result = await run(r, {
      provider: 'kimi',
      model: 'kimi-k2.8-preview',
      stream: true,
      messages: [user('vendor-error:kimi.too-long@stream')],
    });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.code).toBe('CONTEXT_TOO_LONG');
    expect(result.error.message).toMatch(
      /the stream carried an error: .*context window of 262144 tokens \(`kimi-k2\.8-preview`\), the figure the vendor states, and checks later calls/,
    );
    expect(statedOf(r, 'kimi-k2.8-preview')).toBe(262_144);
  });

  it('names but does not keep a figure under half the known window, and ignores one no window is', async () => {
    const r = await rig('kimi');
    // Moonshot's older wording, from moonshot-v1-8k, if it came for kimi-k2.6.
    expect(await refused(r, 'kimi', 'kimi-k2.6', 'kimi.too-long#older')).toMatch(
      /exceed its context window of 8192 tokens \(`kimi-k2\.6`\), the figure the vendor states; troupe had 262144: shorten/,
    );
    expect(statedOf(r, 'kimi-k2.6')).toBeUndefined();
    expect(await refused(r, 'kimi', 'kimi-k2.8-preview', 'kimi.too-long#implausible')).toMatch(
      /exceed its context window \(`kimi-k2\.8-preview`\): shorten/,
    );
    expect(statedOf(r, 'kimi-k2.8-preview')).toBeUndefined();
    // Both models still take a long prompt to the vendor.
    const long = 'x'.repeat(400_000);
    const k26 = await run(r, { provider: 'kimi', model: 'kimi-k2.6', messages: [user(long)] });
    const k28 = await run(r, { provider: 'kimi', model: 'kimi-k2.8-preview', messages: [user(long)] });
    expect([k26.ok, k28.ok]).toEqual([true, true]);
    expect(chatBodies(r)).toHaveLength(4);
  });
});
