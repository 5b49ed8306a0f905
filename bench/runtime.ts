/**
 * The runtime against a bare p-queue pool: same concurrency, same instant provider, same run.
 * Also memory per queued and per running session, and the latency the runtime adds at 10,000
 * sessions in flight.
 */
import PQueue from 'p-queue';
import type { ChatProvider, ChatResponse } from '../src/providers/port.js';
import { createRuntime } from '../src/runtime/runtime.js';

const SESSIONS = Number(process.env.BENCH_SESSIONS ?? 200_000);
const IN_FLIGHT = 10_000;
const CONCURRENCY = 64;
const REQUEST = { messages: [{ role: 'user' as const, content: 'hi' }] };
const ANSWER: ChatResponse = {
  content: 'ok',
  usage: { promptTokens: 1, completionTokens: 1, totalTokens: 2 },
};

const instant: ChatProvider = {
  name: 'instant',
  complete: async () => ANSWER,
  // biome-ignore lint/correctness/useYield: never streamed here.
  async *stream() {
    throw new Error('not used');
  },
};

/** Keeps `inFlight` calls going until `total` have finished; returns calls per second. */
async function closedLoop(total: number, inFlight: number, call: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  let submitted = 0;
  await new Promise<void>((resolve) => {
    let finished = 0;
    const next = (): void => {
      if (submitted >= total) return;
      submitted++;
      call().then(() => {
        finished++;
        if (finished === total) resolve();
        else next();
      });
    };
    for (let i = 0; i < inFlight; i++) next();
  });
  return total / ((performance.now() - started) / 1000);
}

async function throughput(): Promise<{ sessionsPerSec: number; baselineSessionsPerSec: number }> {
  const queue = new PQueue({ concurrency: CONCURRENCY });
  const runtime = createRuntime({
    providers: [instant],
    defaults: { model: 'm' },
    limits: { maxConcurrent: CONCURRENCY, maxQueued: IN_FLIGHT * 2 },
  });
  // The baseline gets the same request object and one signal for all calls: it should pay for
  // the pool and nothing else.
  const chat = { model: 'm', messages: REQUEST.messages };
  const options = { signal: new AbortController().signal };
  const baselineCall = () => queue.add(() => instant.complete(chat, options));
  const runtimeCall = () => runtime.submit(REQUEST).result;
  // Warm both, then alternate measured rounds so neither gets a quieter machine.
  await closedLoop(20_000, IN_FLIGHT, baselineCall);
  await closedLoop(20_000, IN_FLIGHT, runtimeCall);
  const base: number[] = [];
  const ours: number[] = [];
  for (let round = 0; round < 3; round++) {
    base.push(await closedLoop(SESSIONS / 2, IN_FLIGHT, baselineCall));
    ours.push(await closedLoop(SESSIONS / 2, IN_FLIGHT, runtimeCall));
  }
  await runtime.shutdown();
  return { sessionsPerSec: median(ours), baselineSessionsPerSec: median(base) };
}

/**
 * Inspection's cost: the same closed loop on two runtimes, one with a no-op `subscribe()` listener
 * (events built and delivered) and one with none (events never built). Alternated, medians.
 */
async function subscriberCost(): Promise<{ withoutPerSec: number; withPerSec: number }> {
  const make = () =>
    createRuntime({
      providers: [instant],
      defaults: { model: 'm' },
      limits: { maxConcurrent: CONCURRENCY, maxQueued: IN_FLIGHT * 2 },
    });
  const bare = make();
  const watched = make();
  watched.subscribe(() => {});
  const without: number[] = [];
  const withListener: number[] = [];
  for (let round = 0; round < 3; round++) {
    without.push(await closedLoop(SESSIONS / 4, IN_FLIGHT, () => bare.submit(REQUEST).result));
    withListener.push(await closedLoop(SESSIONS / 4, IN_FLIGHT, () => watched.submit(REQUEST).result));
  }
  await Promise.all([bare.shutdown(), watched.shutdown()]);
  return { withoutPerSec: median(without), withPerSec: median(withListener) };
}

