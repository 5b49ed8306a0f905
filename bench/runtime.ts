/**
 * The runtime against bare p-queue pools: same concurrency, same instant provider, same run, at 128
 * and at 10,000 in flight. Three baselines, each answering its own question: p-queue with the same
 * priorities and one shared signal (the pool and nothing else), the same with an `AbortController`
 * per call (what per-call cancellation, which troupe always offers, costs there), and a FIFO pool
 * (no priority queue: the honest overhead of everything troupe does per session).
 * Also memory per queued and per running session, and the latency the runtime adds at 10,000
 * sessions in flight.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import PQueue from 'p-queue';
import { createActor, fromPromise, setup } from 'xstate';
import type { ChatProvider, ChatResponse } from '../src/providers/port.js';
import { createRuntime } from '../src/runtime/runtime.js';
import type { ProviderLimits } from '../src/runtime/types.js';

const SESSIONS = Number(process.env.BENCH_SESSIONS ?? 200_000);
const ONE_CALLER = { owner: 'one caller' };
const IN_FLIGHT = 10_000;
/** Closed loops at both depths: p-queue's sorted-array insertion is O(n) itself at 10,000 queued. */
const DEPTHS = [128, IN_FLIGHT];
const CONCURRENCY = 64;
const REQUEST = { messages: [{ role: 'user' as const, content: 'hi' }] };
const ANSWER: ChatResponse = {
  content: 'ok',
  usage: { promptTokens: 1, completionTokens: 1, totalTokens: 2 },
};

/**
 * Rate limits no run of this bench reaches (a few hundred thousand sessions a minute at most, each
 * charged well under 2,000 tokens), so the limiter's bookkeeping is measured and never its waiting.
 */
const GENEROUS_LIMITS: ProviderLimits = {
  requestsPerMinute: 1_000_000_000,
  tokensPerMinute: 1_000_000_000_000,
  tokensPerDay: 1_000_000_000_000_000,
};

const instant: ChatProvider = {
  name: 'instant',
  complete: async () => ANSWER,
  // biome-ignore lint/correctness/useYield: never streamed here.
  async *stream() {
    throw new Error('not used');
  },
};

/** The priority of the `i`-th call: 0 to 9, spread evenly, the same sequence for every contender. */
const priorityOf = (i: number): number => (i * 7919) % 10;

/** Keeps `inFlight` calls going until `total` have finished; returns calls per second. */
async function closedLoop(
  total: number,
  inFlight: number,
  call: (priority: number) => Promise<unknown>,
): Promise<number> {
  const started = performance.now();
  let submitted = 0;
  await new Promise<void>((resolve) => {
    let finished = 0;
    const next = (): void => {
      if (submitted >= total) return;
      const priority = priorityOf(submitted);
      submitted++;
      call(priority).then(() => {
        finished++;
        if (finished === total) resolve();
        else next();
      });
    };
    for (let i = 0; i < inFlight; i++) next();
  });
  return total / ((performance.now() - started) / 1000);
}

/**
 * The reference point: a naive XState actor per session with its own `after` timer and an
 * invoked promise actor for the call, admitted by the same p-queue. Not troupe's code.
 */
const naiveMachine = setup({
  actors: {
    call: fromPromise(({ signal }) =>
      instant.complete({ model: 'm', messages: REQUEST.messages }, { signal }),
    ),
  },
}).createMachine({
  initial: 'queued',
  states: {
    queued: { on: { admit: 'running' } },
    running: {
      after: { 120000: 'timedOut' },
      invoke: { src: 'call', onDone: 'done', onError: 'failed' },
    },
    done: { type: 'final' },
    failed: { type: 'final' },
    timedOut: { type: 'final' },
  },
});

function naiveSession(): Promise<unknown> {
  return new Promise((resolve) => {
    const actor = createActor(naiveMachine);
    actor.subscribe({ complete: () => resolve(actor.getSnapshot().value) });
    actor.start();
    actor.send({ type: 'admit' });
  });
}

interface Contender {
  readonly name: string;
  readonly call: (priority: number) => Promise<unknown>;
  /** Fraction of the round's sessions this one runs (the slow ones run fewer). */
  readonly share: number;
}

/**
 * Every contender in alternating rounds, so none gets a quieter machine; the median of each.
 * The main workload draws priorities 0 to 9 for troupe and hands the same ones to p-queue; the FIFO
 * one runs everything at one priority, where p-queue needs no priority queue at all.
 */
