/**
 * `npm run bench -- stdio [--calls 1500] [--rounds 3] [--chunks 4] [--protocol 2025-11-25|2026-07-28] [--latency-ms 0] [--json]`:
 * the built `troupe stdio` CLI (simulated provider; each call asks for zero latency through
 * `extra.simulateLatencyMs`) against a bare SDK v2 stdio server with the same `chat` tool on the
 * same instant provider (bench/stdio-bare.ts). Both are child processes driven by the SDK client's
 * StdioClientTransport, at 1 and 32 calls in flight, once per protocol revision: a client that
 * negotiates 2025-11-25 (the SDK client's default) and one pinned to 2026-07-28, each against its
 * own bare server of the same revision. Rounds rotate which side goes first.
 *
 * Besides calls/s, each level reports the server child's CPU per call (`/proc/<pid>/stat`, Linux
 * only; `null` elsewhere): on a loaded machine throughput swings with the scheduler, CPU per call
 * much less. `BENCH_CHILD_NODE_ARGS` (space-separated) goes to every child, e.g.
 * `--cpu-prof --cpu-prof-dir=/tmp/prof` to profile them. A third server, `layer` (bench/stdio-layer.ts),
 * is troupe's stdio server as the CLI wires it with the baseline's tool added as `bare_chat`: each
 * level prints it against the bare server (`layerRatio`, `layerCpuRatio`) and what the session costs
 * beyond it (`sessionCpuUsPerCall`: troupe's server CPU per call minus the layer's).
 * `BENCH_STDIO_BEFORE=<checkout>` adds a
 * third side, `before`: that checkout's built CLI (`<checkout>/dist/src/cli/main.js`), for an A/B
 * of two builds in the same rounds (`vsBeforeCpuRatio`: this build's CPU per call over its);
 * `BENCH_BEFORE_NODE_ARGS` (space-separated) goes to that side alone, so the same checkout with a
 * Node flag is an A/B of the flag (e.g. `--max-semi-space-size=32`).
 *
 * A third level, `paced`, is how an MCP host calls a tool: one call at a time, with a pause between
 * calls (`--pace-ms`, 5 by default; a real host waits seconds for a model in between). Each call
 * then runs on a cold server (caches, branch predictors, the collector's threads), and the level
 * reports each side's median round-trip time and what troupe adds to it (`addedP50Us`), beside the
 * server CPU per call, rather than calls/s.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { flag, median, print, procCpuUs, round } from './support.js';

const LEVELS = [1, 32] as const;
/** Level `paced`: one call at a time with a pause between, this many calls a side and round. */
const PACED = 0;
const PACED_CALLS = 200;
const PROTOCOLS = ['2025-11-25', '2026-07-28'] as const;
type Protocol = (typeof PROTOCOLS)[number];
const CLI = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const BARE = fileURLToPath(new URL('./stdio-bare.js', import.meta.url));
const LAYER = fileURLToPath(new URL('./stdio-layer.js', import.meta.url));
const BEFORE = process.env.BENCH_STDIO_BEFORE;

const words = (value: string | undefined) => (value ?? '').split(' ').filter((a) => a !== '');
const CHILD_ARGS = words(process.env.BENCH_CHILD_NODE_ARGS);
/** Node flags for the `before` side alone (after `BENCH_CHILD_NODE_ARGS`): the same build with a flag is an A/B of the flag. */
const BEFORE_ARGS = words(process.env.BENCH_BEFORE_NODE_ARGS);

type SideName = 'troupe' | 'bare' | 'layer' | 'before';

interface Server {
  readonly client: Client;
  /** The child's CPU time so far, in µs, or NaN where /proc is not readable. */
  cpuUs(): number;
}

async function connect(args: string[], protocol: Protocol): Promise<Server> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [...CHILD_ARGS, ...args],
    // No provider keys: troupe serves the simulated provider. Logs are kept quiet.
    env: { PATH: process.env.PATH ?? '', TROUPE_LOG_LEVEL: 'error' },
    stderr: 'ignore',
  });
  const client = new Client(
    { name: 'bench', version: '1.0.0' },
    protocol === '2026-07-28' ? { versionNegotiation: { mode: { pin: '2026-07-28' } } } : {},
  );
  await client.connect(transport);
  const negotiated = client.getNegotiatedProtocolVersion();
  if (negotiated !== protocol)
    throw new Error(`Expected the ${args.at(-1)} child to speak ${protocol}, got ${negotiated}`);
  return { client, cpuUs: () => procCpuUs(transport.pid) };
}

interface Sample {
  perSec: number;
  serverCpuUsPerCall: number;
  /** The driving client's CPU a call (this process, `process.cpuUsage`): the SDK client's work on each answer. */
  clientCpuUsPerCall: number;
  /** The median round trip of one call, in µs. */
  p50Us: number;
}

