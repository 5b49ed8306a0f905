/**
 * `fallbacks` through the MCP tools with the SDK's real client over Streamable HTTP: a provider
 * over real HTTP that fails moves the call to its fallback, the route comes back in the session
 * metadata and in the text, consensus takes fallbacks per model, and bad fallbacks are refused.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOpenAICompatibleProvider } from '../../../src/providers/openai-compatible.js';
import { createSimulatedProvider } from '../../../src/providers/simulated.js';
import { createOpenAIServer, type OpenAIServer } from '../../../src/testing/openai-server.js';
import { type Harness, startHarness, structured, text } from './harness.js';

let server: OpenAIServer;
let h: Harness;
const remote = () => server.requests.filter((r) => r.path.endsWith('/chat/completions'));

beforeAll(async () => {
  server = createOpenAIServer({ apiKey: 'sk-mcp-fallbacks-0123456789' });
  await server.start();
  h = await startHarness({
    providers: [
      createSimulatedProvider({ name: 'fast', latencyMs: { min: 1, max: 5 } }),
      createOpenAICompatibleProvider({
        name: 'remote',
        baseURL: server.baseURL,
        apiKey: 'sk-mcp-fallbacks-0123456789',
      }),
    ],
  });
});
afterAll(async () => {
  await h?.close();
  await server?.close();
});

describe.each(['legacy', 'modern'] as const)('fallbacks over MCP (%s era)', (era) => {
  it('chat: a provider answering 503 over HTTP moves the call to its fallback; the route says so', async () => {
    server.reset();
    const client = await h.client(era);
    const result = await client.callTool({
      name: 'chat',
      arguments: {
        prompt: 'hello fallbacks',
        provider: 'remote',
        model: 'fault:503',
        fallbacks: [{ provider: 'fast', model: 'sim-pro' }],
      },
    });
    expect(result.isError).toBeFalsy();
    const s = structured(result);
    expect(s.content).toContain('hello fallbacks');
    expect(s.session).toMatchObject({ provider: 'fast', model: 'sim-pro', state: 'done', attempts: 2 });
    expect(
      s.session.route.map((h: { provider: string; outcome: string }) => `${h.provider} ${h.outcome}`),
    ).toEqual(['remote PROVIDER_UNAVAILABLE', 'fast done']);
    expect(remote()).toHaveLength(1);
    expect(text(result)).toContain('route remote/fault:503 PROVIDER_UNAVAILABLE → fast/sim-pro done');
  });

  it('consensus: each model has its own fallbacks', async () => {
    const client = await h.client(era);
    const s = structured(
      await client.callTool({
        name: 'consensus',
        arguments: {
          prompt: 'which?',
          models: [
            {
              provider: 'remote',
              model: 'fault:reset',
              fallbacks: [{ provider: 'fast', model: 'sim-fast' }],
            },
            { provider: 'fast', model: 'sim-pro' },
          ],
        },
      }),
    );
    expect(s).toMatchObject({ ok: true, succeeded: 2, failed: 0 });
    expect(s.answers[0]).toMatchObject({ provider: 'fast', model: 'sim-fast', ok: true });
    expect(s.answers[0].session.route.map((h: { outcome: string }) => h.outcome)).toEqual([
      'NETWORK',
      'done',
    ]);
    expect(s.answers[1].session.route).toBeUndefined();
  });

  it('refuses more than four fallbacks and a fallback without a model, naming the field', async () => {
    const client = await h.client(era);
    const many = await client.callTool({
      name: 'chat',
      arguments: { prompt: 'x', fallbacks: Array.from({ length: 5 }, () => ({ model: 'sim-fast' })) },
    });
    expect(many.isError).toBe(true);
    expect(text(many)).toMatch(/^INVALID_REQUEST: .*fallbacks/);
    const noModel = await client.callTool({
      name: 'chat',
      arguments: { prompt: 'x', fallbacks: [{ provider: 'fast' }] },
    });
    expect(noModel.isError).toBe(true);
    expect(text(noModel)).toMatch(/^INVALID_REQUEST: .*fallbacks/);
  });

  it('the tool schema lists `fallbacks` with its bound', async () => {
    const client = await h.client(era);
    const { tools } = await client.listTools();
    for (const name of ['chat', 'multi_file_chat']) {
      const schema = tools.find((t) => t.name === name)?.inputSchema as {
        properties: Record<string, { maxItems?: number }>;
      };
      expect(schema.properties.fallbacks?.maxItems, name).toBe(4);
    }
  });
});
