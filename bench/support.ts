/**
 * Small helpers shared by the path benchmarks (stdio, stream, http): medians, percentiles, a
 * child process running the local OpenAI-compatible server, and figure printing.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

export const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] ?? Number.NaN)
    : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
};

export const pct = (sorted: readonly number[], p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? Number.NaN;

export const round = (n: number, digits = 3): number => Number(n.toFixed(digits));

/** Reads `--name value` from argv, else the fallback. */
export function flag(argv: readonly string[], name: string, fallback: number): number {
  const at = argv.indexOf(`--${name}`);
  if (at < 0) return fallback;
  const value = Number(argv[at + 1]);
  if (!Number.isFinite(value) || value <= 0)
    throw new Error(`--${name}: Expected a positive number, got ${argv[at + 1]}`);
  return value;
}

/** utime + stime of a process, from /proc (fields 14 and 15, in clock ticks of 10 ms), in µs; NaN off Linux. */
export function procCpuUs(pid: number | null | undefined): number {
  if (pid === null || pid === undefined) return Number.NaN;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10_000;
  } catch {
    return Number.NaN;
  }
}

export function print(argv: readonly string[], figures: Record<string, unknown>): void {
  if (argv.includes('--json')) process.stdout.write(`${JSON.stringify(figures)}\n`);
  else
    for (const [k, v] of Object.entries(figures))
      process.stdout.write(`${k.padEnd(28)} ${JSON.stringify(v)}\n`);
}

/**
 * The local OpenAI-compatible server in its own process, so its CPU does not count in the
 * client-side figures. Streams answer with `chunks` 4-character pieces `0000`, `0001`, ... so a
 * lost or reordered chunk shows in the joined text.
 */
export async function startServerChild(chunks: number): Promise<{ baseURL: string; close(): Promise<void> }> {
  const script = fileURLToPath(new URL('./openai-child.js', import.meta.url));
  const child: ChildProcess = spawn(process.execPath, [script, String(chunks)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const [line] = (await once(child.stdout as NodeJS.ReadableStream, 'data')) as [Buffer];
  const baseURL = line.toString().trim();
  return {
    baseURL,
    close: async () => {
      child.kill('SIGTERM');
      if (child.exitCode === null) await once(child, 'exit');
    },
  };
}

/** The text a stream of `chunks` pieces must join to. */
export const streamText = (chunks: number): string =>
  Array.from({ length: chunks }, (_, i) => String(i % 10000).padStart(4, '0')).join('');

/** A `redis-server` of this machine's on a free port (BENCH_REDIS_URL: that server instead). */
export async function startRedis(): Promise<{ url: string; stop: () => void }> {
  if (process.env.BENCH_REDIS_URL) return { url: process.env.BENCH_REDIS_URL, stop: () => {} };
  const probe = createServer().listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const port = (probe.address() as { port: number }).port;
  probe.close();
  const child = spawn('redis-server', ['--port', String(port), '--save', '', '--appendonly', 'no'], {
    stdio: 'ignore',
  });
  await new Promise((r) => setTimeout(r, 300));
  return { url: `redis://127.0.0.1:${port}`, stop: () => child.kill('SIGKILL') };
}
