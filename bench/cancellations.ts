/**
 * `npm run bench -- cancellations --json [--calls 2000] [--rounds 3]`: what a 2025-era client's
 * cancellations cost a call where an embedder serves its own tool over HTTP (docs/embedding.md).
 *
 * - `inFlight1`, `inFlight16`: `withCancellations` ("A client that cancels") over the SDK's
 *   `createMcpHandler` as it comes (`sdk`, the baseline) and `wrapped`; the SDK's client at its
 *   default revision (2025-11-25: the requests the wrapper reads and tracks).
 * - `front2025`, `front2026` (each at 1 and 16 in flight): troupe's own front (`createHttpApp` with
 *   `tools: []` and the tool in `setup`; "Over HTTP: troupe's front with your tools") against that
 *   `wrapped` baseline, with the SDK's client at 2025-11-25 (a session on the front, a server and
 *   transport a POST on the SDK's fallback) and pinned to 2026-07-28 (a server a request on both).
 *
 * Every server is in this process on `node:http` with the same plain `echo` tool (no session, so what
 * serves it is as large a part of a call as it can be), called as a named caller (`req.auth` with
 * `troupeCaller` on the SDK's; a named token on the front). Rounds interleaved, the order rotating;
 * medians of calls/s and of this process's CPU a call (client and server together: the client's
 * share is the same SDK client on both sides of a pair, so the difference is the servers'), `ratio`
 * (the second side's throughput over the first's) and `cpuRatio` (its CPU a call over the first's).
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { toNodeHandler } from '@modelcontextprotocol/node';
import { type AuthInfo, createMcpHandler, McpServer } from '@modelcontextprotocol/server';
import * as z from 'zod';
import { withCancellations } from '../src/mcp/cancellations.js';
import { createMcpContext } from '../src/mcp/context.js';
import { createHttpApp } from '../src/mcp/http.js';
import { createSimulatedProvider } from '../src/providers/simulated.js';
import { createRuntime } from '../src/runtime/runtime.js';
import { flag, median, print, round } from './support.js';

const AUTH: AuthInfo = { token: 't', clientId: 'bench', scopes: [], extra: { troupeCaller: 'bench' } };
const TOKEN = 'bench-token-1234';

interface Side {
  readonly name: string;
  readonly clients: Client[];
  close(): Promise<void>;
}

function echo(server: McpServer): McpServer {
  server.registerTool('echo', { inputSchema: z.object({ text: z.string() }) }, async ({ text }) => ({
    content: [{ type: 'text', text }],
  }));
  return server;
}

async function connectAll(url: URL, count: number, pin?: string, token?: string): Promise<Client[]> {
  const all: Client[] = [];
  for (let i = 0; i < count; i++) {
    const client = new Client(
      { name: `bench-${i}`, version: '1' },
      pin === undefined ? undefined : { versionNegotiation: { mode: { pin } } },
    );
    const requestInit =
      token === undefined ? {} : { requestInit: { headers: { authorization: `Bearer ${token}` } } };
    await client.connect(new StreamableHTTPClientTransport(url, requestInit));
    all.push(client);
  }
  return all;
}

/** The SDK's handler, as it comes or in `withCancellations`. */
async function sdkSide(name: 'sdk' | 'wrapped', clients: number, pin?: string): Promise<Side> {
  const sdk = createMcpHandler(() => echo(new McpServer({ name: 'bench', version: '1' })));
  const node = toNodeHandler(name === 'wrapped' ? withCancellations(sdk) : sdk);
  const http: Server = createServer((req: IncomingMessage & { auth?: AuthInfo }, res) => {
    req.auth = AUTH;
    void node(req, res);
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const url = new URL(`http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp`);
  const all = await connectAll(url, clients, pin);
  return {
    name,
    clients: all,
    async close() {
      await Promise.all(all.map((c) => c.close()));
      http.closeAllConnections();
      http.close();
    },
  };
}

/** troupe's front with none of troupe's tools and the same `echo` from `setup`. */
async function frontSide(clients: number, pin?: string): Promise<Side> {
  const runtime = createRuntime({ providers: [createSimulatedProvider()], defaults: { model: 'sim-fast' } });
  const mcp = createMcpContext({ runtime, log: () => {} });
  const app = createHttpApp({
    mcp,
    port: 0,
    tokens: [{ name: 'bench', token: TOKEN }],
    tools: [],
    setup: (server) => void echo(server),
  });
  const { url } = await app.listen();
  const all = await connectAll(new URL(url), clients, pin, TOKEN);
  return {
    name: 'front',
    clients: all,
    async close() {
      await Promise.all(all.map((c) => c.close()));
      await app.close();
      mcp.close();
      await runtime.shutdown({ deadlineMs: 0 });
    },
  };
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

/** The two sides at each level, rounds interleaved: medians, and the second's over the first's. */
async function compare(
  pair: readonly [Side, Side],
  calls: number,
  rounds: number,
  figures: Record<string, unknown>,
  prefix = '',
): Promise<void> {
  for (const inFlight of [1, 16]) {
    const seen = pair.map(() => ({ perSec: [] as number[], cpuUs: [] as number[] }));
    for (const s of pair) await drive(s, Math.ceil(calls / 5), inFlight);
    for (let r = 0; r < rounds; r++) {
      for (let i = 0; i < pair.length; i++) {
        const at = (i + r) % pair.length;
        const { perSec, cpuUs } = await drive(pair[at] as Side, calls, inFlight);
        seen[at]?.perSec.push(perSec);
        seen[at]?.cpuUs.push(cpuUs);
      }
    }
    const [a, b] = seen.map((f) => ({ perSec: median(f.perSec), cpuUs: median(f.cpuUs) }));
    const [first, second] = pair.map((s) => s.name);
    figures[prefix === '' ? `inFlight${inFlight}` : `${prefix}InFlight${inFlight}`] = {
      [`${first}PerSec`]: round(a?.perSec ?? 0, 1),
      [`${second}PerSec`]: round(b?.perSec ?? 0, 1),
      ratio: round((b?.perSec ?? 0) / (a?.perSec ?? 1)),
      [`${first}CpuUsPerCall`]: round(a?.cpuUs ?? 0, 1),
      [`${second}CpuUsPerCall`]: round(b?.cpuUs ?? 0, 1),
      cpuRatio: round((b?.cpuUs ?? 0) / (a?.cpuUs ?? 1)),
    };
  }
  await Promise.all(pair.map((s) => s.close()));
}

export async function run(argv: readonly string[]): Promise<void> {
  const calls = flag(argv, 'calls', 2000);
  const rounds = flag(argv, 'rounds', 3);
  const figures: Record<string, unknown> = { calls, rounds };
  const plain = [await sdkSide('sdk', 16), await sdkSide('wrapped', 16)] as const;
  figures.revision = plain[0].clients[0]?.getNegotiatedProtocolVersion();
  await compare(plain, calls, rounds, figures);
  for (const [prefix, pin] of [
    ['front2025', undefined],
    ['front2026', '2026-07-28'],
  ] as const) {
    const pair = [await sdkSide('wrapped', 16, pin), await frontSide(16, pin)] as const;
    figures[`${prefix}Revision`] = pair[1].clients[0]?.getNegotiatedProtocolVersion();
    await compare(pair, calls, rounds, figures, prefix);
  }
  print(argv, figures);
}
