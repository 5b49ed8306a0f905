/**
 * `npm run bench -- stdio [--calls 1500] [--rounds 3] [--json]`: the built `troupe stdio` CLI
 * (simulated provider; each call asks for zero latency through `extra.simulateLatencyMs`)
 * against a bare SDK v2 stdio server with the same `chat` tool on the same instant provider
 * (bench/stdio-bare.ts). Both are child processes driven by the SDK client's
 * StdioClientTransport, at 1 and 32 calls in flight; rounds alternate which goes first.
 *
 * Besides calls/s, each level reports the server child's CPU per call (`/proc/<pid>/stat`, Linux
 * only; `null` elsewhere): on a loaded machine throughput swings with the scheduler, CPU per call
 * much less. `BENCH_CHILD_NODE_ARGS` (space-separated) goes to both children, e.g.
 * `--cpu-prof --cpu-prof-dir=/tmp/prof` to profile them.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { flag, median, print, round } from './support.js';

const LEVELS = [1, 32] as const;
const CLI = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const BARE = fileURLToPath(new URL('./stdio-bare.js', import.meta.url));

const CHILD_ARGS = (process.env.BENCH_CHILD_NODE_ARGS ?? '').split(' ').filter((a) => a !== '');

interface Server {
  readonly client: Client;
  /** The child's CPU time so far, in µs, or NaN where /proc is not readable. */
  cpuUs(): number;
}

/** utime + stime of a process, from /proc (fields 14 and 15, in clock ticks of 10 ms). */
function procCpuUs(pid: number | null): number {
  if (pid === null) return Number.NaN;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10_000;
  } catch {
    return Number.NaN;
  }
}

async function connect(args: string[]): Promise<Server> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [...CHILD_ARGS, ...args],
    // No provider keys: troupe serves the simulated provider. Logs are kept quiet.
    env: { PATH: process.env.PATH ?? '', TROUPE_LOG_LEVEL: 'error' },
    stderr: 'ignore',
  });
  const client = new Client({ name: 'bench', version: '1.0.0' });
  await client.connect(transport);
  return { client, cpuUs: () => procCpuUs(transport.pid) };
}

interface Sample {
  perSec: number;
  serverCpuUsPerCall: number;
}

async function drive({ client, cpuUs }: Server, calls: number, inFlight: number): Promise<Sample> {
  let next = 0;
  const worker = async () => {
    while (next < calls) {
      next++;
      const result = await client.callTool({
        name: 'chat',
        arguments: { prompt: 'benchmark', extra: { simulateLatencyMs: 0 } },
      });
      if (result.isError) throw new Error(`chat failed: ${JSON.stringify(result.content)}`);
    }
  };
  const cpu = cpuUs();
  const started = performance.now();
  await Promise.all(Array.from({ length: inFlight }, worker));
  const perSec = calls / ((performance.now() - started) / 1000);
  return { perSec, serverCpuUsPerCall: (cpuUs() - cpu) / calls };
}

export async function run(argv: readonly string[]): Promise<void> {
  if (!existsSync(CLI)) throw new Error(`Expected the built CLI at ${CLI}, got nothing: run npm run build`);
  const calls = flag(argv, 'calls', 1500);
  const rounds = flag(argv, 'rounds', 3);
  const troupe = await connect([CLI, 'stdio']);
  const bare = await connect([BARE]);
  await drive(troupe, 300, 8);
  await drive(bare, 300, 8);
  const ours = new Map<number, Sample[]>(LEVELS.map((l) => [l, []]));
  const base = new Map<number, Sample[]>(LEVELS.map((l) => [l, []]));
  for (let r = 0; r < rounds; r++) {
    for (const level of LEVELS) {
      const n = level === 1 ? Math.ceil(calls / 3) : calls;
      if (r % 2 === 0) {
        base.get(level)?.push(await drive(bare, n, level));
        ours.get(level)?.push(await drive(troupe, n, level));
      } else {
        ours.get(level)?.push(await drive(troupe, n, level));
        base.get(level)?.push(await drive(bare, n, level));
      }
    }
  }
  await Promise.all([troupe.client.close(), bare.client.close()]);
  const figures: Record<string, unknown> = { calls, rounds };
  for (const level of LEVELS) {
    const o = ours.get(level) ?? [];
    const b = base.get(level) ?? [];
    const perSec = median(o.map((s) => s.perSec));
    const basePerSec = median(b.map((s) => s.perSec));
    const cpu = median(o.map((s) => s.serverCpuUsPerCall));
    const baseCpu = median(b.map((s) => s.serverCpuUsPerCall));
    figures[`inFlight${level}`] = {
      callsPerSec: Math.round(perSec),
      baselineCallsPerSec: Math.round(basePerSec),
      ratio: round(perSec / basePerSec),
      serverCpuUsPerCall: Number.isNaN(cpu) ? null : Math.round(cpu),
      baselineServerCpuUsPerCall: Number.isNaN(baseCpu) ? null : Math.round(baseCpu),
      serverCpuRatio: Number.isNaN(cpu) ? null : round(cpu / baseCpu),
    };
  }
  figures.node = process.version;
  print(argv, figures);
}
