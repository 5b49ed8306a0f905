/**
 * troupe's MCP server against a bare SDK server with the same tool, in the same run: both serve
 * Streamable HTTP on 127.0.0.1 through the SDK's 2026-07-28 handler, both answer `chat` from the
 * same instant simulated provider; the bare server calls it directly, troupe runs a session.
 *
 * Each server runs in a process of its own and the client in this one: in one process, the client's
 * work (shared by both) pulled the ratio towards 1. Rounds alternate which server goes first;
 * medians of `BENCH_ROUNDS` (default 5) rounds after one warm-up each. Besides calls/s, each
 * server's CPU a call (`/proc/<pid>/stat`, Linux only): the SDK client driving both takes most of
 * the machine, so calls/s shows the client's cost as much as the servers'.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { toNodeHandler } from '@modelcontextprotocol/node';
import { createMcpHandler, McpServer } from '@modelcontextprotocol/server';
import { createMcpContext } from '../src/mcp/context.js';
import { createHttpApp } from '../src/mcp/http.js';
import { createSimulatedProvider } from '../src/providers/simulated.js';
import { createRuntime } from '../src/runtime/runtime.js';
import { addBareChat } from './bare-chat.js';
import { procCpuUs } from './support.js';

const CALLS = Number(process.env.BENCH_CALLS ?? 4000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const CONCURRENCY = 32;
const instant = () =>
  createSimulatedProvider({ latencyMs: { min: 0, max: 0 }, answerWords: { min: 8, max: 8 } });

async function bareServer(): Promise<{ url: URL; close(): Promise<void> }> {
  const provider = instant();
  const handler = createMcpHandler(
    () => {
      return addBareChat(new McpServer({ name: 'bare', version: '1.0.0' }, { capabilities: { tools: {} } }), {
        provider,
      });
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

/** Starts `kind` in a child process (`mcp --serve <kind>`); it prints its URL when listening. */
async function serverProcess(
  kind: 'bare' | 'troupe',
): Promise<{ url: URL; pid: number | undefined; close(): Promise<void> }> {
  const main = fileURLToPath(new URL('./main.js', import.meta.url));
  const child = spawn(process.execPath, [main, 'mcp', '--serve', kind], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.setEncoding('utf8');
  const url = await new Promise<URL>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`Expected the ${kind} server to start, got exit ${code}`)));
    child.stdout.on('data', (chunk: string) => {
      out += chunk;
      const line = out.split('\n')[0];
      if (out.includes('\n') && line) resolve(new URL(line.trim()));
    });
  });
  return {
    url,
    pid: child.pid,
    close: async () => {
      child.stdin.end();
      if (child.exitCode === null) await once(child, 'exit');
    },
  };
}

/** The `--serve` side: serve until stdin closes. */
async function serve(kind: string): Promise<void> {
  const server = kind === 'bare' ? await bareServer() : await troupeServer();
  process.stdout.write(`${server.url.href}\n`);
  process.stdin.resume();
  await once(process.stdin, 'end');
  await server.close();
  process.exit(0);
}

const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;

export async function run(argv: readonly string[]): Promise<void> {
  const serveAt = argv.indexOf('--serve');
  if (serveAt >= 0) return serve(argv[serveAt + 1] ?? '');
  const bare = await serverProcess('bare');
  const ours = await serverProcess('troupe');
  await drive(bare.url);
  await drive(ours.url);
  const samples = { bare: [] as number[], troupe: [] as number[], ratio: [] as number[] };
  const cpu = { bare: [] as number[], troupe: [] as number[], ratio: [] as number[] };
  const latencies = { bare: [] as number[][], troupe: [] as number[][] };
  for (let round = 0; round < ROUNDS; round++) {
    const first = round % 2 === 0 ? 'bare' : 'troupe';
    const order = first === 'bare' ? (['bare', 'troupe'] as const) : (['troupe', 'bare'] as const);
    const got: Record<string, { perSec: number; latencies: number[] }> = {};
    const cpuUs: Record<string, number> = {};
    for (const kind of order) {
      const side = kind === 'bare' ? bare : ours;
      const before = procCpuUs(side.pid);
      got[kind] = await drive(side.url);
      cpuUs[kind] = (procCpuUs(side.pid) - before) / CALLS;
    }
    cpu.bare.push(cpuUs.bare as number);
    cpu.troupe.push(cpuUs.troupe as number);
    cpu.ratio.push((cpuUs.troupe as number) / (cpuUs.bare as number));
    samples.bare.push(got.bare!.perSec);
    samples.troupe.push(got.troupe!.perSec);
    samples.ratio.push(got.troupe!.perSec / got.bare!.perSec);
    latencies.bare.push(got.bare!.latencies);
    latencies.troupe.push(got.troupe!.latencies);
  }
  await Promise.all([bare.close(), ours.close()]);
  const p = (all: number[][], q: number) => median(all.map((l) => pct(l, q)));
  const figures = {
    calls: CALLS,
    concurrency: CONCURRENCY,
    rounds: ROUNDS,
    callsPerSec: Math.round(median(samples.troupe)),
    baselineCallsPerSec: Math.round(median(samples.bare)),
    ratio: Number(median(samples.ratio).toFixed(3)),
    ratios: samples.ratio.map((r) => Number(r.toFixed(3))),
    serverCpuUsPerCall: Math.round(median(cpu.troupe)),
    baselineServerCpuUsPerCall: Math.round(median(cpu.bare)),
    serverCpuRatio: Number(median(cpu.ratio).toFixed(3)),
    p50Ms: Number(p(latencies.troupe, 0.5).toFixed(2)),
    p99Ms: Number(p(latencies.troupe, 0.99).toFixed(2)),
    baselineP50Ms: Number(p(latencies.bare, 0.5).toFixed(2)),
    baselineP99Ms: Number(p(latencies.bare, 0.99).toFixed(2)),
    loadAverage: (await import('node:os')).loadavg().map((l) => Number(l.toFixed(2))),
    node: process.version,
  };
  if (argv.includes('--json')) process.stdout.write(`${JSON.stringify(figures)}\n`);
  else for (const [k, v] of Object.entries(figures)) process.stdout.write(`${k.padEnd(22)} ${v}\n`);
}
