/**
 * Two runtimes on one Redis share a provider's circuit breaker and a caller's budget through the
 * `SharedState` port: failures seen by one open the breaker for both; money spent through one is
 * refused by the other. Against the local OpenAI-compatible server over real HTTP.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TroupeError } from '../../src/core/errors.js';
import { createOpenAICompatibleProvider } from '../../src/providers/openai-compatible.js';
import { createRuntime } from '../../src/runtime/runtime.js';
import type { Runtime, RuntimeOptions } from '../../src/runtime/types.js';
import { redisBackend } from '../../src/scale/redis-backend.js';
import { createOpenAIServer, type OpenAIServer } from '../../src/testing/openai-server.js';
import { type RedisServer, startRedis } from '../support/redis.js';

const KEY = 'sk-scale-breaker-0123456789';
let redis: RedisServer;
let server: OpenAIServer;
let prefixSeq = 0;
const runtimes: Runtime[] = [];
const closers: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  redis = await startRedis();
  server = createOpenAIServer({
    apiKey: KEY,
    respond: () => ({ content: 'ok', usage: { prompt_tokens: 1000, completion_tokens: 1000 } }),
  });
  await server.start();
});
afterAll(async () => {
  for (const runtime of runtimes) await runtime.shutdown({ deadlineMs: 100 });
  for (const close of closers) await close();
  await server?.close();
  await redis?.stop();
});

/** Instances on one prefix, each with its own provider client: `next()` starts one more. */
function instances(options: Partial<RuntimeOptions>): () => Promise<Runtime> {
  const prefix = `bb${++prefixSeq}`;
  return async () => {
    const provider = createOpenAICompatibleProvider({ name: 'local', baseURL: server.baseURL, apiKey: KEY });
    closers.push(() => provider.close());
    const backend = await redisBackend({ url: redis.url, prefix });
    const runtime = createRuntime({
      providers: [provider],
      defaults: { provider: 'local', maxAttempts: 1 },
      ...options,
      backend,
    });
    await runtime.ready;
    runtimes.push(runtime);
    return runtime;
  };
}

const ask = (runtime: Runtime, model: string, owner = 'token:alice') =>
  runtime.submit(
    { model, messages: [{ role: 'user', content: 'hi' }], max_tokens: 1000 },
    { metadata: { owner } },
  ).result;

describe('two runtimes on one Redis', () => {
  it('share a breaker: failures run by one open it for the other, which fails fast', async () => {
    const next = instances({ breakers: { failures: 3, windowMs: 60_000, openMs: 60_000 } });
    // Only `a` is up while the provider fails, so `a` runs those sessions; then `b` takes over.
    const a = await next();
    for (let i = 0; i < 3; i++) {
      const failed = await ask(a, 'fault:503:tag=shared');
      expect(failed.ok ? undefined : failed.error.code).toBe('PROVIDER_UNAVAILABLE');
    }
    await a.shutdown({ deadlineMs: 100 });
    const b = await next();
    const requests = server.requests.length;
    const fast = await ask(b, 'fault:ok:tag=other');
    expect(fast.ok).toBe(false);
    if (!fast.ok) expect(fast.error.message).toContain('circuit breaker open after 3 failures');
    expect(server.requests.length).toBe(requests);
    expect(b.status().breakers).toEqual([
      expect.objectContaining({
        provider: 'local',
        state: 'open',
        opened: 1,
        lastError: 'PROVIDER_UNAVAILABLE',
      }),
    ]);
  });

  it("share a caller's budget: what one spent, the other refuses", async () => {
    // 1000 prompt + 1000 completion tokens at these prices: 0.011 USD a call; budget 0.02 USD.
    const next = instances({
      prices: { local: { echo: { input: 1, output: 10, currency: 'USD' } } },
      budgets: { perCaller: 0.02 },
    });
    const [a, b] = [await next(), await next()];
    expect((await ask(a, 'echo')).metadata.cost).toEqual({ amount: 0.011, currency: 'USD' });
    expect((await ask(b, 'echo')).ok).toBe(true);
    // Refused at submit when `a` already read the budget at its limit (its own call's reservation,
    // or `b`'s call leased here: one queue, two Workers), as in memory; else by the gate, which
    // reads what both spent.
    let refused: { code: string; message: string };
    try {
      const result = await ask(a, 'echo');
      refused = result.ok ? { code: 'ok', message: '' } : result.error;
      expect(refused.message).toContain('got 0.022 USD spent');
    } catch (error) {
      refused = error as TroupeError;
      expect(refused.message).toContain('Expected the budget of caller `token:alice` (0.02 USD per UTC day)');
    }
    expect(refused.code).toBe('BUDGET_EXCEEDED');
    const other = await ask(b, 'echo', 'token:bob');
    expect(other.ok).toBe(true);
  });
});
