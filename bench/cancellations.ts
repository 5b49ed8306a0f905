/**
 * `npm run bench -- cancellations --json [--calls 2000] [--rounds 3]`: what `withCancellations`
 * (docs/embedding.md, "A client that cancels") costs a call. Two servers in this process, each the
 * SDK's `createMcpHandler` behind `toNodeHandler` on `node:http`, with the same plain `echo` tool (no
 * session, so the wrapper's work is as large a part of a call as it can be): `sdk` as it comes, and
 * `wrapped` in `withCancellations`. The SDK's client over real HTTP at its default revision
 * (2025-11-25: the requests the wrapper reads and tracks), as a named caller (`req.auth` with
 * `troupeCaller`: the clients it tracks), at 1 and 16 calls in flight. Rounds interleaved, the
 * order rotating; medians of calls/s and of this process's CPU a call (client and server together),
 * `ratio` (wrapped over sdk throughput) and `cpuRatio`.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { toNodeHandler } from '@modelcontextprotocol/node';
import { type AuthInfo, createMcpHandler, McpServer } from '@modelcontextprotocol/server';
import * as z from 'zod';
import { withCancellations } from '../src/mcp/cancellations.js';
import { flag, median, print, round } from './support.js';

const AUTH: AuthInfo = { token: 't', clientId: 'bench', scopes: [], extra: { troupeCaller: 'bench' } };

interface Side {
  readonly name: 'sdk' | 'wrapped';
  readonly clients: Client[];
  readonly http: Server;
}

async function side(name: Side['name'], clients: number): Promise<Side> {
  const sdk = createMcpHandler(() => {
    const server = new McpServer({ name: 'bench', version: '1' });
    server.registerTool('echo', { inputSchema: z.object({ text: z.string() }) }, async ({ text }) => ({
      content: [{ type: 'text', text }],
    }));
    return server;
  });
  const node = toNodeHandler(name === 'wrapped' ? withCancellations(sdk) : sdk);
  const http = createServer((req: IncomingMessage & { auth?: AuthInfo }, res) => {
    req.auth = AUTH;
    void node(req, res);
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const url = new URL(`http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp`);
  const all: Client[] = [];
  for (let i = 0; i < clients; i++) {
    const client = new Client({ name: `bench-${i}`, version: '1' });
    await client.connect(new StreamableHTTPClientTransport(url));
    all.push(client);
  }
  return { name, clients: all, http };
}

/** `calls` calls, `inFlight` at once (one client each); calls/s and CPU µs a call. */
async function drive(s: Side, calls: number, inFlight: number): Promise<{ perSec: number; cpuUs: number }> {
  let next = 0;
  const cpu = process.cpuUsage();
  const started = performance.now();
  await Promise.all(
    s.clients.slice(0, inFlight).map(async (client) => {
      while (next < calls) {
        next++;
        const result = await client.callTool({ name: 'echo', arguments: { text: 'hello' } });
        if (result.isError) throw new Error(`echo failed on ${s.name}`);
      }
    }),
  );
  const wallMs = performance.now() - started;
  const used = process.cpuUsage(cpu);
  return { perSec: calls / (wallMs / 1000), cpuUs: (used.user + used.system) / calls };
}

export async function run(argv: readonly string[]): Promise<void> {
  const calls = flag(argv, 'calls', 2000);
  const rounds = flag(argv, 'rounds', 3);
  const levels = [1, 16];
  const sides = [await side('sdk', 16), await side('wrapped', 16)];
  const figures: Record<string, unknown> = {
    calls,
    rounds,
    revision: sides[0]?.clients[0]?.getNegotiatedProtocolVersion(),
  };
  for (const inFlight of levels) {
    const seen = {
      sdk: { perSec: [] as number[], cpuUs: [] as number[] },
      wrapped: { perSec: [] as number[], cpuUs: [] as number[] },
    };
    for (const s of sides) await drive(s, Math.ceil(calls / 5), inFlight);
    for (let r = 0; r < rounds; r++) {
      for (let i = 0; i < sides.length; i++) {
        const s = sides[(i + r) % sides.length] as Side;
        const { perSec, cpuUs } = await drive(s, calls, inFlight);
        seen[s.name].perSec.push(perSec);
        seen[s.name].cpuUs.push(cpuUs);
      }
    }
    const [sdk, wrapped] = [seen.sdk, seen.wrapped].map((f) => ({
      perSec: median(f.perSec),
      cpuUs: median(f.cpuUs),
    }));
    figures[`inFlight${inFlight}`] = {
      sdkPerSec: round(sdk?.perSec ?? 0, 1),
      wrappedPerSec: round(wrapped?.perSec ?? 0, 1),
      ratio: round((wrapped?.perSec ?? 0) / (sdk?.perSec ?? 1)),
      sdkCpuUsPerCall: round(sdk?.cpuUs ?? 0, 1),
      wrappedCpuUsPerCall: round(wrapped?.cpuUs ?? 0, 1),
      cpuRatio: round((wrapped?.cpuUs ?? 0) / (sdk?.cpuUs ?? 1)),
    };
  }
  for (const s of sides) {
    await Promise.all(s.clients.map((c) => c.close()));
    s.http.closeAllConnections();
    s.http.close();
  }
  print(argv, figures);
}
