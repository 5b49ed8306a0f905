/**
 * `withArgumentWords`: an embedder's own tool, registered with the SDK's `registerTool` beside
 * troupe's, refused in troupe's words when its schema is wrapped, in zod's when it is not (nothing
 * global changed), over the SDK's real client and in-memory transport. Its JSON Schema in
 * `tools/list` is the schema's own.
 */
import { Client, InMemoryTransport } from '@modelcontextprotocol/client';
import { McpServer } from '@modelcontextprotocol/server';
import { afterAll, beforeAll, expect, it } from 'vitest';
import * as z from 'zod';
import { withArgumentWords } from '../../../src/mcp/index.js';
import { registerTools } from '../../../src/mcp/register.js';
import { createSimulatedProvider } from '../../../src/providers/simulated.js';
import { createRuntime } from '../../../src/runtime/runtime.js';

const runtime = createRuntime({ providers: [createSimulatedProvider()], defaults: { model: 'sim-fast' } });
const client = new Client({ name: 'argument-words-test', version: '1' });
let close: () => void = () => {};

const lookup = z.object({ word: z.string().min(1), limit: z.int().min(1).max(9).default(3) });

beforeAll(async () => {
  const server = new McpServer({ name: 'mine', version: '1.0.0' });
  const echo = ({ word, limit }: z.output<typeof lookup>) => ({
    content: [{ type: 'text' as const, text: `${word} ${limit}` }],
  });
  server.registerTool('worded', { inputSchema: withArgumentWords(lookup) }, echo);
  server.registerTool('plain', { inputSchema: lookup }, echo);
  close = registerTools(server, runtime, { tools: ['chat'] }).close;
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await server.connect(serverSide);
  await client.connect(clientSide);
});

afterAll(async () => {
  await client.close();
  close();
  await runtime.shutdown({ deadlineMs: 0 });
});

/** The text a client reads for a call: the tool's answer or the SDK's refusal. */
async function said(name: string, args: Record<string, unknown>): Promise<string> {
  try {
    const result = await client.callTool({ name, arguments: args });
    const [first] = result.content as { text: string }[];
    return first?.text ?? '';
  } catch (error) {
    return (error as Error).message;
  }
}

it('refuses a wrapped tool’s arguments in troupe’s words, each wrong one named', async () => {
  expect(await said('worded', { word: 5, limit: 12 })).toBe(
    'Input validation error: Invalid arguments for tool worded: Expected `word` to be a string, got `5` (number), Expected `limit` to be an integer from 1 to 9, got `12` (number)',
  );
  expect(await said('worded', {})).toContain('Expected `word` to be a string, got none');
});

it('runs a wrapped tool on the parsed value, defaults and all', async () => {
  expect(await said('worded', { word: 'tide' })).toBe('tide 3');
});

it('leaves a tool it does not wrap, and zod’s global config, alone', async () => {
  const plain = await said('plain', { word: 5 });
  expect(plain).toBe(
    'Input validation error: Invalid arguments for tool plain: word: Invalid input: expected string, received number',
  );
  expect(lookup.safeParse({ word: 5 }).error?.issues[0]?.message).toBe(
    'Invalid input: expected string, received number',
  );
});

it('lists the wrapped tool with its schema’s own JSON Schema', async () => {
  const { tools } = await client.listTools();
  const schemaOf = (name: string) => tools.find((t) => t.name === name)?.inputSchema;
  expect(schemaOf('worded')).toEqual(schemaOf('plain'));
  expect(schemaOf('worded')).toMatchObject({ properties: { word: { type: 'string', minLength: 1 } } });
});