async function drive(
  { client, cpuUs }: Server,
  calls: number,
  inFlight: number,
  tool = 'chat',
  latencyMs = 0,
  paceMs = 0,
): Promise<Sample> {
  let next = 0;
  const trips: number[] = [];
  const worker = async () => {
    while (next < calls) {
      next++;
      const sent = performance.now();
      const result = await client.callTool({
        name: tool,
        arguments: { prompt: 'benchmark', extra: { simulateLatencyMs: latencyMs } },
      });
      trips.push(performance.now() - sent);
      if (result.isError) throw new Error(`${tool} failed: ${JSON.stringify(result.content)}`);
      if (paceMs > 0) await new Promise((resolve) => setTimeout(resolve, paceMs));
    }
  };
  const cpu = cpuUs();
  const own = process.cpuUsage();
  const started = performance.now();
  await Promise.all(Array.from({ length: inFlight }, worker));
  const perSec = calls / ((performance.now() - started) / 1000);
  const used = process.cpuUsage(own);
  return {
    perSec,
    serverCpuUsPerCall: (cpuUs() - cpu) / calls,
    clientCpuUsPerCall: (used.user + used.system) / calls,
    p50Us: median(trips) * 1000,
  };
}

function protocolsOf(argv: readonly string[]): readonly Protocol[] {
  const at = argv.indexOf('--protocol');
  if (at < 0) return PROTOCOLS;
  const wanted = argv[at + 1];
  const known = PROTOCOLS.find((p) => p === wanted);
  if (known === undefined)
    throw new Error(`--protocol: Expected one of ${PROTOCOLS.join(', ')}, got ${wanted}`);
  return [known];
}

