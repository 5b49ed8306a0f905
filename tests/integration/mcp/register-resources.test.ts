/**
 * `registerTools(..., { resources: true, prompts: true })` puts troupe's resources and prompts on a
 * server of yours, shaped by `charts` and `sessionFilter`. Until 2026-12-04 `registerTools` took
 * `charts` and `sessionFilter` and added no resource at all, so both did nothing, silently: now
 * each is refused by name without `resources: true`.
 */
import { Client, InMemoryTransport } from '@modelcontextprotocol/client';
import { McpServer } from '@modelcontextprotocol/server';
import { afterEach, describe, expect, it } from 'vitest';
import { createMcpContext } from '../../../src/mcp/context.js';
import { registerTools } from '../../../src/mcp/register.js';
import { createSimulatedProvider } from '../../../src/providers/simulated.js';
import { createRuntime } from '../../../src/runtime/runtime.js';
import type { Runtime } from '../../../src/runtime/types.js';

const CHART = 'stateDiagram-v2\n  queued --> running';
let runtime: Runtime | undefined;
let client: Client | undefined;

afterEach(async () => {
  await client?.close();
  await runtime?.shutdown({ deadlineMs: 0 });
  client = undefined;
  runtime = undefined;
});

async function connected(options: Parameters<typeof registerTools>[2]): Promise<Client> {
  runtime = createRuntime({ providers: [createSimulatedProvider()], defaults: { model: 'sim-fast' } });
  const server = new McpServer({ name: 'mine', version: '1.0.0' });
  registerTools(server, runtime, options);
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await server.connect(serverSide);
  client = new Client({ name: 'register-resources-test', version: '1' });
  await client.connect(clientSide);
  return client;
}

async function chatSessionId(mcp: Client): Promise<string> {
  const result = await mcp.callTool({
    name: 'chat',
    arguments: { prompt: 'hello', extra: { simulateLatencyMs: 0 } },
  });
  const session = (result.structuredContent as { session: { sessionId: string } }).session;
  return session.sessionId;
}

describe('registerTools with resources and prompts', () => {
  it('serves troupe’s resources, the charts given and the prompts', async () => {
    const mcp = await connected({
      tools: ['chat', 'consensus'],
      resources: true,
      prompts: true,
      charts: { session: CHART },
    });
    const id = await chatSessionId(mcp);
    const uris = (await mcp.listResources()).resources.map((r) => r.uri);
    expect(uris).toEqual(expect.arrayContaining(['troupe://sessions', 'troupe://models']));
    const chart = await mcp.readResource({ uri: 'troupe://charts/session' });
    expect(chart.contents[0]).toMatchObject({ mimeType: 'text/vnd.mermaid', text: CHART });
    const one = await mcp.readResource({ uri: `troupe://sessions/${id}` });
    expect(JSON.parse(String((one.contents[0] as { text: string }).text)).session.sessionId).toBe(id);
    const prompts = (await mcp.listPrompts()).prompts.map((p) => p.name);
    expect(prompts).toEqual(expect.arrayContaining(['second_opinion', 'review']));
  });

  it('applies the session filter given to the resources', async () => {
    const mcp = await connected({ tools: ['chat'], resources: true, sessionFilter: () => false });
    const id = await chatSessionId(mcp);
    const listed = (await mcp.listResources()).resources.map((r) => r.uri);
    expect(listed).not.toContain(`troupe://sessions/${id}`);
    await expect(mcp.readResource({ uri: `troupe://sessions/${id}` })).rejects.toThrow(
      /Expected a live or recent session id/,
    );
  });

  it('adds no resource and no prompt unless asked', async () => {
    const mcp = await connected({ tools: ['chat'] });
    expect(mcp.getServerCapabilities()?.resources).toBeUndefined();
    expect(mcp.getServerCapabilities()?.prompts).toBeUndefined();
  });

  it('offers a prompt only beside its tool, naming that tool as it is registered', async () => {
    const mcp = await connected({ tools: ['chat', 'sessions'], prefix: 'troupe_', prompts: true });
    // `review` asks for `consensus`, which is not there.
    expect((await mcp.listPrompts()).prompts.map((p) => p.name)).toEqual(['second_opinion']);
    const got = await mcp.getPrompt({ name: 'second_opinion', arguments: { question: 'why?' } });
    const [message] = got.messages;
    const text = (message?.content as { text?: string } | undefined)?.text;
    expect(text).toContain("call troupe's `troupe_chat` tool");
    expect((await mcp.listTools()).tools.map((t) => t.name)).toContain('troupe_chat');
  });

  it('refuses charts or a session filter without resources: true, naming the option', () => {
    const local = createRuntime({ providers: [createSimulatedProvider()], defaults: { model: 'sim-fast' } });
    const server = new McpServer({ name: 'mine', version: '1.0.0' });
    for (const options of [{ charts: { session: CHART } }, { sessionFilter: 'owner' as const }]) {
      const key = Object.keys(options)[0];
      expect(() => registerTools(server, local, options)).toThrow(
        expect.objectContaining({
          code: 'INVALID_REQUEST',
          message: expect.stringContaining(`Expected \`resources: true\` with \`${key}\``),
        }),
      );
    }
    void local.shutdown();
  });

  it('refuses a context option beside a context of yours, which would do nothing', () => {
    const local = createRuntime({ providers: [createSimulatedProvider()], defaults: { model: 'sim-fast' } });
    const context = createMcpContext({ runtime: local });
    const server = new McpServer({ name: 'mine', version: '1.0.0' });
    for (const [key, options] of [
      ['sessionFilter', { context, resources: true, sessionFilter: () => false }],
      ['charts', { context, resources: true, charts: { session: CHART } }],
      ['roots', { context, roots: ['/tmp'] }],
    ] as const) {
      expect(() => registerTools(server, local, options)).toThrow(
        expect.objectContaining({
          code: 'INVALID_REQUEST',
          message: `Expected no \`${key}\` beside \`context\`: the context's own options apply; give it to createMcpContext`,
        }),
      );
    }
    expect(registerTools(server, local, { context, resources: true }).names).toHaveLength(6);
    context.close();
    void local.shutdown();
  });
});
