/**
 * `npm run bench -- stdio-lean --json [--calls 20000] [--rounds 3] [--in-flight 32]`: the three
 * stdio servers of `bench stdio` (troupe's CLI, its MCP layer alone with the baseline's tool, and
 * the bare SDK server) driven by a lean client instead of the SDK's: raw JSON-RPC lines on the
 * child's stdin, answers matched by id, no schema checks on the client side. On a 2-core machine
 * the SDK client shares the cores with the server it drives, and its own work per answer (larger
 * for troupe's larger answer) moves the server's figures; here the client's share is small, so
 * the server's cost per call shows nearly alone. Each side of each round is a fresh child, rounds
 * rotate the order; medians. Server CPU per call from `/proc` (Linux).
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { flag, median, print, procCpuUs, round } from './support.js';

const SIDES = {
  troupe: {
    script: fileURLToPath(new URL('../src/cli/main.js', import.meta.url)),
    args: ['stdio'],
    tool: 'chat',
  },
  layer: { script: fileURLToPath(new URL('./stdio-layer.js', import.meta.url)), args: [], tool: 'bare_chat' },
  bare: { script: fileURLToPath(new URL('./stdio-bare.js', import.meta.url)), args: [], tool: 'chat' },
} as const;
type Side = keyof typeof SIDES;

interface Answer {
  readonly id?: number;
  readonly result?: { readonly isError?: boolean };
  readonly error?: unknown;
}

/** `BENCH_CHILD_NODE_ARGS` (space-separated) goes to every child, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`. */
const CHILD_ARGS = (process.env.BENCH_CHILD_NODE_ARGS ?? '').split(' ').filter((a) => a !== '');

interface Sample {
  readonly perSec: number;
  readonly serverCpuUsPerCall: number;
}

/** A child server and a line client for it. */
function start(side: Side): {
  child: ChildProcessWithoutNullStreams;
  call(method: string, params: unknown): Promise<unknown>;
} {
  const { script, args } = SIDES[side];
  const child = spawn(process.execPath, [...CHILD_ARGS, script, ...args], {
    env: { PATH: process.env.PATH ?? '', TROUPE_LOG_LEVEL: 'error' },
  });
  child.stderr.resume();
  const waiting = new Map<number, (message: Answer) => void>();
  let buffered = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    buffered += chunk;
    for (let end = buffered.indexOf('\n'); end >= 0; end = buffered.indexOf('\n')) {
      const message = JSON.parse(buffered.slice(0, end)) as Answer;
      buffered = buffered.slice(end + 1);
      if (typeof message.id !== 'number') continue;
      waiting.get(message.id)?.(message);
      waiting.delete(message.id);
    }
  });
  let id = 0;
  const call = (method: string, params: unknown) =>
    new Promise<unknown>((resolve, reject) => {
      id += 1;
      waiting.set(id, (message) =>
        message.error !== undefined || message.result?.isError === true
          ? reject(new Error(`Expected ${method} to succeed on ${side}, got ${JSON.stringify(message)}`))
          : resolve(message.result),
      );
      child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', id, method, params })}\n`);
    });
  return { child, call };
}

async function sample(side: Side, calls: number, inFlight: number): Promise<Sample> {
  const { child, call } = start(side);
  await call('initialize', {
    protocolVersion: '2025-11-25',
    capabilities: {},
    clientInfo: { name: 'bench-lean', version: '1.0.0' },
  });
  child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' })}\n`);
  const params = {
    name: SIDES[side].tool,
    arguments: { prompt: 'hello there', extra: { simulateLatencyMs: 0 } },
  };
  const drive = async (n: number) => {
    let next = 0;
    const worker = async () => {
      while (next < n) {
        next += 1;
        await call('tools/call', params);
      }
    };
    await Promise.all(Array.from({ length: inFlight }, worker));
  };
  await drive(Math.min(3000, calls)); // warm-up
  const cpu = procCpuUs(child.pid);
  const t0 = performance.now();
  await drive(calls);
  const seconds = (performance.now() - t0) / 1000;
  const serverCpuUsPerCall = (procCpuUs(child.pid) - cpu) / calls;
  child.stdin.end();
  await once(child, 'exit');
  return { perSec: calls / seconds, serverCpuUsPerCall };
}

export async function run(argv: readonly string[]): Promise<void> {
  const calls = flag(argv, 'calls', 20_000);
  const rounds = flag(argv, 'rounds', 3);
  const inFlight = flag(argv, 'in-flight', 32);
  const order: Side[] = ['troupe', 'layer', 'bare'];
  const samples: Record<Side, Sample[]> = { troupe: [], layer: [], bare: [] };
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < order.length; i++) {
      const side = order[(i + r) % order.length] as Side;
      samples[side].push(await sample(side, calls, inFlight));
    }
  }
  const perSec = (side: Side) => median(samples[side].map((s) => s.perSec));
  const cpu = (side: Side) => median(samples[side].map((s) => s.serverCpuUsPerCall));
  print(argv, {
    calls,
    rounds,
    inFlight,
    troupePerSec: Math.round(perSec('troupe')),
    layerPerSec: Math.round(perSec('layer')),
    barePerSec: Math.round(perSec('bare')),
    ratio: round(perSec('troupe') / perSec('bare')),
    layerRatio: round(perSec('layer') / perSec('bare')),
    serverCpuUsPerCall: {
      troupe: round(cpu('troupe'), 1),
      layer: round(cpu('layer'), 1),
      bare: round(cpu('bare'), 1),
    },
    serverCpuRatio: round(cpu('troupe') / cpu('bare')),
    sessionCpuUsPerCall: round(cpu('troupe') - cpu('layer'), 1),
    node: process.version,
  });
}
