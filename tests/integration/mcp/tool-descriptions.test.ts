/**
 * What `tools/list` tells a host's model is what the server enforces: a limit the call is refused
 * past is stated, with the server's own value, so a model gets the call right the first time.
 * Until 2026-12-07 `multi_file_chat` said only "Files are capped in size".
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, InMemoryTransport } from '@modelcontextprotocol/client';
import { McpServer } from '@modelcontextprotocol/server';
import { afterEach, describe, expect, it } from 'vitest';
import { createMcpContext, type McpContextOptions } from '../../../src/mcp/context.js';
import { MAX_PATH_CHARS } from '../../../src/mcp/files.js';
import { registerTools } from '../../../src/mcp/register.js';
import { createSimulatedProvider } from '../../../src/providers/simulated.js';
import { createRuntime } from '../../../src/runtime/runtime.js';
import type { Defaults, Runtime } from '../../../src/runtime/types.js';

const runtimes: Runtime[] = [];
const clients: Client[] = [];
const dirs: string[] = [];

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await Promise.all(runtimes.splice(0).map((r) => r.shutdown({ deadlineMs: 0 })));
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

async function clientOf(
  options: Omit<McpContextOptions, 'runtime'>,
  defaults: Omit<Defaults, 'model'> = {},
): Promise<Client> {
  const runtime = createRuntime({
    providers: [createSimulatedProvider()],
    defaults: { model: 'sim-fast', ...defaults },
  });
  runtimes.push(runtime);
  const context = createMcpContext({ runtime, ...options });
  const server = new McpServer({ name: 'descriptions', version: '1.0.0' });
  registerTools(server, runtime, { context });
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await server.connect(serverSide);
  const client = new Client({ name: 'tool-descriptions-test', version: '1' });
  await client.connect(clientSide);
  clients.push(client);
  return client;
}

/** The number a description states before `what` (`At most 20 files`, `4096 characters a path`). */
function stated(description: string, pattern: RegExp): number {
  const match = pattern.exec(description);
  expect(match, `${pattern} in ${description}`).not.toBeNull();
  return Number(match?.[1]);
}

async function describedCaps(client: Client) {
  const { tools } = await client.listTools();
  const description = tools.find((t) => t.name === 'multi_file_chat')?.description ?? '';
  return {
    description,
    maxFiles: stated(description, /at most (\d+) files a call/i),
    pathChars: stated(description, /(\d+) characters a path/),
    fileBytes: stated(description, /(\d+) bytes(?: \([^)]*\))? a file/),
    totalBytes: stated(description, /(\d+) bytes(?: \([^)]*\))? for all the files of a call/),
  };
}

describe('tools/list: multi_file_chat states the caps it refuses past', () => {
  it('states the defaults: 20 files, 4,096 characters a path, 256 KiB a file, 1 MiB a call', async () => {
    const caps = await describedCaps(await clientOf({}));
    expect(caps).toMatchObject({
      maxFiles: 20,
      pathChars: MAX_PATH_CHARS,
      fileBytes: 262144,
      totalBytes: 1048576,
    });
    expect(caps.description).toMatch(/hidden/i);
  });

  it('states this server’s caps, and a call just past each is refused at that number', async () => {
    const root = await mkdtemp(join(tmpdir(), 'troupe-descriptions-'));
    dirs.push(root);
    const files = { maxFiles: 3, maxFileBytes: 100, maxTotalBytes: 150 };
    const client = await clientOf({ roots: [root], files });
    const caps = await describedCaps(client);
    expect(caps).toMatchObject({ maxFiles: 3, fileBytes: 100, totalBytes: 150 });
    await writeFile(join(root, 'big.txt'), 'x'.repeat(caps.fileBytes + 1));
    await writeFile(join(root, 'a.txt'), 'x'.repeat(caps.fileBytes));
    await writeFile(join(root, 'b.txt'), 'x'.repeat(caps.totalBytes - caps.fileBytes + 1));
    const refusal = async (paths: string[]) => {
      const result = await client.callTool({
        name: 'multi_file_chat',
        arguments: { files: paths, prompt: 'q' },
      });
      expect(result.isError).toBe(true);
      return (result.content as { text: string }[])[0]?.text ?? '';
    };
    expect(await refusal(['a.txt', 'a.txt', 'a.txt', 'a.txt'])).toContain(`at most ${caps.maxFiles} files`);
    expect(await refusal(['big.txt'])).toContain(`at most ${caps.fileBytes} bytes`);
    expect(await refusal(['a.txt', 'b.txt'])).toContain(`at most ${caps.totalBytes} bytes`);
    expect(await refusal(['x'.repeat(caps.pathChars + 1)])).toContain(`at most ${caps.pathChars} characters`);
  });
});

