import { describe, expect, it, vi } from 'vitest';
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

  it('routes with the window a vendor stated under the catalogue’s, and never a larger one', () => {
    const stated: Record<string, number> = { 'kimi/kimi-k2.6': 200_000, 'open/any': 8192, 'kimi/other': 1 };
    const told = createModelRegistry(
      [
        {
          name: 'kimi',
          configured: true,
          models: [
            { id: 'kimi-k2.6', contextWindow: 262_144 },
            { id: 'wide', contextWindow: 1000 },
          ],
        },
        { name: 'open', configured: true, models: [] },
      ],
      {
        learnedWindow: (provider, model) => {
          const tokens = stated[`${provider}/${model}`] ?? (model === 'wide' ? 1000 : undefined);
          return tokens === undefined ? undefined : { tokens, learnedAt: 0, stated: `max length: ${tokens}` };
        },
      },
    );
    expect(told.router({ messages: [], model: 'kimi-k2.6' })).toEqual({
      provider: 'kimi',
      model: 'kimi-k2.6',
      contextWindow: 200_000,
    });
    // An id the catalogue lacks gets the stated window; one stated at the catalogue's or over it is not taken.
    expect(told.router({ messages: [], provider: 'open', model: 'any' })).toEqual({
      provider: 'open',
      model: 'any',
      contextWindow: 8192,
    });
    expect(told.router({ messages: [], model: 'wide' })).toEqual({
      provider: 'kimi',
      model: 'wide',
      contextWindow: 1000,
    });
    stated['kimi/kimi-k2.6'] = 300_000;
    expect(told.router({ messages: [], model: 'kimi-k2.6' })?.contextWindow).toBe(262_144);
    // The catalogue itself is unchanged.
    expect(told.lookup('kimi', 'kimi-k2.6')?.contextWindow).toBe(262_144);
  });

  it('lists the window routing learned beside the catalogue’s, for a listed model it lowers only', async () => {
    const learned = new Map([
      ['kimi/kimi-k2.6', { tokens: 200_000, learnedAt: 1_765_000_000_000, stated: 'max length: 200000' }],
      ['kimi/wide', { tokens: 1000, learnedAt: 1, stated: 'max length: 1000' }],
      ['kimi/fresh', { tokens: 65_536, learnedAt: 2, stated: 'max length: 65536' }],
      ['kimi/unlisted', { tokens: 8192, learnedAt: 3, stated: 'max length: 8192' }],
    ]);
    const registry = createModelRegistry(
      [
        {
          name: 'kimi',
          configured: true,
          models: [
            { id: 'kimi-k2.6', contextWindow: 262_144 },
            { id: 'wide', contextWindow: 1000 },
            { id: 'plain', contextWindow: 8192 },
          ],
        },
      ],
      {
        learnedWindow: (provider, model) => learned.get(`${provider}/${model}`),
        fetchModels: async () => [{ id: 'fresh', contextWindow: 131_072 }],
      },
    );
    const models = () => registry.list()[0]?.models ?? [];
    expect(models()[0]).toEqual({
      id: 'kimi-k2.6',
      contextWindow: 262_144,
      capabilities: expect.any(Object),
      learnedWindow: { tokens: 200_000, learnedAt: 1_765_000_000_000, stated: 'max length: 200000' },
    });
    // One at the catalogue's window is not what routing uses; nor is anything for a model not learned.
    expect(models()[1]).not.toHaveProperty('learnedWindow');
    expect(models()[2]).not.toHaveProperty('learnedWindow');
    // A model only the vendor's list names: the catalogue has no window, so routing takes the learned one.
    await registry.refresh?.('kimi', { signal: new AbortController().signal });
    // An id learned but listed nowhere is not added: a model id is a caller's content (security.md).
    expect(models().map((m) => m.id)).toEqual(['kimi-k2.6', 'wide', 'plain', 'fresh']);
    expect(models()[3]).toMatchObject({ id: 'fresh', contextWindow: 131_072, fromVendor: true });
    expect(models()[3]?.learnedWindow).toEqual({ tokens: 65_536, learnedAt: 2, stated: 'max length: 65536' });
    // The listing is a copy: a client's change to it reaches neither the adapter's record nor routing.
    (models()[0]?.learnedWindow as { tokens: number }).tokens = 1;
    expect(learned.get('kimi/kimi-k2.6')?.tokens).toBe(200_000);
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
    const pending: {
      resolve: (ids: string[]) => void;
      reject: (error: unknown) => void;
      signal: AbortSignal;
    }[] = [];
    let now = 0;
    const r = createModelRegistry([{ name: 'kimi', configured: true, models: [{ id: 'kimi-k2.6' }] }], {
      now: () => now,
      fetchModels: (_provider, signal) =>
        new Promise<string[]>((resolve, reject) => pending.push({ resolve, reject, signal })),
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
    // Two still wait: the fetch goes on.
    expect(pending[0]?.signal.aborted).toBe(false);
    pending[0]?.resolve(['kimi-k2.6', 'kimi-next']);
    expect(ids(await first)).toEqual(['kimi-k2.6', 'kimi-next']);
    expect(ids(await third)).toEqual(['kimi-k2.6', 'kimi-next']);
    // Then cached: no fetch.
    await refresh();
    expect(pending).toHaveLength(1);
  });

  it('aborts the fetch once its last waiter leaves, and does not keep that abort as a failure', async () => {
    const { pending, refresh } = refreshing();
    const only = new AbortController();
    const waiting = refresh(only.signal);
    only.abort(new Error('client left'));
    await expect(waiting).rejects.toThrow('client left');
    expect(pending[0]?.signal.aborted).toBe(true);
    pending[0]?.reject(pending[0].signal.reason);
    await new Promise((r) => setImmediate(r));
    const next = refresh();
    expect(pending).toHaveLength(2);
    pending[1]?.resolve(['kimi-k2.6', 'kimi-next']);
    expect(ids(await next)).toContain('kimi-next');
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

describe('refresh: the vendor’s live model ids', () => {
  const signal = new AbortController().signal;
  const rig = (modelsCacheMs?: number) => {
    let now = 0;
    const fetched: { provider: string; signal: AbortSignal }[] = [];
    const live = createModelRegistry(
      [
        { name: 'kimi', configured: true, models: [{ id: 'kimi-k2.6' }] },
        { name: 'glm', configured: false, models: [{ id: 'glm-4.6' }], hint: 'set ZHIPUAI_API_KEY' },
      ],
      {
        now: () => now,
        ...(modelsCacheMs === undefined ? {} : { modelsCacheMs }),
        fetchModels: async (provider, signal) => {
          fetched.push({ provider, signal });
          return [`live-${fetched.length}`];
        },
      },
    );
    const refresh = (provider: string) => {
      if (live.refresh === undefined) throw new Error('Expected `refresh` with `fetchModels` given');
      return live.refresh(provider, { signal });
    };
    return { refresh, fetched, at: (ms: number) => (now = ms) };
  };
  const ids = (listed: { models: readonly { id: string }[] }) => listed.models.map((m) => m.id);

  it('reuses the ids it fetched for 10 minutes by default, and asks again at 10 minutes', async () => {
    const { refresh, fetched, at } = rig();
    expect(ids(await refresh('kimi'))).toEqual(['kimi-k2.6', 'live-1']);
    at(599_999);
    expect(ids(await refresh('kimi'))).toEqual(['kimi-k2.6', 'live-1']);
    at(600_000);
    expect(ids(await refresh('kimi'))).toEqual(['kimi-k2.6', 'live-2']);
    expect(fetched).toHaveLength(2);
  });

  it('reuses the ids it fetched when the wall clock is set forward an hour: their age is on the steady clock', async () => {
    let fetches = 0;
    let stepMs = 0;
    const realNow = Date.now.bind(Date);
    vi.spyOn(Date, 'now').mockImplementation(() => realNow() + stepMs);
    try {
      const live = createModelRegistry([{ name: 'kimi', configured: true, models: [] }], {
        fetchModels: async () => [`live-${++fetches}`],
      });
      await live.refresh?.('kimi', { signal });
      stepMs = 3_600_000;
      expect(ids((await live.refresh?.('kimi', { signal })) ?? { models: [] })).toEqual(['live-1']);
    } finally {
      vi.restoreAllMocks();
    }
    expect(fetches).toBe(1);
  });

  it('keeps them `modelsCacheMs` when given', async () => {
    const { refresh, fetched, at } = rig(1000);
    await refresh('kimi');
    at(999);
    await refresh('kimi');
    at(1000);
    await refresh('kimi');
    expect(fetched).toHaveLength(2);
  });

  it('asks no provider without a key, nor one it does not know', async () => {
    const { refresh, fetched } = rig();
    await expect(refresh('glm')).rejects.toMatchObject({
      code: 'NOT_CONFIGURED',
      message: expect.stringContaining('set ZHIPUAI_API_KEY'),
    });
    await expect(refresh('nope')).rejects.toMatchObject({ code: 'UNKNOWN_PROVIDER' });
    expect(fetched).toHaveLength(0);
  });
});

describe('refresh: what the vendor says of its models', () => {
  it('lists a vendor-only model with its window and capabilities; a catalogue entry stays as written', async () => {
    const live = createModelRegistry(
      [{ name: 'kimi', configured: true, models: [{ id: 'kimi-k2.6', contextWindow: 262_144 }] }],
      {
        fetchModels: async () => [
          { id: 'kimi-k2.6', contextWindow: 1 },
          { id: 'kimi-next', contextWindow: 524_288, capabilities: { thinking: true } },
          'plain-id',
        ],
      },
    );
    const listed = await (live.refresh as NonNullable<typeof live.refresh>)('kimi', {
      signal: new AbortController().signal,
    });
    const byId = new Map(listed.models.map((m) => [m.id, m]));
    expect(byId.get('kimi-k2.6')).toMatchObject({ contextWindow: 262_144 });
    expect(byId.get('kimi-k2.6')?.fromVendor).toBeUndefined();
    expect(byId.get('kimi-next')).toMatchObject({
      contextWindow: 524_288,
      fromVendor: true,
      capabilities: { thinking: true, vision: false, streaming: true },
    });
    expect(byId.get('plain-id')).toMatchObject({ contextWindow: null, fromVendor: true });
  });
});