export async function run(argv: readonly string[]): Promise<void> {
  if (!existsSync(CLI)) throw new Error(`Expected the built CLI at ${CLI}, got nothing: run npm run build`);
  const beforeCli = BEFORE === undefined ? undefined : resolve(BEFORE, 'dist/src/cli/main.js');
  if (beforeCli !== undefined && !existsSync(beforeCli))
    throw new Error(
      `BENCH_STDIO_BEFORE: Expected a built CLI at ${beforeCli}, got nothing: build that checkout`,
    );
  const calls = flag(argv, 'calls', 1500);
  const rounds = flag(argv, 'rounds', 3);
  // The simulated provider's answer time, for every side alike: 0 measures the servers alone.
  const latencyMs = flag(argv, 'latency-ms', 0);
  // The pause between the calls of level `paced`, as a host leaves between tool calls.
  const paceMs = flag(argv, 'pace-ms', 5);
  const protocols = protocolsOf(argv);
  // Chunks a side's calls of a level are split into within a round (see the loop).
  const chunks = flag(argv, 'chunks', 4);
  const names: SideName[] =
    beforeCli === undefined ? ['bare', 'layer', 'troupe'] : ['bare', 'layer', 'troupe', 'before'];
  const argsOf = (side: SideName): string[] =>
    side === 'bare'
      ? [BARE]
      : side === 'layer'
        ? [LAYER]
        : side === 'troupe'
          ? [CLI, 'stdio']
          : [...BEFORE_ARGS, beforeCli as string, 'stdio'];
  const toolOf = (side: SideName) => (side === 'layer' ? 'bare_chat' : 'chat');
  const servers = new Map<string, Server>();
  const samples = new Map<string, Sample[]>();
  const key = (p: Protocol, side: SideName, level?: number) => `${p} ${side} ${level ?? ''}`;
  for (const protocol of protocols) {
    for (const side of names) {
      const server = await connect(argsOf(side), protocol);
      servers.set(key(protocol, side), server);
      await drive(server, 300, 8, toolOf(side));
    }
  }
  for (let r = 0; r < rounds; r++) {
    // Rotate the order of the sides each round, so no side always runs first or last.
    const order = names.map((_, i) => names[(i + r) % names.length] as SideName);
    for (const protocol of protocols) {
      for (const level of LEVELS) {
        const n = Math.ceil((level === 1 ? Math.ceil(calls / 3) : calls) / chunks);
        // Each side's calls of a round in `chunks` short runs, the sides taking turns: a pair of
        // neighbouring chunks meets the same machine, which the pairs' ratios below rely on.
        for (let c = 0; c < chunks; c++) {
          for (const side of order) {
            const server = servers.get(key(protocol, side)) as Server;
            const sample = await drive(server, n, level, toolOf(side), latencyMs);
            const k = key(protocol, side, level);
            samples.set(k, [...(samples.get(k) ?? []), sample]);
          }
        }
      }
      for (const side of order) {
        const server = servers.get(key(protocol, side)) as Server;
        const sample = await drive(server, PACED_CALLS, 1, toolOf(side), latencyMs, paceMs);
        const k = key(protocol, side, PACED);
        samples.set(k, [...(samples.get(k) ?? []), sample]);
      }
    }
  }
  await Promise.all([...servers.values()].map((s) => s.client.close()));
  const figures: Record<string, unknown> = { calls, rounds, chunks, latencyMs, paceMs };
  // The median of the ratios of neighbouring chunks (same round, same turn): steadier than the
  // ratio of two medians when the machine's speed drifts during a run.
  const ofPairs = (a: readonly Sample[], b: readonly Sample[], of: (s: Sample) => number) =>
    round(median(a.map((s, i) => of(s) / (b[i] === undefined ? Number.NaN : of(b[i])))));
  const cpuOf = (ss: readonly Sample[]) => median(ss.map((s) => s.serverCpuUsPerCall));
  const clientOf = (ss: readonly Sample[]) => median(ss.map((s) => s.clientCpuUsPerCall));
  const us = (n: number) => (Number.isNaN(n) ? null : Math.round(n));
  const ratio = (a: number, b: number) => (Number.isNaN(a) || Number.isNaN(b) ? null : round(a / b));
  for (const protocol of protocols) {
    const row: Record<string, unknown> = {};
    for (const level of LEVELS) {
      const o = samples.get(key(protocol, 'troupe', level)) ?? [];
      const b = samples.get(key(protocol, 'bare', level)) ?? [];
      const perSec = median(o.map((s) => s.perSec));
      const basePerSec = median(b.map((s) => s.perSec));
      const entry: Record<string, unknown> = {
        callsPerSec: Math.round(perSec),
        baselineCallsPerSec: Math.round(basePerSec),
        ratio: round(perSec / basePerSec),
        ratioOfPairs: ofPairs(o, b, (s) => s.perSec),
        serverCpuUsPerCall: us(cpuOf(o)),
        baselineServerCpuUsPerCall: us(cpuOf(b)),
        serverCpuRatio: ratio(cpuOf(o), cpuOf(b)),
        serverCpuRatioOfPairs: ofPairs(o, b, (s) => s.serverCpuUsPerCall),
        clientCpuUsPerCall: us(clientOf(o)),
        baselineClientCpuUsPerCall: us(clientOf(b)),
        clientCpuRatio: ratio(clientOf(o), clientOf(b)),
      };
      // troupe's server without a session (side `layer`): its MCP layer alone, and what is left.
      const layer = samples.get(key(protocol, 'layer', level)) ?? [];
      entry.layerCallsPerSec = Math.round(median(layer.map((s) => s.perSec)));
      entry.layerRatio = round(median(layer.map((s) => s.perSec)) / basePerSec);
      entry.layerServerCpuUsPerCall = us(cpuOf(layer));
      entry.layerCpuRatio = ratio(cpuOf(layer), cpuOf(b));
      entry.sessionCpuUsPerCall = us(cpuOf(o) - cpuOf(layer));
      if (beforeCli !== undefined) {
        const before = samples.get(key(protocol, 'before', level)) ?? [];
        entry.beforeCallsPerSec = Math.round(median(before.map((s) => s.perSec)));
        entry.beforeServerCpuUsPerCall = us(cpuOf(before));
        entry.vsBeforeCpuRatio = ratio(cpuOf(o), cpuOf(before));
        entry.vsBeforeRatioOfPairs = ofPairs(o, before, (s) => s.perSec);
      }
      row[`inFlight${level}`] = entry;
    }
    const p50Of = (side: SideName) =>
      median((samples.get(key(protocol, side, PACED)) ?? []).map((s) => s.p50Us));
    const cpuAt = (side: SideName) => cpuOf(samples.get(key(protocol, side, PACED)) ?? []);
    const paced: Record<string, unknown> = {
      p50Us: us(p50Of('troupe')),
      baselineP50Us: us(p50Of('bare')),
      addedP50Us: us(p50Of('troupe') - p50Of('bare')),
      layerAddedP50Us: us(p50Of('layer') - p50Of('bare')),
      serverCpuUsPerCall: us(cpuAt('troupe')),
      baselineServerCpuUsPerCall: us(cpuAt('bare')),
      serverCpuRatio: ratio(cpuAt('troupe'), cpuAt('bare')),
      layerServerCpuUsPerCall: us(cpuAt('layer')),
    };
    if (beforeCli !== undefined) paced.beforeP50Us = us(p50Of('before'));
    row.paced = paced;
    figures[protocol] = row;
  }
  figures.node = process.version;
  print(argv, figures);
}
