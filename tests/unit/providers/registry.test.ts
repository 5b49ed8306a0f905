import { describe, expect, it } from 'vitest';
import { createModelRegistry } from '../../../src/providers/registry.js';

const registry = createModelRegistry(
  [
    {
      name: 'kimi',
      configured: true,
      models: [{ id: 'kimi-k2.6', contextWindow: 262_144, capabilities: { thinking: true, files: true } }],
    },
    {
      name: 'glm',
      configured: false,
      models: [{ id: 'glm-4.6', contextWindow: 204_800 }],
      hint: 'set ZHIPUAI_API_KEY',
    },
    { name: 'open', configured: true, models: [] },
  ],
  { defaultProvider: 'kimi' },
);

const codeOf = (run: () => unknown) => {
  try {
    run();
  } catch (error) {
    return [(error as { family: string }).family, (error as { code: string }).code];
  }
  return undefined;
};

describe('model registry', () => {
  it('resolves by provider, by model, and by defaults', () => {
    expect(registry.resolve({ provider: 'kimi' })).toEqual({ provider: 'kimi', model: 'kimi-k2.6' });
    expect(registry.resolve({ model: 'kimi-k2.6' })).toEqual({ provider: 'kimi', model: 'kimi-k2.6' });
    expect(registry.resolve({})).toEqual({ provider: 'kimi', model: 'kimi-k2.6' });
    expect(registry.resolve({ provider: 'open', model: 'anything' })).toEqual({
      provider: 'open',
      model: 'anything',
    });
    // The router also says what the catalogue knows: the window the request is checked against.
    expect(registry.router({ messages: [], provider: 'kimi' })).toEqual({
      provider: 'kimi',
      model: 'kimi-k2.6',
      contextWindow: 262_144,
    });
  });

  it("routes with a model's default completion budget and default fallbacks", () => {
    const chained = createModelRegistry([
      {
        name: 'a',
        configured: true,
        models: [
          { id: 'm', defaultMaxTokens: 512, fallbacks: [{ provider: 'b', model: 'n' }] },
          { id: 'plain' },
        ],
      },
      { name: 'b', configured: true, models: [{ id: 'n' }] },
    ]);
    expect(chained.router({ messages: [], model: 'm' })).toEqual({
      provider: 'a',
      model: 'm',
      defaultMaxTokens: 512,
      fallbacks: [{ provider: 'b', model: 'n' }],
    });
    expect(chained.router({ messages: [], model: 'plain' })).toEqual({ provider: 'a', model: 'plain' });
  });

  it('refuses unknown models, unknown providers and unconfigured providers with their codes', () => {
    expect(codeOf(() => registry.resolve({ provider: 'kimi', model: 'gpt-x' }))).toEqual([
      'provider',
      'MODEL_NOT_FOUND',
    ]);
    expect(codeOf(() => registry.resolve({ provider: 'nope' }))).toEqual(['runtime', 'UNKNOWN_PROVIDER']);
    expect(codeOf(() => registry.resolve({ provider: 'glm' }))).toEqual(['provider', 'NOT_CONFIGURED']);
  });

  it('an unlisted model with no provider named goes to an open provider, never to a closed one', () => {
    expect(registry.resolve({ model: 'llama-3' })).toEqual({ provider: 'open', model: 'llama-3' });
    const closed = createModelRegistry([{ name: 'kimi', configured: true, models: [{ id: 'a' }] }]);
    expect(codeOf(() => closed.resolve({ model: 'b' }))).toEqual(['provider', 'MODEL_NOT_FOUND']);
  });

  it('lists every provider honestly, with context windows and filled-in capabilities', () => {
    const listed = registry.list();
    expect(listed.map((p) => [p.name, p.configured])).toEqual([
      ['kimi', true],
      ['glm', false],
      ['open', true],
    ]);
    expect(listed[0]?.models[0]).toEqual({
      id: 'kimi-k2.6',
      contextWindow: 262_144,
      capabilities: { streaming: true, tools: true, thinking: true, files: true, vision: false },
    });
    expect(listed[2]?.openModels).toBe(true);
    expect(registry.lookup('glm', 'glm-4.6')?.contextWindow).toBe(204_800);
  });
});

describe('model registry refresh', () => {
  /** A registry whose `fetchModels` answers when the test says, counting its calls. */
  function refreshing() {
    const pending: { resolve: (ids: string[]) => void; reject: (error: Error) => void }[] = [];
    let now = 0;
    const r = createModelRegistry([{ name: 'kimi', configured: true, models: [{ id: 'kimi-k2.6' }] }], {
      now: () => now,
      fetchModels: () => new Promise<string[]>((resolve, reject) => pending.push({ resolve, reject })),
    });
    const refresh = (signal = new AbortController().signal) =>
      (r.refresh as NonNullable<typeof r.refresh>)('kimi', { signal });
    return { r, pending, refresh, advance: (ms: number) => (now += ms) };
  }
  const ids = (listed: { models: readonly { id: string }[] }) => listed.models.map((m) => m.id);

  it('sends one fetch for refreshes made while it is in flight; one caller’s abort ends only its wait', async () => {
    const { pending, refresh } = refreshing();
    const gone = new AbortController();
    const first = refresh();
    const leaving = refresh(gone.signal);
    const third = refresh();
    expect(pending).toHaveLength(1);
    gone.abort(new Error('client left'));
    await expect(leaving).rejects.toThrow('client left');
    pending[0]?.resolve(['kimi-k2.6', 'kimi-next']);
    expect(ids(await first)).toEqual(['kimi-k2.6', 'kimi-next']);
    expect(ids(await third)).toEqual(['kimi-k2.6', 'kimi-next']);
    // Then cached: no fetch.
    await refresh();
    expect(pending).toHaveLength(1);
  });

  it('answers a failed fetch’s error for 30 s, then fetches again', async () => {
    const { pending, refresh, advance } = refreshing();
    const first = refresh();
    pending[0]?.reject(Object.assign(new Error('401 from the vendor'), { code: 'AUTH' }));
    await expect(first).rejects.toThrow('401 from the vendor');
    advance(29_999);
    await expect(refresh()).rejects.toThrow('401 from the vendor');
    expect(pending).toHaveLength(1);
    advance(1);
    const again = refresh();
    expect(pending).toHaveLength(2);
    pending[1]?.resolve(['kimi-k2.6', 'kimi-next']);
    expect(ids(await again)).toContain('kimi-next');
  });
});
