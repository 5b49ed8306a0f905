/**
 * The Redis backend against the in-memory one, in the same run: sessions per second and the
 * latency each session pays (submit to result), with one and with two instances (two runtimes in
 * this process on one Redis). Starts its own `redis-server` unless BENCH_REDIS_URL is set.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import type { ChatProvider } from '../src/providers/port.js';
import { createRuntime } from '../src/runtime/runtime.js';
import type { Runtime } from '../src/runtime/types.js';
import { redisBackend } from '../src/scale/redis-backend.js';

const SESSIONS = Number(process.env.BENCH_SESSIONS ?? 3000);
const IN_FLIGHT = 64;
const REQUEST = { messages: [{ role: 'user' as const, content: 'hi' }] };
const instant: ChatProvider = {
  name: 'instant',
  complete: async () => ({ content: 'ok' }),
  // biome-ignore lint/correctness/useYield: never streamed here.
  async *stream() {
    throw new Error('not used');
  },
};

async function measure(
  submitters: Runtime[],
): Promise<{ sessionsPerSec: number; p50Ms: number; p99Ms: number }> {
  const latencies: number[] = [];
  let submitted = 0;
  const started = performance.now();
  await new Promise<void>((resolve) => {
    let finished = 0;
    const next = (): void => {
      if (submitted >= SESSIONS) return;
      const runtime = submitters[submitted++ % submitters.length]!;
      const t0 = performance.now();
      void runtime.submit(REQUEST).result.then(() => {
        latencies.push(performance.now() - t0);
        if (++finished === SESSIONS) resolve();
        else next();
      });
    };
    for (let i = 0; i < IN_FLIGHT; i++) next();
  });
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!;
  return { sessionsPerSec: Math.round(SESSIONS / seconds), p50Ms: round(at(0.5)), p99Ms: round(at(0.99)) };
}

const round = (n: number) => Math.round(n * 100) / 100;

async function startRedis(): Promise<{ url: string; stop: () => void }> {
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

async function clustered(url: string, prefix: string, count: number): Promise<Runtime[]> {
  const runtimes: Runtime[] = [];
  for (let i = 0; i < count; i++) {
    const runtime = createRuntime({
      providers: [instant],
      defaults: { model: 'm' },
      limits: { maxConcurrent: IN_FLIGHT, perProvider: { instant: IN_FLIGHT } },
      backend: await redisBackend({ url, prefix }),
    });
    await (runtime as Runtime & { ready: Promise<void> }).ready;
    runtimes.push(runtime);
  }
  return runtimes;
}

export async function run(argv: readonly string[]): Promise<void> {
  const redis = await startRedis();
  try {
    const memory = createRuntime({
      providers: [instant],
      defaults: { model: 'm' },
      limits: { maxConcurrent: IN_FLIGHT },
    });
    await measure([memory]);
    const inMemory = await measure([memory]);
    await memory.shutdown();
    const one = await clustered(redis.url, 'bench1', 1);
    const oneInstance = await measure(one);
    const two = await clustered(redis.url, 'bench2', 2);
    const twoInstances = await measure(two);
    await Promise.all([...one, ...two].map((r) => r.shutdown({ deadlineMs: 1000 })));
    const added = (m: { p50Ms: number; p99Ms: number }) => ({
      addedLatencyP50Ms: round(m.p50Ms - inMemory.p50Ms),
      addedLatencyP99Ms: round(m.p99Ms - inMemory.p99Ms),
    });
    const report = {
      sessions: SESSIONS,
      inFlight: IN_FLIGHT,
      inMemory,
      redis1: { ...oneInstance, ...added(oneInstance) },
      redis2: { ...twoInstances, ...added(twoInstances) },
      node: process.version,
    };
    if (argv.includes('--json')) process.stdout.write(`${JSON.stringify(report)}\n`);
    else process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  } finally {
    redis.stop();
  }
  setTimeout(() => process.exit(0), 200).unref();
}
