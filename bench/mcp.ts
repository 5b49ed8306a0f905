/**
 * troupe's MCP server against a bare SDK server with the same tool, in the same run: both serve
 * Streamable HTTP on 127.0.0.1 through the SDK's 2026-07-28 handler, both answer `chat` from the
 * same instant simulated provider; the bare server calls it directly, troupe runs a session.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { toNodeHandler } from '@modelcontextprotocol/node';
import { createMcpHandler, McpServer } from '@modelcontextprotocol/server';
import { z } from 'zod';
import { createMcpContext } from '../src/mcp/context.js';
import { createHttpApp } from '../src/mcp/http.js';
import { createSimulatedProvider } from '../src/providers/simulated.js';
import { createRuntime } from '../src/runtime/runtime.js';

const CALLS = Number(process.env.BENCH_CALLS ?? 4000);
const CONCURRENCY = 32;
const instant = () =>
  createSimulatedProvider({ latencyMs: { min: 0, max: 0 }, answerWords: { min: 8, max: 8 } });

async function bareServer(): Promise<{ url: URL; close(): Promise<void> }> {
  const provider = instant();
  const handler = createMcpHandler(
    () => {
      const server = new McpServer({ name: 'bare', version: '1.0.0' }, { capabilities: { tools: {} } });
      server.registerTool(
        'chat',
        { description: 'One model call', inputSchema: z.object({ prompt: z.string() }) },
        async ({ prompt }, ctx) => {
          const answer = await provider.complete(
            { model: 'sim-fast', messages: [{ role: 'user', content: prompt }] },
            { signal: ctx.mcpReq.signal },
          );
          return { content: [{ type: 'text', text: answer.content }] };
        },
      );
      return server;
    },
    { legacy: 'reject' },
  );
  const node = toNodeHandler(handler);
  const server: Server = createServer((req, res) => void node(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: new URL(`http://127.0.0.1:${port}/mcp`),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

async function troupeServer(): Promise<{ url: URL; close(): Promise<void> }> {
  const runtime = createRuntime({
    providers: [instant()],
    defaults: { model: 'sim-fast' },
    limits: { maxConcurrent: 64 },
  });
  const mcp = createMcpContext({ runtime, log: () => {} });
  const app = createHttpApp({ mcp, port: 0 });
  const { url } = await app.listen();
  return {
    url: new URL(url),
    close: async () => {
      await app.close();
      await runtime.shutdown({ deadlineMs: 1000 });
      mcp.close();
    },
  };
}

/** Calls `chat` CALLS times, CONCURRENCY at once; returns calls/s and per-call latencies. */
async function drive(url: URL): Promise<{ perSec: number; latencies: number[] }> {
  const client = new Client(
    { name: 'bench', version: '1.0.0' },
    { versionNegotiation: { mode: { pin: '2026-07-28' } } },
  );
  await client.connect(new StreamableHTTPClientTransport(url));
  const latencies: number[] = [];
  let next = 0;
  const worker = async () => {
    while (next < CALLS) {
      next++;
      const started = performance.now();
      const result = await client.callTool({ name: 'chat', arguments: { prompt: 'benchmark' } });
      if (result.isError) throw new Error(`chat failed: ${JSON.stringify(result.content)}`);
      latencies.push(performance.now() - started);
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const perSec = CALLS / ((performance.now() - started) / 1000);
  await client.close();
  return { perSec, latencies: latencies.sort((a, b) => a - b) };
}

const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? Number.NaN;

export async function run(argv: readonly string[]): Promise<void> {
  const bare = await bareServer();
  const ours = await troupeServer();
  // Warm both, then measure alternately.
  await drive(bare.url);
  await drive(ours.url);
  const b = await drive(bare.url);
  const t = await drive(ours.url);
  await Promise.all([bare.close(), ours.close()]);
  const figures = {
    calls: CALLS,
    concurrency: CONCURRENCY,
    callsPerSec: Math.round(t.perSec),
    baselineCallsPerSec: Math.round(b.perSec),
    ratio: Number((t.perSec / b.perSec).toFixed(3)),
    p50Ms: Number(pct(t.latencies, 0.5).toFixed(2)),
    p99Ms: Number(pct(t.latencies, 0.99).toFixed(2)),
    baselineP50Ms: Number(pct(b.latencies, 0.5).toFixed(2)),
    baselineP99Ms: Number(pct(b.latencies, 0.99).toFixed(2)),
    node: process.version,
  };
  if (argv.includes('--json')) process.stdout.write(`${JSON.stringify(figures)}\n`);
  else for (const [k, v] of Object.entries(figures)) process.stdout.write(`${k.padEnd(22)} ${v}\n`);
}
