/**
 * Moonshot refuses a tool whose parameters have a property without `type` (400 "At path
 * 'properties.X': type is not defined"); over real HTTP against the local server in Kimi mode,
 * which refuses it as Moonshot does: the Kimi preset fills the type in and says so, the plain
 * OpenAI-compatible provider and a raw request send the schema as given and are refused, and GLM
 * sends its tools unchanged.
 */
import { describe, expect, it } from 'vitest';
import type { ToolDefinition } from '../../../src/providers/port.js';
import { chatBodies, run, useVendorRigs } from '../../support/vendor-rig.js';

const KEY = 'sk-kimi-tool-schema-0123456789abcdef';
const rigs = useVendorRigs(KEY);

/** The vendor's preset and, on the same server, the plain provider named `openai`. */
const rig = (vendor: 'kimi' | 'glm') =>
  rigs(vendor, {
    env: (baseURL) => ({
      TROUPE_OPENAI_BASE_URL: baseURL,
      TROUPE_OPENAI_API_KEY: KEY,
      TROUPE_OPENAI_MODELS: 'moonshot-v1-8k',
    }),
  });

/** An MCP tool as some servers expose it: an enum-only property and a typed one. */
const readFile = (): ToolDefinition => ({
  type: 'function',
  function: {
    name: 'read_file',
    description: 'Reads a file',
    parameters: {
      type: 'object',
      properties: {
        path: { type: 'string' },
        truncateMode: { enum: ['smart', 'full'] },
        lines: { type: 'array', items: { minimum: 1 } },
      },
      required: ['path'],
    },
  },
});
const messages = [{ role: 'user' as const, content: 'read it' }];

describe('Kimi tool parameter schemas', () => {
  it.each([false, true])(
    'fills a missing property type, sends it, and says so (stream %s)',
    async (stream) => {
      const r = await rig('kimi');
      const tools = [readFile(), { type: 'builtin_function', function: { name: '$web_search' } }];
      const before = structuredClone(tools);
      const result = await run(r, { provider: 'kimi', model: 'moonshot-v1-8k', stream, tools, messages });
      expect(result.ok).toBe(true);
      if (!result.ok) return;
      expect(result.metadata.notes).toEqual([
        'filled in `type` for 2 tool parameter properties: Moonshot refuses a property without one (`read_file` `properties.truncateMode` as string, `read_file` `properties.lines.items` as number)',
      ]);
      const [body] = chatBodies(r);
      expect(body?.tools).toEqual([
        {
          type: 'function',
          function: {
            name: 'read_file',
            description: 'Reads a file',
            parameters: {
              type: 'object',
              properties: {
                path: { type: 'string' },
                truncateMode: { enum: ['smart', 'full'], type: 'string' },
                lines: { type: 'array', items: { minimum: 1, type: 'number' } },
              },
              required: ['path'],
            },
          },
        },
        { type: 'builtin_function', function: { name: '$web_search' } },
      ]);
      // The caller's tools are theirs: nothing written into them.
      expect(tools).toEqual(before);
    },
  );

  it('sends typed tools as given, with no note', async () => {
    const r = await rig('kimi');
    const tools = [
      {
        type: 'function',
        function: { name: 'lookup', parameters: { type: 'object', properties: { q: { type: 'string' } } } },
      },
    ];
    const result = await run(r, { provider: 'kimi', model: 'moonshot-v1-8k', tools, messages });
    expect(result.ok && (result.metadata.notes ?? [])).toEqual([]);
    expect(chatBodies(r)[0]?.tools).toEqual(tools);
  });

  it('is refused by the Kimi-mode server as Moonshot refuses it when sent as given', async () => {
    const r = await rig('kimi');
    // The plain OpenAI-compatible provider knows no Moonshot rule: the schema goes as given.
    const plain = await run(r, {
      provider: 'openai',
      model: 'moonshot-v1-8k',
      tools: [readFile()],
      messages,
    });
    expect(plain.ok).toBe(false);
    if (plain.ok) return;
    expect(plain.error.code).toBe('INVALID_REQUEST');
    expect(plain.error.message).toContain("At path 'properties.truncateMode': type is not defined");
    expect(chatBodies(r)[0]?.tools).toEqual([readFile()]);
    // A raw request gets the vendor's body, nested paths named in full.
    const raw = async (parameters: Record<string, unknown>) => {
      const response = await fetch(`${r.server.baseURL}/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` },
        body: JSON.stringify({
          model: 'moonshot-v1-8k',
          messages,
          tools: [{ type: 'function', function: { name: 'lookup', parameters } }],
        }),
      });
      return { status: response.status, body: await response.json() };
    };
    expect(await raw(readFile().function?.parameters ?? {})).toEqual({
      status: 400,
      body: {
        error: {
          message: "At path 'properties.truncateMode': type is not defined",
          type: 'invalid_request_error',
        },
      },
    });
    const nested = await raw({
      type: 'object',
      properties: { a: { type: 'object', properties: { b: { type: 'array', items: { const: 1 } } } } },
    });
    expect(nested.status).toBe(400);
    expect(nested.body.error.message).toBe("At path 'properties.a.properties.b.items': type is not defined");
    const branch = await raw({
      type: 'object',
      properties: { u: { anyOf: [{ type: 'null' }, { enum: ['x'] }] } },
    });
    expect(branch.body.error?.message).toBe("At path 'properties.u.anyOf.1': type is not defined");
    // A combinator or `$ref` node needs no type of its own; a typed schema goes through.
    for (const ok of [
      { type: 'object', properties: { u: { anyOf: [{ type: 'null' }, { type: 'string' }] } } },
      { type: 'object', properties: { r: { $ref: '#/$defs/R' } }, $defs: { R: { type: 'string' } } },
      { properties: { q: { type: 'string' } } },
    ])
      expect((await raw(ok)).status).toBe(200);
  });
});

describe('GLM tool parameter schemas', () => {
  it('are sent unchanged, with no note', async () => {
    const r = await rig('glm');
    const tools = [readFile()];
    const result = await run(r, { provider: 'glm', model: 'glm-4.6', tools, messages });
    expect(result.ok).toBe(true);
    expect(result.ok && (result.metadata.notes ?? [])).toEqual([]);
    expect(chatBodies(r)[0]?.tools).toEqual([readFile()]);
  });
});
