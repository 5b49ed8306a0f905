/**
 * Completions stop at 100 values, the most the MCP spec lets a completion carry: a catalog may list
 * up to 1,000 models a provider, and its provider/model pairs many more, none of which need building
 * past the hundredth. Literal numbers, so the bound cannot move unnoticed.
 */
import { expect, it } from 'vitest';
import { catalogFromRegistry } from '../../../src/mcp/catalog.js';
import { completeModel, completeModelList, MAX_TYPED_LIST } from '../../../src/mcp/completions.js';
import { createMcpContext } from '../../../src/mcp/context.js';
import { createModelRegistry } from '../../../src/providers/registry.js';
import { createRuntime } from '../../../src/runtime/runtime.js';

it('completes at most 100 model ids and model lists from a catalog of 150 models', async () => {
  const models = Array.from({ length: 150 }, (_, i) => ({ id: `model-${i}`, contextWindow: 8192 }));
  const registry = createModelRegistry([{ name: 'p', configured: true, models }]);
  const runtime = createRuntime({ providers: [] });
  const mcp = createMcpContext({
    runtime,
    catalog: catalogFromRegistry(registry, { defaults: { provider: 'p' } }),
  });
  try {
    const ids = completeModel(mcp, '');
    expect(ids).toHaveLength(100);
    expect(ids.slice(0, 2)).toEqual(['model-0', 'model-1']);
    expect(completeModel(mcp, '', 'p')).toHaveLength(100);
    expect(completeModelList(mcp, '')).toHaveLength(100);
    // Fewer matches than the bound: all of them.
    expect(completeModel(mcp, 'model-14')).toHaveLength(11);
    // A model list past 4,096 characters gets nothing: each value would repeat it (a 1 MB list
    // came back as 42 MB); one up to the bound is completed.
    const list = `${'p/model-1,'.repeat(409)}p/model-14`;
    expect(list.length).toBe(4100);
    expect(completeModelList(mcp, list)).toEqual([]);
    expect(completeModelList(mcp, list.slice(10))).toHaveLength(11);
    expect(MAX_TYPED_LIST).toBe(4096);
  } finally {
    mcp.close();
    await runtime.shutdown({ deadlineMs: 0 });
  }
});