async function throughput(inFlight: number): Promise<Record<string, number>> {
  const make = (engine: 'compiled' | 'xstate', providers?: Record<string, ProviderLimits>) =>
    createRuntime({
      providers: [instant],
      defaults: { model: 'm' },
      limits: { maxConcurrent: CONCURRENCY, maxQueued: inFlight * 2, providers },
      engine,
    });
  const runtime = make('compiled');
  const xstateRuntime = make('xstate');
  // The same runtime with the provider's rate windows on, set far above what the bench reaches:
  // every call is counted against requestsPerMinute and tokensPerMinute, none ever waits.
  const limitedRuntime = make('compiled', { instant: GENEROUS_LIMITS });
  const queue = new PQueue({ concurrency: CONCURRENCY });
  // The baseline gets the same request object and one signal for all calls: it should pay for
  // the pool and nothing else.
  const chat = { model: 'm', messages: REQUEST.messages };
  const options = { signal: new AbortController().signal };
  const contenders: Contender[] = [
    {
      name: 'baseline',
      share: 1,
      call: (priority) => queue.add(() => instant.complete(chat, options), { priority }),
    },
    {
      // What per-call cancellation costs a p-queue user: a controller per call, its signal handed
      // to p-queue (which can then drop the call while queued) and to the provider.
      name: 'abortBaseline',
      share: 1,
      call: (priority) => {
        const controller = new AbortController();
        return queue.add(({ signal }) => instant.complete(chat, { signal: signal ?? controller.signal }), {
          priority,
          signal: controller.signal,
        });
      },
    },
    { name: 'troupe', share: 1, call: (priority) => runtime.submit(REQUEST, { priority }).result },
    {
      // Every session one caller's, as `troupe stdio` submits: its share of the queue and its turns.
      name: 'troupeOneCaller',
      share: 1,
      call: (priority) => runtime.submit(REQUEST, { priority, metadata: ONE_CALLER }).result,
    },
    {
      name: 'troupeLimits',
      share: 1,
      call: (priority) => limitedRuntime.submit(REQUEST, { priority }).result,
    },
    { name: 'fifoBaseline', share: 1, call: () => queue.add(() => instant.complete(chat, options)) },
    { name: 'fifoTroupe', share: 1, call: () => runtime.submit(REQUEST).result },
    {
      name: 'xstateEngine',
      share: 0.25,
      call: (priority) => xstateRuntime.submit(REQUEST, { priority }).result,
    },
    { name: 'naiveActor', share: 0.25, call: (priority) => queue.add(naiveSession, { priority }) },
  ];
  const rates = new Map<string, number[]>(contenders.map((c) => [c.name, []]));
  for (const c of contenders) await closedLoop(Math.round(20_000 * c.share), inFlight, c.call);
  for (let round = 0; round < 3; round++) {
    for (const c of contenders)
      rates.get(c.name)?.push(await closedLoop(Math.round((SESSIONS / 2) * c.share), inFlight, c.call));
  }
  await Promise.all([runtime.shutdown(), xstateRuntime.shutdown(), limitedRuntime.shutdown()]);
  return Object.fromEntries([...rates].map(([name, values]) => [name, median(values)]));
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

/**
 * Bytes of heap per session with `count` sessions held in one state, measured in a fresh Node
 * process (`bench/memory.ts`): in this one, what the throughput rounds left behind was still being
 * freed while a measurement was taken, and figures swung by kilobytes, even below zero.
 */
function bytesPer(state: 'queued' | 'running', count: number): number {
  const script = fileURLToPath(new URL('./memory.js', import.meta.url));
  const out = execFileSync(process.execPath, ['--expose-gc', script, state, String(count)], {
    encoding: 'utf8',
  });
  return Number(out.trim());
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
  const ratio = (of: number | undefined, to: number | undefined) =>
    Number(((of ?? Number.NaN) / (to ?? Number.NaN)).toFixed(3));
  const byInFlight: Record<number, Record<string, number>> = {};
  for (const inFlight of DEPTHS) {
    const rate = await throughput(inFlight);
    byInFlight[inFlight] = {
      sessionsPerSec: Math.round(rate.troupe ?? Number.NaN),
      baselineSessionsPerSec: Math.round(rate.baseline ?? Number.NaN),
      ratio: ratio(rate.troupe, rate.baseline),
      abortBaselineSessionsPerSec: Math.round(rate.abortBaseline ?? Number.NaN),
      abortRatio: ratio(rate.troupe, rate.abortBaseline),
      limitsSessionsPerSec: Math.round(rate.troupeLimits ?? Number.NaN),
      ratioLimitsOnVsOff: ratio(rate.troupeLimits, rate.troupe),
      oneCallerSessionsPerSec: Math.round(rate.troupeOneCaller ?? Number.NaN),
      ratioOneCallerVsNone: ratio(rate.troupeOneCaller, rate.troupe),
      fifoSessionsPerSec: Math.round(rate.fifoTroupe ?? Number.NaN),
      fifoBaselineSessionsPerSec: Math.round(rate.fifoBaseline ?? Number.NaN),
      fifoRatio: ratio(rate.fifoTroupe, rate.fifoBaseline),
      xstateEngineRatio: ratio(rate.xstateEngine, rate.baseline),
      naiveActorRatio: ratio(rate.naiveActor, rate.baseline),
      naiveActorFifoRatio: ratio(rate.naiveActor, rate.fifoBaseline),
    };
  }
  const bytesPerQueuedSession = bytesPer('queued', IN_FLIGHT);
  const bytesPerRunningSession = bytesPer('running', IN_FLIGHT);
  const latency = await addedLatency();
  const inspection = await subscriberCost();
  const figures = {
    sessions: SESSIONS,
    concurrency: CONCURRENCY,
    byInFlight,
    bytesPerQueuedSession,
    bytesPerRunningSession,
    addedLatencyP50Ms: Number(latency.p50.toFixed(3)),
    addedLatencyP99Ms: Number(latency.p99.toFixed(3)),
    noListenerSessionsPerSec: Math.round(inspection.withoutPerSec),
    listenerSessionsPerSec: Math.round(inspection.withPerSec),
    listenerRatio: Number((inspection.withPerSec / inspection.withoutPerSec).toFixed(3)),
    loadAverage: (await import('node:os')).loadavg().map((l) => Number(l.toFixed(2))),
    node: process.version,
  };
  if (argv.includes('--json')) {
    process.stdout.write(`${JSON.stringify(figures)}\n`);
    return;
  }
  for (const [k, v] of Object.entries(figures)) {
    if (k !== 'byInFlight') process.stdout.write(`${k.padEnd(28)} ${v}\n`);
  }
  for (const [inFlight, rows] of Object.entries(byInFlight)) {
    process.stdout.write(`-- ${inFlight} in flight\n`);
    for (const [k, v] of Object.entries(rows)) process.stdout.write(`${k.padEnd(28)} ${v}\n`);
  }
}
