/**
 * The Redis backend against the in-memory one and against plain BullMQ, in the same run, and the
 * cluster runtime on in-memory ports (`memoryClusterBackend`, one instance) against the local
 * runtime: what running the one cluster composition over async ports costs without any server
 * (architecture.md, deviation 6). Figures: sessions per second and the latency each session pays
 * (submit to result) at 64 in flight, with one and with two instances (two runtimes in this
 * process on one Redis), and one session at a time. Rounds are interleaved (every side once per
 * round, after one warm-up pass each) and the figures are the medians of the rounds. Starts its
 * own `redis-server` unless BENCH_REDIS_URL is set; `--memory-only` measures the two in-memory
 * sides alone, with no Redis.
 *
 * Two more sides spread the sessions over two providers (`p` and `q`, alternating) under one shared
 * `maxConcurrent` and no per-provider limit: in memory and on one Redis instance, where an instance
 * at its bound resumes first the Worker whose queue holds the session one process would run next
 * (`src/scale/first-fetch.ts`), a path the one-provider sides never take.
 *
 * The BullMQ baseline is what troupe's Redis backend is built on, doing the least a caller could:
 * `queue.add`, a Worker (same concurrency) that completes the job at once, and the caller waiting
 * for the completion through `QueueEvents`, as troupe's caller waits for its result.
 */
