/**
 * Canary for the MCP SDK internals troupe uses (src/mcp/sdk-internals.ts). When an SDK upgrade
 * renames or reshapes them, these tests fail and name what moved; no other file may use them.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Client, InMemoryTransport } from '@modelcontextprotocol/client';
import { NodeStreamableHTTPServerTransport } from '@modelcontextprotocol/node';
import { McpServer } from '@modelcontextprotocol/server';
import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import {
  endWithoutAnswer,
  mcpServerToolHandlers,
  requestsOfStream,
  SdkInternalsChanged,
  standaloneStreamId,
} from '../../../src/mcp/sdk-internals.js';

describe('mcpServerToolHandlers', () => {
  it("returns McpServer's live tools/list and tools/call handlers, tools registered later included", async () => {
    const server = new McpServer({ name: 'canary', version: '1' });
    const handlers = mcpServerToolHandlers(server);
    // Taken before the tool exists: a tool registered afterwards must not hit "handler already exists".
    server.registerTool('later', { inputSchema: z.object({ n: z.number() }) }, async ({ n }) => ({
      content: [{ type: 'text', text: `got ${n}` }],
    }));
    // Replace them, as troupe does, and reach the tool only through the captured handlers.
    server.server.setRequestHandler('tools/list', (request, ctx) => handlers.list(request, ctx) as never);
    server.server.setRequestHandler('tools/call', (request, ctx) => handlers.call(request, ctx) as never);
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    await server.connect(serverSide);
    const client = new Client({ name: 'canary', version: '1' });
    await client.connect(clientSide);
    try {
      expect((await client.listTools()).tools.map((tool) => tool.name)).toEqual(['later']);
      const called = await client.callTool({ name: 'later', arguments: { n: 7 } });
      expect(called.content).toEqual([{ type: 'text', text: 'got 7' }]);
    } finally {
      await client.close();
      await server.close();
    }
  });

  it('is idempotent: a second call returns the same handlers', () => {
    const server = new McpServer({ name: 'canary', version: '1' }, { capabilities: { tools: {} } });
    const first = mcpServerToolHandlers(server);
    const second = mcpServerToolHandlers(server);
    expect(second.call).toBe(first.call);
    expect(second.list).toBe(first.list);
  });

  it('fails loudly, naming the member, when the SDK no longer has it', () => {
    const server = new McpServer({ name: 'canary', version: '1' });
    const noInstaller = Object.assign(Object.create(server) as McpServer, {
      setToolRequestHandlers: undefined,
    });
    expect(() => mcpServerToolHandlers(noInstaller)).toThrow(SdkInternalsChanged);
    expect(() => mcpServerToolHandlers(noInstaller)).toThrow(/setToolRequestHandlers/);
    const noGetter = Object.assign(Object.create(server) as McpServer, {
      server: Object.assign(Object.create(server.server), { _getRequestHandler: undefined }),
    });
    expect(() => mcpServerToolHandlers(noGetter)).toThrow(/_getRequestHandler/);
  });
});

describe('standaloneStreamId', () => {
  it("reads the id the SDK's transport gives the standalone GET stream", () => {
    const transport = new NodeStreamableHTTPServerTransport({ sessionIdGenerator: () => 'x' });
    expect(standaloneStreamId(transport)).toBe('_GET_stream');
  });

  it('names what moved when the SDK no longer has it', () => {
    expect(() => standaloneStreamId({})).toThrow(SdkInternalsChanged);
    expect(() => standaloneStreamId({})).toThrow(/_standaloneSseStreamId/);
  });

  describe('requestsOfStream', () => {
    /** The transport's maps of requests to streams and of answers held for a stream's last. */
    const mapsOf = (transport: object) =>
      (
        transport as {
          _webStandardTransport: {
            _requestToStreamMapping: Map<unknown, string>;
            _requestResponseMap: Map<unknown, unknown>;
          };
        }
      )._webStandardTransport;

    it('reads the request ids mapped to a stream, and names what moved when the SDK changed', () => {
      const transport = new NodeStreamableHTTPServerTransport({ sessionIdGenerator: () => 's' });
      const inner = mapsOf(transport);
      inner._requestToStreamMapping.set(7, 'stream-a');
      inner._requestToStreamMapping.set('x', 'stream-a');
      inner._requestToStreamMapping.set(8, 'stream-b');
      expect(requestsOfStream(transport, 'stream-a')).toEqual([7, 'x']);
      expect(requestsOfStream(transport, 'stream-c')).toEqual([]);
      expect(() => requestsOfStream({}, 'stream-a')).toThrow(/_requestToStreamMapping/);
      expect(() =>
        requestsOfStream({ _webStandardTransport: { _requestToStreamMapping: new Map() } }, 'stream-a'),
      ).toThrow(/_requestResponseMap/);
    });

    it('leaves out the requests answered, whose answers wait for the stream’s last', () => {
      const transport = new NodeStreamableHTTPServerTransport({ sessionIdGenerator: () => 's' });
      const inner = mapsOf(transport);
      inner._requestToStreamMapping.set(7, 'stream-a');
      inner._requestToStreamMapping.set('x', 'stream-a');
      inner._requestResponseMap.set(7, { jsonrpc: '2.0', id: 7, result: {} });
      expect(requestsOfStream(transport, 'stream-a')).toEqual(['x']);
    });
  });

  describe('endWithoutAnswer', () => {
    function withStreams() {
      const transport = new NodeStreamableHTTPServerTransport({ sessionIdGenerator: () => 's' });
      const inner = (
        transport as unknown as {
          _webStandardTransport: {
            _requestToStreamMapping: Map<unknown, string>;
            _requestResponseMap: Map<unknown, unknown>;
            _streamMapping: Map<string, { cleanup: () => void }>;
          };
        }
      )._webStandardTransport;
      const ended: string[] = [];
      for (const stream of ['stream-a', 'stream-b'])
        inner._streamMapping.set(stream, { cleanup: () => ended.push(stream) });
      inner._requestToStreamMapping.set(7, 'stream-a');
      inner._requestToStreamMapping.set(8, 'stream-a');
      inner._requestToStreamMapping.set(9, 'stream-b');
      return { transport, inner, ended };
    }

    it('ends the stream at once when the other requests it carried are answered', () => {
      const { transport, inner, ended } = withStreams();
      inner._requestResponseMap.set(8, { id: 8 });
      endWithoutAnswer(transport, 7);
      expect(ended).toEqual(['stream-a']);
      expect([...inner._requestToStreamMapping.keys()]).toEqual([9]);
      expect(inner._requestResponseMap.size).toBe(0);
    });

    it('leaves the stream to the last answer while another is owed, and ignores an id it does not map', () => {
      const { transport, inner, ended } = withStreams();
      endWithoutAnswer(transport, 7);
      endWithoutAnswer(transport, 'nope');
      expect(ended).toEqual([]);
      expect([...inner._requestToStreamMapping.keys()]).toEqual([8, 9]);
    });

    it('names what moved when the SDK changed', () => {
      expect(() => endWithoutAnswer({}, 7)).toThrow(SdkInternalsChanged);
      expect(() => endWithoutAnswer({}, 7)).toThrow(/_requestResponseMap/);
    });
  });
});

it('no file in src/ but sdk-internals.ts touches an SDK internal, and only tool-calls.ts owns tools/call', () => {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (path.endsWith('.ts')) files.push(path);
    }
  };
  walk('src');
  const internals =
    /_getRequestHandler|_requestHandlers|setToolRequestHandlers|_registeredTools|_wrapHandler|_standaloneSseStreamId|_webStandardTransport/;
  const users = files.filter((file) => internals.test(readFileSync(file, 'utf8')));
  expect(users).toEqual([join('src', 'mcp', 'sdk-internals.ts')]);
  const owners = files.filter((file) =>
    /setRequestHandler\(\s*'tools\/call'/.test(readFileSync(file, 'utf8')),
  );
  expect(owners).toEqual([join('src', 'mcp', 'tool-calls.ts')]);
});