/** Bytes of heap per session, measured with `count` sessions held in one state. */
async function bytesPer(state: 'queued' | 'running', count: number): Promise<number> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) return Number.NaN;
  const releases: (() => void)[] = [];
  const holding: ChatProvider = {
    name: 'holding',
    complete: () => new Promise<ChatResponse>((resolve) => releases.push(() => resolve(ANSWER))),
    // biome-ignore lint/correctness/useYield: never streamed here.
    async *stream() {
      throw new Error('not used');
    },
  };
  const runtime = createRuntime({
    providers: [holding],
    defaults: { model: 'm' },
    limits: { maxConcurrent: state === 'running' ? count : 1, maxQueued: count + 1 },
  });
  gc();
  const before = process.memoryUsage().heapUsed;
  const handles = [];
  for (let i = 0; i < count; i++) handles.push(runtime.submit(REQUEST));
  gc();
  const after = process.memoryUsage().heapUsed;
  const per = (after - before) / count;
  for (const h of handles) h.cancel('benchmark over');
  await Promise.all(handles.map((h) => h.result));
  await runtime.shutdown();
  return Math.round(per);
}

/** Time the runtime adds around a provider call, with 10,000 sessions in flight at once. */
async function addedLatency(): Promise<{ p50: number; p99: number }> {
  const added: number[] = [];
  const callStart = new Map<string, number>();
  const provider: ChatProvider = {
    name: 'timed',
    complete: (request) =>
      new Promise((resolve) => {
        const start = performance.now();
        setTimeout(() => resolve({ ...ANSWER, content: String(performance.now() - start) }), 50);
        callStart.set(String(request.extra?.id), start);
      }),
    // biome-ignore lint/correctness/useYield: never streamed here.
    async *stream() {
      throw new Error('not used');
    },
  };
  const runtime = createRuntime({
    providers: [provider],
    defaults: { model: 'm' },
    limits: { maxConcurrent: IN_FLIGHT, maxQueued: IN_FLIGHT },
  });
  const all: Promise<void>[] = [];
  for (let i = 0; i < IN_FLIGHT; i++) {
    const submittedAt = performance.now();
    const handle = runtime.submit({ ...REQUEST, extra: { id: i } });
    all.push(
      handle.result.then((result) => {
        const total = performance.now() - submittedAt;
        if (result.ok) added.push(total - Number(result.content));
      }),
    );
  }
  await Promise.all(all);
  await runtime.shutdown();
  added.sort((a, b) => a - b);
  return { p50: percentile(added, 0.5), p99: percentile(added, 0.99) };
}

function median(values: number[]): number {
  return percentile(
    [...values].sort((a, b) => a - b),
    0.5,
  );
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? Number.NaN;
}

export async function run(argv: readonly string[]): Promise<void> {
  const { sessionsPerSec, baselineSessionsPerSec } = await throughput();
  const bytesPerQueuedSession = await bytesPer('queued', IN_FLIGHT);
  const bytesPerRunningSession = await bytesPer('running', IN_FLIGHT);
  const latency = await addedLatency();
  const inspection = await subscriberCost();
  const figures = {
    sessions: SESSIONS,
    inFlight: IN_FLIGHT,
    concurrency: CONCURRENCY,
    sessionsPerSec: Math.round(sessionsPerSec),
    baselineSessionsPerSec: Math.round(baselineSessionsPerSec),
    ratio: Number((sessionsPerSec / baselineSessionsPerSec).toFixed(3)),
    bytesPerQueuedSession,
    bytesPerRunningSession,
    addedLatencyP50Ms: Number(latency.p50.toFixed(3)),
    addedLatencyP99Ms: Number(latency.p99.toFixed(3)),
    noListenerSessionsPerSec: Math.round(inspection.withoutPerSec),
    listenerSessionsPerSec: Math.round(inspection.withPerSec),
    listenerRatio: Number((inspection.withPerSec / inspection.withoutPerSec).toFixed(3)),
    node: process.version,
  };
  if (argv.includes('--json')) process.stdout.write(`${JSON.stringify(figures)}\n`);
  else for (const [k, v] of Object.entries(figures)) process.stdout.write(`${k.padEnd(24)} ${v}\n`);
}