import { Queue, QueueEvents, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import type { ChatProvider } from '../src/providers/port.js';
import { MemoryClusterHub } from '../src/runtime/backend.js';
import { createRuntime } from '../src/runtime/runtime.js';
import type { Runtime } from '../src/runtime/types.js';
import { memoryClusterBackend } from '../src/scale/memory-cluster.js';
import { redisBackend } from '../src/scale/redis-backend.js';
import { startRedis } from './support.js';

const SESSIONS = Number(process.env.BENCH_SESSIONS ?? 3000);
const SESSIONS_AT_ONE = Number(process.env.BENCH_SESSIONS_AT_ONE ?? 300);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
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

/** Two instant providers, `p` and `q`: the two-provider sides alternate between them. */
const TWO_PROVIDERS: ChatProvider[] = ['p', 'q'].map((name) => ({ ...instant, name }));
const alternating = (runtime: Runtime) => (i: number) =>
  runtime.submit({ provider: i % 2 === 0 ? 'p' : 'q', ...REQUEST }).result;

/** The two-provider sides: in memory, and one instance on Redis; one `maxConcurrent` for both providers. */
async function twoProviderSides(url: string) {
  const options = {
    providers: TWO_PROVIDERS,
    defaults: { model: 'm' },
    limits: { maxConcurrent: IN_FLIGHT },
  };
  const memory = createRuntime(options);
  const redis = createRuntime({ ...options, backend: await redisBackend({ url, prefix: 'bench3' }) });
  await redis.ready;
  return { memory, redis };
}

interface Figures {
  readonly perSec: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

/** Runs `count` calls of `call`, `inFlight` at a time; throughput and latency percentiles. */
async function measure(
  call: (i: number) => Promise<unknown>,
  count: number,
  inFlight: number,
): Promise<Figures> {
  const latencies: number[] = [];
  let issued = 0;
  const started = performance.now();
  await new Promise<void>((resolve, reject) => {
    let finished = 0;
    const next = (): void => {
      if (issued >= count) return;
      const i = issued++;
      const t0 = performance.now();
      call(i).then(() => {
        latencies.push(performance.now() - t0);
        if (++finished === count) resolve();
        else next();
      }, reject);
    };
    for (let i = 0; i < inFlight; i++) next();
  });
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!;
  return { perSec: Math.round(count / seconds), p50Ms: round(at(0.5)), p99Ms: round(at(0.99)) };
}

const round = (n: number) => Math.round(n * 100) / 100;
const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
};
const medianOf = (runs: Figures[]): Figures => ({
  perSec: median(runs.map((r) => r.perSec)),
  p50Ms: median(runs.map((r) => r.p50Ms)),
  p99Ms: median(runs.map((r) => r.p99Ms)),
});

/** `perModel`: the provider cools down per model (GLM's `cooldownScope`): one more shared key a start and a settle. */
async function clustered(url: string, prefix: string, count: number, perModel = false): Promise<Runtime[]> {
  const runtimes: Runtime[] = [];
  for (let i = 0; i < count; i++) {
    const runtime = createRuntime({
      providers: [instant],
      defaults: { model: 'm' },
      limits: {
        maxConcurrent: IN_FLIGHT,
        perProvider: { instant: IN_FLIGHT },
        ...(perModel ? { providers: { instant: { cooldownScope: 'model' as const } } } : {}),
      },
      backend: await redisBackend({ url, prefix }),
    });
    await runtime.ready;
    runtimes.push(runtime);
  }
  return runtimes;
}

/** Plain BullMQ on the same Redis: add, complete at once, wait for the completion. */
async function bullmq(url: string) {
  const connection = { url };
  const queue = new Queue('raw', { connection, prefix: 'benchraw' });
  const events = new QueueEvents('raw', { connection, prefix: 'benchraw' });
  const worker = new Worker('raw', async () => 'ok', {
    connection,
    prefix: 'benchraw',
    concurrency: IN_FLIGHT,
  });
  await Promise.all([queue.waitUntilReady(), events.waitUntilReady(), worker.waitUntilReady()]);
  // One listener for every completion (as troupe's one bus subscription), not one per job.
  const waiting = new Map<string, () => void>();
  events.on('completed', ({ jobId }) => {
    waiting.get(jobId)?.();
    waiting.delete(jobId);
  });
  let seq = 0;
  return {
    call: (): Promise<void> => {
      const jobId = `j${++seq}`;
      const done = new Promise<void>((resolve) => waiting.set(jobId, resolve));
      return queue.add('job', { hi: 1 }, { jobId, removeOnComplete: true }).then(() => done);
    },
    close: async () => {
      await worker.close();
      await events.close();
      await queue.close();
    },
  };
}

/** Redis commands the server ran (from INFO commandstats), by command. */
async function commandCounts(url: string): Promise<Map<string, number>> {
  const client = new Redis(url);
  const info = await client.info('commandstats');
  client.disconnect();
  const counts = new Map<string, number>();
  for (const m of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) counts.set(m[1] as string, Number(m[2]));
  return counts;
}

/** Commands per call of `call` (load-independent: where the round trips go), by command and in all. */
async function commandsPerCall(url: string, call: (i: number) => Promise<unknown>, count: number) {
  const before = await commandCounts(url);
  await measure(call, count, IN_FLIGHT);
  const after = await commandCounts(url);
  const per: Record<string, number> = {};
  let total = 0;
  for (const [name, calls] of after) {
    const n = (calls - (before.get(name) ?? 0)) / count;
    if (name === 'info' || n < 0.05) continue;
    per[name] = round(n);
    total += n;
  }
  return { total: round(total), ...per };
}

const submitTo = (runtimes: Runtime[]) => (i: number) =>
  runtimes[i % runtimes.length]!.submit(REQUEST).result;

/** Every side warmed (both shapes), then `ROUNDS` interleaved rounds: each side once per round. */
async function roundsOf<S extends string>(sides: Record<S, (i: number) => Promise<unknown>>) {
  const names = Object.keys(sides) as S[];
  for (const name of names) {
    await measure(sides[name], Math.min(SESSIONS, 1000), IN_FLIGHT);
    await measure(sides[name], Math.min(SESSIONS_AT_ONE, 100), 1);
  }
  const at64 = Object.fromEntries(names.map((n) => [n, []])) as unknown as Record<S, Figures[]>;
  const atOne = Object.fromEntries(names.map((n) => [n, []])) as unknown as Record<S, Figures[]>;
  for (let r = 0; r < ROUNDS; r++) {
    for (const name of names) at64[name].push(await measure(sides[name], SESSIONS, IN_FLIGHT));
    for (const name of names) atOne[name].push(await measure(sides[name], SESSIONS_AT_ONE, 1));
  }
  return { names, at64, atOne };
}

/** The local runtime and the cluster composition on in-memory ports (one instance). */
function memorySides() {
  const memory = createRuntime({
    providers: [instant],
    defaults: { model: 'm' },
    limits: { maxConcurrent: IN_FLIGHT },
  });
  const memoryCluster = createRuntime({
    providers: [instant],
    defaults: { model: 'm' },
    limits: { maxConcurrent: IN_FLIGHT, perProvider: { instant: IN_FLIGHT } },
    backend: memoryClusterBackend({ hub: new MemoryClusterHub() }),
  });
  return { memory, memoryCluster };
}

/** What the cluster composition costs over in-memory ports, against the local runtime, in the same rounds. */
function clusterCost(at64: Record<'inMemory' | 'memoryCluster', Figures[]>, atOne: typeof at64) {
  const m64 = medianOf(at64.memoryCluster);
  return {
    sessionsPerSec: m64.perSec,
    p50Ms: m64.p50Ms,
    p99Ms: m64.p99Ms,
    addedLatencyP50Ms: round(median(at64.memoryCluster.map((f, i) => f.p50Ms - at64.inMemory[i]!.p50Ms))),
    addedLatencyP50MsAtOne: round(
      median(atOne.memoryCluster.map((f, i) => f.p50Ms - atOne.inMemory[i]!.p50Ms)),
    ),
    // The local runtime's throughput over the cluster composition's on in-memory ports, per round.
    localOverCluster: round(median(at64.inMemory.map((f, i) => f.perSec / at64.memoryCluster[i]!.perSec))),
  };
}

/** `--memory-only`: the two in-memory sides alone, no Redis (deviation 6's figure). */
async function runMemoryOnly(argv: readonly string[]): Promise<void> {
  const { memory, memoryCluster } = memorySides();
  await memoryCluster.ready;
  const { at64, atOne } = await roundsOf({
    inMemory: submitTo([memory]),
    memoryCluster: submitTo([memoryCluster]),
  });
  await Promise.all([memory, memoryCluster].map((r) => r.shutdown({ deadlineMs: 1000 })));
  const local = medianOf(at64.inMemory);
  const report = {
    sessions: SESSIONS,
    sessionsAtOne: SESSIONS_AT_ONE,
    inFlight: IN_FLIGHT,
    rounds: ROUNDS,
    inMemory: { sessionsPerSec: local.perSec, p50Ms: local.p50Ms, p99Ms: local.p99Ms },
    memoryCluster: clusterCost(at64, atOne),
    atOne: {
      inMemoryP50Ms: medianOf(atOne.inMemory).p50Ms,
      memoryClusterP50Ms: medianOf(atOne.memoryCluster).p50Ms,
    },
    node: process.version,
  };
  process.stdout.write(`${JSON.stringify(report, null, argv.includes('--json') ? undefined : 2)}\n`);
  setTimeout(() => process.exit(0), 200).unref();
}

export async function run(argv: readonly string[]): Promise<void> {
  if (argv.includes('--memory-only')) return runMemoryOnly(argv);
  const redis = await startRedis();
  try {
    const { memory, memoryCluster } = memorySides();
    await memoryCluster.ready;
    const one = await clustered(redis.url, 'bench1', 1);
    const two = await clustered(redis.url, 'bench2', 2);
    const perModel = await clustered(redis.url, 'bench3', 1, true);
    const raw = await bullmq(redis.url);
    const pq = await twoProviderSides(redis.url);
    const sides = {
      inMemory: submitTo([memory]),
      memoryCluster: submitTo([memoryCluster]),
      redis1: submitTo(one),
      redis2: submitTo(two),
      redis1PerModel: submitTo(perModel),
      bullmq: raw.call,
      inMemoryTwoProviders: alternating(pq.memory),
      redis1TwoProviders: alternating(pq.redis),
    };
    type Side = keyof typeof sides;
    const { names, at64, atOne } = await roundsOf(sides);
    // Once more each, counting what Redis runs per session (one instance) and per BullMQ job.
    const commands = {
      perSession: await commandsPerCall(redis.url, sides.redis1, 1000),
      perSessionTwoProviders: await commandsPerCall(redis.url, sides.redis1TwoProviders, 1000),
      perSessionPerModel: await commandsPerCall(redis.url, sides.redis1PerModel, 1000),
      perBullmqJob: await commandsPerCall(redis.url, sides.bullmq, 1000),
    };
    await raw.close();
    const all = [memory, memoryCluster, ...one, ...two, ...perModel, pq.memory, pq.redis];
    await Promise.all(all.map((r) => r.shutdown({ deadlineMs: 1000 })));
    const m64 = Object.fromEntries(names.map((n) => [n, medianOf(at64[n])])) as Record<Side, Figures>;
    const m1 = Object.fromEntries(names.map((n) => [n, medianOf(atOne[n])])) as Record<Side, Figures>;
    // Added latency per round (same round, same load), then the median of the rounds.
    const added = (side: Side, runs: Record<Side, Figures[]>, q: 'p50Ms' | 'p99Ms') =>
      round(median(runs[side].map((f, i) => f[q] - runs.inMemory[i]![q])));
    const report = {
      sessions: SESSIONS,
      sessionsAtOne: SESSIONS_AT_ONE,
      inFlight: IN_FLIGHT,
      rounds: ROUNDS,
      inMemory: { sessionsPerSec: m64.inMemory.perSec, p50Ms: m64.inMemory.p50Ms, p99Ms: m64.inMemory.p99Ms },
      memoryCluster: clusterCost(at64, atOne),
      redis1: {
        sessionsPerSec: m64.redis1.perSec,
        p50Ms: m64.redis1.p50Ms,
        p99Ms: m64.redis1.p99Ms,
        addedLatencyP50Ms: added('redis1', at64, 'p50Ms'),
        addedLatencyP99Ms: added('redis1', at64, 'p99Ms'),
      },
      redis2: {
        sessionsPerSec: m64.redis2.perSec,
        p50Ms: m64.redis2.p50Ms,
        p99Ms: m64.redis2.p99Ms,
        addedLatencyP50Ms: added('redis2', at64, 'p50Ms'),
        addedLatencyP99Ms: added('redis2', at64, 'p99Ms'),
      },
      // One instance whose provider cools down per model (GLM's default): its throughput and
      // latency, and the default scope's throughput over it, per round.
      perModelCooldown: {
        sessionsPerSec: m64.redis1PerModel.perSec,
        p50Ms: m64.redis1PerModel.p50Ms,
        addedLatencyP50MsAtOne: added('redis1PerModel', atOne, 'p50Ms'),
        providerOverPerModel: round(
          median(at64.redis1.map((f, i) => f.perSec / at64.redis1PerModel[i]!.perSec)),
        ),
      },
      twoProviders: {
        inMemorySessionsPerSec: m64.inMemoryTwoProviders.perSec,
        redis1SessionsPerSec: m64.redis1TwoProviders.perSec,
        redis1P50Ms: m64.redis1TwoProviders.p50Ms,
        redis1P99Ms: m64.redis1TwoProviders.p99Ms,
        // Per round: the in-memory runtime's throughput over Redis's, both on two providers.
        memoryOverRedis: round(
          median(at64.inMemoryTwoProviders.map((f, i) => f.perSec / at64.redis1TwoProviders[i]!.perSec)),
        ),
        // Per round: one provider's Redis throughput over two providers' (what the first fetch costs).
        oneOverTwoProviders: round(
          median(at64.redis1.map((f, i) => f.perSec / at64.redis1TwoProviders[i]!.perSec)),
        ),
        atOneRedis1P50Ms: m1.redis1TwoProviders.p50Ms,
      },
      rawBullmqJobsPerSec: m64.bullmq.perSec,
      rawBullmqP50Ms: m64.bullmq.p50Ms,
      ratioVsBullmq: round(median(at64.redis1.map((f, i) => f.perSec / at64.bullmq[i]!.perSec))),
      addedLatencyP50MsAtOne: added('redis1', atOne, 'p50Ms'),
      addedLatencyP99MsAtOne: added('redis1', atOne, 'p99Ms'),
      atOne: {
        inMemoryP50Ms: m1.inMemory.p50Ms,
        memoryClusterP50Ms: m1.memoryCluster.p50Ms,
        redis1P50Ms: m1.redis1.p50Ms,
        bullmqP50Ms: m1.bullmq.p50Ms,
      },
      redisCommands: commands,
      node: process.version,
    };
    if (argv.includes('--json')) process.stdout.write(`${JSON.stringify(report)}\n`);
    else process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  } finally {
    redis.stop();
  }
  setTimeout(() => process.exit(0), 200).unref();
}
