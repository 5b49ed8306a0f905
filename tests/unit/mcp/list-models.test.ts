/**
 * `list_models` with `refresh` (`src/mcp/tools/list-models.ts`), over a registry whose `/models`
 * fetch is a function: each configured provider is asked, under the call's own signal, and one that
 * fails is a line of the text, not the tool's failure (docs/providers.md, "The model registry").
 */
import { describe, expect, it } from 'vitest';
import { providerError } from '../../../src/core/errors.js';
import { catalogFromRegistry } from '../../../src/mcp/catalog.js';
import type { McpContext } from '../../../src/mcp/context.js';
import { listModelsTool } from '../../../src/mcp/tools/list-models.js';
import { createModelRegistry } from '../../../src/providers/registry.js';

describe('list_models refresh', () => {
  it('asks each configured provider under the call’s signal; one that fails is named in the text', async () => {
    const asked: { provider: string; signal: AbortSignal }[] = [];
    const call = new AbortController();
    const registry = createModelRegistry(
      [
        { name: 'kimi', configured: true, models: [{ id: 'kimi-k2.6' }] },
        { name: 'glm', configured: true, models: [{ id: 'glm-4.6' }] },
        { name: 'openai', configured: false, models: [] },
      ],
      {
        fetchModels: async (provider, signal) => {
          asked.push({ provider, signal });
          if (provider === 'kimi')
            throw providerError('RATE_LIMITED', 'kimi: Expected a model list, got 429');
          // The client cancels the call while this provider is asked.
          call.abort(new Error('cancelled by the client'));
          return ['glm-5'];
        },
      },
    );
    const mcp = { catalog: catalogFromRegistry(registry) } as unknown as McpContext;
    const outcome = await listModelsTool.run({ refresh: true }, mcp, { signal: call.signal });
    expect(asked.map((a) => a.provider)).toEqual(['kimi', 'glm']);
    expect(asked[1]?.signal.aborted).toBe(true);
    expect(outcome.structured).toMatchObject({ ok: true });
    expect(JSON.stringify(outcome.structured)).toContain('glm-5');
    expect(outcome.text).toContain(
      'kimi: could not refresh (RATE_LIMITED: kimi: Expected a model list, got 429)',
    );
    expect(outcome.text).not.toContain('openai: could not refresh');
  });
});

describe('list_models: a learned window', () => {
  it('is shown beside the catalogue’s, marked learned, with when and the vendor’s words', async () => {
    const learnedAt = Date.UTC(2026, 11, 8, 0, 41, 7);
    const registry = createModelRegistry(
      [
        {
          name: 'glm',
          configured: true,
          models: [
            { id: 'glm-4.6', contextWindow: 204_800 },
            { id: 'glm-5', contextWindow: 202_752 },
            { id: 'bare' },
          ],
        },
      ],
      {
        learnedWindow: (_provider, model) =>
          model === 'glm-4.6'
            ? { tokens: 202_750, learnedAt, stated: 'maximum context length 202750' }
            : undefined,
      },
    );
    const mcp = { catalog: catalogFromRegistry(registry) } as unknown as McpContext;
    const outcome = await listModelsTool.run({}, mcp, { signal: new AbortController().signal });
    const models = (outcome.structured as unknown as { providers: { models: unknown[] }[] }).providers[0]
      ?.models;
    expect(models).toEqual([
      {
        id: 'glm-4.6',
        context_window: 204_800,
        learned_window: {
          tokens: 202_750,
          learned_at: '2026-12-08T00:41:07.000Z',
          stated: 'maximum context length 202750',
        },
      },
      { id: 'glm-5', context_window: 202_752 },
      { id: 'bare' },
    ]);
    expect(listModelsTool.output.safeParse(outcome.structured).success).toBe(true);
    expect(outcome.text).toContain(
      `glm (configured): glm-4.6 [204800 tokens; learned 202750 at 2026-12-08T00:41:07.000Z from the vendor's refusal "maximum context length 202750", checked instead], glm-5 [202752 tokens], bare\n`,
    );
  });
});
