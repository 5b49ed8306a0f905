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
