/**
 * `npm run bench -- toolcall [--calls 2000] [--chunks 8] [--in-flight 32] [--alloc-calls 2000] [--top 0] [--json]`:
 * the stdio server's `chat` tool call in process (bench/toolcall-child.ts: the runtime session, the
 * tool glue, the instant simulated provider; no SDK, no pipe), CPU per call and bytes allocated per
 * call. On a shared machine calls/s of the stdio benchmark follow the scheduler; these two figures
 * much less, so they are what an A/B of two builds compares.
 *
 * `BENCH_TOOLCALL_BEFORE=<checkout>` adds a side `before`: that checkout's built `dist/` driven by
 * this build's child script. Each side is a process of its own, warmed first; then `--chunks`
 * chunks of `--calls` calls each, the sides interleaved (the order rotates every chunk), and the
 * medians of the chunks' CPU per call (`process.cpuUsage`); then one chunk per side under a
 * sampling heap profile counting collected objects (`bytesPerCall`; `--top N` lists the N
 * functions allocating most, bytes per call). `BENCH_CHILD_NODE_ARGS` goes to every child (e.g.
 * `--cpu-prof --cpu-prof-dir=/tmp/prof`).
 */
import { type ChildProcess, fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { flag, median, print, round } from './support.js';

const CHILD = fileURLToPath(new URL('./toolcall-child.js', import.meta.url));
const OURS = fileURLToPath(new URL('..', import.meta.url));
const BEFORE = process.env.BENCH_TOOLCALL_BEFORE;
const CHILD_ARGS = (process.env.BENCH_CHILD_NODE_ARGS ?? '').split(' ').filter((a) => a !== '');

interface Side {
  readonly name: string;
  ask(request: Record<string, unknown>): Promise<Record<string, unknown>>;
  close(): void;
}

async function start(name: string, dist: string): Promise<Side> {
  const child: ChildProcess = fork(CHILD, [dist], {
    execArgv: CHILD_ARGS,
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  let waiting:
    | ((answer: { ok: boolean; figures?: Record<string, unknown>; error?: string }) => void)
    | undefined;
  const next = () =>
    new Promise<Record<string, unknown>>((resolveAnswer, reject) => {
      waiting = (answer) =>
        answer.ok ? resolveAnswer(answer.figures ?? {}) : reject(new Error(`${name}: ${answer.error}`));
    });
  child.on('message', (answer: { ok: boolean; figures?: Record<string, unknown>; error?: string }) => {
    const deliver = waiting;
    waiting = undefined;
    deliver?.(answer);
  });
  child.once('exit', (code) => waiting?.({ ok: false, error: `exited with ${code}` }));
  await next();
  return {
    name,
    ask(request) {
      const answer = next();
      child.send(request);
      return answer;
    },
    close: () => child.disconnect(),
  };
}

export async function run(argv: readonly string[]): Promise<void> {
  const calls = flag(argv, 'calls', 2000);
  const chunks = flag(argv, 'chunks', 8);
  const inFlight = flag(argv, 'in-flight', 32);
  const allocCalls = flag(argv, 'alloc-calls', 2000);
  const top = argv.includes('--top') ? flag(argv, 'top', 10) : 0;
  const dists: [string, string][] = [['troupe', OURS]];
  if (BEFORE !== undefined) {
    const before = resolve(BEFORE, 'dist');
    if (!existsSync(resolve(before, 'src/mcp/tools/chat.js')))
      throw new Error(
        `BENCH_TOOLCALL_BEFORE: Expected a built checkout at ${BEFORE}, got no dist/: build it`,
      );
    dists.push(['before', before]);
  }
  const sides: Side[] = [];
  for (const [name, dist] of dists) sides.push(await start(name, dist));
  try {
    // Warm-up: the JIT, and the first few thousand calls whose cost keeps falling.
    for (const side of sides) await side.ask({ op: 'cpu', calls: 3 * calls, inFlight });
    const cpu = new Map<string, number[]>(sides.map((s) => [s.name, []]));
    for (let c = 0; c < chunks; c++) {
      for (let i = 0; i < sides.length; i++) {
        const side = sides[(i + c) % sides.length] as Side;
        const { cpuUsPerCall } = await side.ask({ op: 'cpu', calls, inFlight });
        cpu.get(side.name)?.push(cpuUsPerCall as number);
      }
    }
    const figures: Record<string, unknown> = { calls, chunks, inFlight };
    for (const side of sides) {
      const alloc = await side.ask({ op: 'alloc', calls: allocCalls, inFlight, top });
      const perChunk = cpu.get(side.name) ?? [];
      figures[side.name] = {
        cpuUsPerCall: round(median(perChunk), 1),
        cpuUsPerChunk: perChunk.map((us) => round(us, 1)),
        bytesPerCall: alloc.bytesPerCall,
        ...(top > 0 ? { topAllocations: alloc.top } : {}),
      };
    }
    if (BEFORE !== undefined) {
      const ours = figures.troupe as { cpuUsPerCall: number; bytesPerCall: number };
      const before = figures.before as { cpuUsPerCall: number; bytesPerCall: number };
      figures.cpuRatio = round(ours.cpuUsPerCall / before.cpuUsPerCall);
      // Chunk by chunk (each pair ran back to back): steadier than the ratio of medians under load.
      const theirs = cpu.get('before') ?? [];
      figures.cpuRatioOfPairs = round(
        median((cpu.get('troupe') ?? []).map((us, c) => us / (theirs[c] ?? Number.NaN))),
      );
      figures.bytesRatio = round(ours.bytesPerCall / before.bytesPerCall);
    }
    figures.node = process.version;
    print(argv, figures);
  } finally {
    for (const side of sides) side.close();
  }
}