describe('tools/list: the model-calling tools state this server’s priority cap', () => {
  it('states the cap the server refuses past, and nothing when there is none', async () => {
    const capped = await clientOf({ maxCallerPriority: 5 });
    const { tools } = await capped.listTools();
    for (const name of ['chat', 'multi_file_chat', 'consensus']) {
      const description = tools.find((t) => t.name === name)?.description ?? '';
      expect(stated(description, /`priority` is at most (\d+)/), name).toBe(5);
    }
    expect(tools.find((t) => t.name === 'sessions')?.description).not.toMatch(/`priority` is at most/);
    const call = (priority: number) =>
      capped.callTool({ name: 'chat', arguments: { prompt: 'q', priority, max_tokens: 4 } });
    expect((await call(5)).isError).toBeFalsy();
    expect((await call(6)).isError).toBe(true);
    const { tools: open } = await (await clientOf({})).listTools();
    expect(open.find((t) => t.name === 'chat')?.description).not.toMatch(/`priority` is at most/);
  });
});

describe('tools/list: the model-calling tools state this server’s run deadline and priority', () => {
  const MODEL_CALLING = ['chat', 'multi_file_chat', 'consensus'];
  const describedDefaults = async (client: Client) => {
    const { tools } = await client.listTools();
    return MODEL_CALLING.map((name) => {
      const tool = tools.find((t) => t.name === name);
      const description = tool?.description ?? '';
      const properties = (tool?.inputSchema.properties ?? {}) as Record<string, { description?: string }>;
      // The arguments' own words name no number a server may set otherwise.
      expect(properties.timeout_ms?.description, name).not.toMatch(/120000|unless set/);
      expect(properties.priority?.description, name).not.toMatch(/default 5/);
      return {
        name,
        timeoutMs: stated(description, /gives no `timeout_ms` has (\d+) ms to run/),
        priority: stated(description, /gives no `priority` runs at (\d+)/),
      };
    });
  };

  it('states the runtime’s defaults, 120000 ms and 5', async () => {
    expect(await describedDefaults(await clientOf({}))).toEqual(
      MODEL_CALLING.map((name) => ({ name, timeoutMs: 120_000, priority: 5 })),
    );
  });

  it('states a server’s own (`--timeout-ms 300000`), and a call without `timeout_ms` gets it', async () => {
    const client = await clientOf({ maxCallerPriority: 6 }, { timeoutMs: 300_000, priority: 3 });
    expect(await describedDefaults(client)).toEqual(
      MODEL_CALLING.map((name) => ({ name, timeoutMs: 300_000, priority: 3 })),
    );
    const { tools } = await client.listTools();
    expect(
      stated(tools.find((t) => t.name === 'chat')?.description ?? '', /`priority` is at most (\d+)/),
    ).toBe(6);
    expect(tools.find((t) => t.name === 'sessions')?.description).not.toMatch(/timeout_ms/);
    const answer = await client.callTool({ name: 'chat', arguments: { prompt: 'q', max_tokens: 4 } });
    const session = (answer.structuredContent as { session: { priority: number } }).session;
    expect(session.priority).toBe(3);
  });
});
