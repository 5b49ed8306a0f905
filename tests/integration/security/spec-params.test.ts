/**
 * Wrongly typed params of the spec methods the SDK answers itself (`prompts/get`, `prompts/list`,
 * `completion/complete`, `resources/read`, `resources/list`, `resources/templates/list`,
 * `tools/list`, `logging/setLevel`) get -32602 and one line saying what was expected and what came,
 * in the tools' arguments' words (`argument-issues.ts`), over stdio and HTTP, in both eras. Until
 * 2026-12-07 they got -32603 with zod's raw dump as the message (SDK issue
 * modelcontextprotocol/typescript-sdk#2284). The SDK's real client, which sends
 * what it is given; the built CLI for stdio (`npm run build` first).
 */
import type { Client } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as z from 'zod';
import { connectStdioCli } from '../../support/stdio-cli.js';
import { type Harness, startHarness } from '../mcp/harness.js';

type Era = 'legacy' | 'modern';

/**
 * A method, bad params, the message troupe answers them with (after "Invalid params for <method>: "),
 * and the eras that have the method (`logging/setLevel` and `resources/subscribe` are 2025-era only).
 */
const CASES: readonly (readonly [string, Record<string, unknown>, string, (readonly Era[])?])[] = [
  ['prompts/get', { name: 42 }, 'Expected `params.name` to be a string, got `42` (number)'],
  ['prompts/get', {}, 'Expected `params.name` to be a string, got none'],
  [
    'prompts/get',
    { name: 'chat', arguments: null },
    'Expected `params.arguments` to be an object, got `null`',
  ],
  [
    'prompts/get',
    { name: 'chat', arguments: { prompt: 7 } },
    'Expected `params.arguments.prompt` to be a string, got `7` (number)',
  ],
  ['prompts/list', { cursor: 5 }, 'Expected `params.cursor` to be a string, got `5` (number)'],
  [
    'completion/complete',
    { ref: 5, argument: { name: 'provider', value: '' } },
    'Expected `params.ref` to be an object, got `5` (number)',
  ],
  [
    'completion/complete',
    { ref: { type: 'ref/nope' }, argument: { name: 'provider', value: '' } },
    'Expected `params.ref` to be { type: `"ref/prompt"`, name: a string } or { type: `"ref/resource"`, uri: a string }, got `{"type":"ref/nope"}` (object)',
  ],
  [
    'completion/complete',
    {
      ref: { type: 'ref/prompt', name: 'chat' },
      argument: { name: 'provider', value: '' },
      context: { arguments: { a: 1 } },
    },
    'Expected `params.context.arguments.a` to be a string, got `1` (number)',
  ],
  ['resources/read', { uri: 5 }, 'Expected `params.uri` to be a string, got `5` (number)'],
  ['resources/list', { cursor: [] }, 'Expected `params.cursor` to be a string, got `[]` (array)'],
  [
    'resources/templates/list',
    { cursor: true },
    'Expected `params.cursor` to be a string, got `true` (boolean)',
  ],
  ['resources/subscribe', { uri: 5 }, 'Expected `params.uri` to be a string, got `5` (number)', ['legacy']],
  ['resources/unsubscribe', {}, 'Expected `params.uri` to be a string, got none', ['legacy']],
  ['tools/list', { cursor: 5 }, 'Expected `params.cursor` to be a string, got `5` (number)'],
  // A client's own key, on one line and cut (`argument-issues.ts`, as a tool's argument names are).
  [
    'prompts/get',
    { name: 'chat', arguments: { [`a\n${'k'.repeat(100)}`]: 7 } },
    `Expected \`params.arguments.a\\n${'k'.repeat(36)}…\` to be a string, got \`7\` (number)`,
  ],
  [
    'logging/setLevel',
    { level: 'loud' },
    'Expected `params.level` to be one of `"debug"`, `"info"`, `"notice"`, `"warning"`, `"error"`, `"critical"`, `"alert"`, `"emergency"`, got `"loud"` (string)',
    ['legacy'],
  ],
];

async function expectAnswers(client: Client, era: Era): Promise<void> {
  for (const [method, params, message, eras] of CASES) {
    if (eras !== undefined && !eras.includes(era)) continue;
    const sent = client.request({ method, params } as Parameters<Client['request']>[0], z.object({}).loose());
    await expect(sent, `${method} ${JSON.stringify(params)}`).rejects.toMatchObject({
      code: -32602,
      message: `Invalid params for ${method}: ${message}`,
    });
  }
  // Good params still reach the SDK's handlers.
  expect((await client.listPrompts()).prompts.length).toBeGreaterThan(0);
  expect((await client.readResource({ uri: 'troupe://models' })).contents).toHaveLength(1);
}

describe.each(['legacy', 'modern'] as const)('%s era', (era) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h.close();
  });

  it('answers wrongly typed params -32602 with one line, over HTTP', async () => {
    await expectAnswers(await h.client(era), era);
  });

  it('answers wrongly typed params -32602 with one line, over stdio', async () => {
    const client = await connectStdioCli(
      'spec-params',
      100,
      era === 'modern' ? { versionNegotiation: { mode: { pin: '2026-07-28' } } } : {},
    );
    try {
      await expectAnswers(client, era);
    } finally {
      await client.close();
    }
  }, 30_000);
});

it('checks an embedder’s prompt too, on a server with none of troupe’s tools', async () => {
  const h = await startHarness({
    http: {
      tools: [],
      setup: (server) => {
        server.registerPrompt('mine', { argsSchema: z.object({ topic: z.string() }) }, ({ topic }) => ({
          messages: [{ role: 'user', content: { type: 'text', text: topic } }],
        }));
      },
    },
  });
  try {
    const client = await h.client('legacy');
    await expect(
      client.request(
        { method: 'prompts/get', params: { name: 42 } } as Parameters<Client['request']>[0],
        z.object({}).loose(),
      ),
    ).rejects.toMatchObject({
      code: -32602,
      message: 'Invalid params for prompts/get: Expected `params.name` to be a string, got `42` (number)',
    });
    const got = await client.getPrompt({ name: 'mine', arguments: { topic: 'tides' } });
    expect(got.messages[0]?.content).toEqual({ type: 'text', text: 'tides' });
  } finally {
    await h.close();
  }
});
