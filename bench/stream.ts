/**
 * `npm run bench -- stream [--streams 250] [--seconds 10] [--rate 20] [--rounds 3] [--json]`:
 * N concurrent streams through the runtime (OpenAI-compatible provider) against the `openai` SDK
 * streaming directly, from the same local server (in a child process, so its CPU is not counted).
 *
 * Each side of each round runs in a fresh process of its own (`--side`), so one side's heap, JIT
 * and peak RSS never count in the other's. Three sides:
 * - `runtime`: `createRuntime` with the OpenAI-compatible provider, reading `handle.events`;
 * - `direct`: the `openai` SDK as a user runs it, on Node's built-in `fetch` (the issue's baseline);
 * - `direct-undici`: the same SDK on undici 7's `fetch` with a pooled `Agent` of the same size,
 *   the fetch stack the provider runs on (`src/providers/transport.ts`): the like-for-like baseline.
 * Per side: process CPU (seconds and % of wall), event-loop lag p50/p99, peak RSS; every stream's
 * joined text is checked against the expected numbered pieces (no chunk lost or reordered).
 * Rounds rotate which side goes first; figures are medians. `BENCH_CHILD_NODE_ARGS`
 * (space-separated) goes to each side's process, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`;
 * `--only <side>` runs one side. `BENCH_STREAM_BEFORE=<checkout>` adds a fourth side, `before`: the
 * runtime side run by that checkout's build (`<checkout>/dist/bench/main.js`, which must have this
 * file), for an A/B of two builds in the same rounds.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { constants, monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import OpenAI from 'openai';
import { Agent, fetch as undiciFetch } from 'undici';
import { createOpenAICompatibleProvider } from '../src/providers/openai-compatible.js';
import { createRuntime } from '../src/runtime/runtime.js';
import { flag, median, print, round, startServerChild, streamText } from './support.js';

interface Sample {
  cpuSec: number;
  wallSec: number;
  cpuPct: number;
  lagP50Ms: number;
  lagP99Ms: number;
  rssMb: number;
  bad: number;
  /** Garbage collection pauses on the main thread, ms: all, scavenges, mark-compact (and its incremental steps). */
  gcMs: number;
  gcMinorMs: number;
  gcMajorMs: number;
  gcMaxMs: number;
  /** Blocks of the event loop of 50 ms and more (a 5 ms ticker late by that much), and their total ms. */
  blocks50: number;
  blocks50Ms: number;
}

const TRACE = process.env.BENCH_STREAM_TRACE;

const SIDES = ['direct', 'direct-undici', 'runtime'] as const;
type Side = (typeof SIDES)[number] | 'before';
const BEFORE = process.env.BENCH_STREAM_BEFORE;
const CHILD_ARGS = (process.env.BENCH_CHILD_NODE_ARGS ?? '').split(' ').filter((a) => a !== '');

async function measure(streams: number, body: () => Promise<string>, expected: string): Promise<Sample> {
  (globalThis as { gc?: () => void }).gc?.();
  const lag = monitorEventLoopDelay({ resolution: 10 });
  let peak = process.memoryUsage().rss;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 100);
  // Every GC pause, and every block of the loop (a 5 ms ticker seeing a gap of 50 ms or more),
  // with its time: what the lag tail is made of, in figures a loaded machine moves less than lag.
  const gcs: [number, number, number][] = [];
  const gc = new PerformanceObserver((list) => {
    for (const e of list.getEntries() as (PerformanceEntry & { detail: { kind: number } })[])
      gcs.push([e.startTime, e.detail.kind, e.duration]);
  });
  gc.observe({ entryTypes: ['gc'] });
  const blocks: [number, number][] = [];
  let tick = performance.now();
  const ticker = setInterval(() => {
    const now = performance.now();
    if (now - tick >= 55) blocks.push([tick, now - tick - 5]);
    tick = now;
  }, 5);
  lag.enable();
  const cpu = process.cpuUsage();
  const started = performance.now();
  const texts = await Promise.all(Array.from({ length: streams }, body));
  const wallMs = performance.now() - started;
  const used = process.cpuUsage(cpu);
  lag.disable();
  clearInterval(sampler);
  clearInterval(ticker);
  await new Promise((resolve) => setImmediate(resolve));
  gc.disconnect();
  const inRun = gcs.filter(([t]) => t >= started && t <= started + wallMs);
  const minor = constants.NODE_PERFORMANCE_GC_MINOR;
  const sum = (xs: readonly [number, number, number][]) => xs.reduce((n, x) => n + x[2], 0);
  if (TRACE !== undefined) {
    const rel = (t: number) => Math.round(t - started);
    writeFileSync(
      `${TRACE}-${process.pid}.json`,
      JSON.stringify({
        wallMs,
        gc: inRun.map(([t, k, d]) => [rel(t), k, Math.round(d * 10) / 10]),
        blocks: blocks.map(([t, d]) => [rel(t), Math.round(d)]),
      }),
    );
  }
  return {
    gcMs: sum(inRun),
    gcMinorMs: sum(inRun.filter((x) => x[1] === minor)),
    gcMajorMs: sum(inRun.filter((x) => x[1] !== minor)),
    gcMaxMs: inRun.reduce((n, x) => Math.max(n, x[2]), 0),
    blocks50: blocks.length,
    blocks50Ms: blocks.reduce((n, x) => n + x[1], 0),
    cpuSec: (used.user + used.system) / 1e6,
    wallSec: wallMs / 1000,
    cpuPct: ((used.user + used.system) / 1000 / wallMs) * 100,
    lagP50Ms: lag.percentile(50) / 1e6,
    lagP99Ms: lag.percentile(99) / 1e6,
    rssMb: peak / 2 ** 20,
    bad: texts.filter((t) => t !== expected).length,
  };
}

/** One side, in this process: the streams against `baseURL`, the sample printed as JSON. */
async function runSide(
  side: (typeof SIDES)[number],
  baseURL: string,
  streams: number,
  seconds: number,
  rate: number,
  sockets: number,
) {
  const chunks = Math.round(seconds * rate);
  const model = `fault:ok:chunk-ms=${Math.round(1000 / rate)}`;
  const expected = streamText(chunks);
  const messages = [{ role: 'user' as const, content: 'go' }];
  const viaSdk = (sdk: OpenAI) => async (): Promise<string> => {
    const stream = await sdk.chat.completions.create({ model, stream: true, messages });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
    return text;
  };
  if (side === 'runtime') {
    const provider = createOpenAICompatibleProvider({
      name: 'local',
      baseURL,
      apiKey: 'bench',
      maxSockets: sockets,
    });
    const runtime = createRuntime({
      providers: [provider],
      // Deadlines far past the stream's length: on a loaded machine a thousand streams can wait
      // many seconds for their first byte (the server child starves too), and a timeout is not
      // what this measures. The direct side has none.
      defaults: {
        provider: 'local',
        model,
        timeoutMs: (seconds + 120) * 1000,
        idleTimeoutMs: (seconds + 120) * 1000,
      },
      limits: { maxConcurrent: streams, maxQueued: streams },
    });
    const viaRuntime = async (): Promise<string> => {
      const handle = runtime.submit({ messages, stream: true });
      let text = '';
      for await (const event of handle.events) {
        if (event.type === 'session.delta' && event.delta.type === 'content') text += event.delta.text;
      }
      const result = await handle.result;
      if (!result.ok) throw new Error(`stream failed: ${JSON.stringify(result.error)}`);
      return text;
    };
    const sample = await measure(streams, viaRuntime, expected);
    await runtime.shutdown({ deadlineMs: 1000 });
    await provider.close();
    return sample;
  }
  if (side === 'direct') {
    return measure(streams, viaSdk(new OpenAI({ baseURL, apiKey: 'bench', maxRetries: 0 })), expected);
  }
  const agent = new Agent({ connections: sockets });
  const sdk = new OpenAI({
    baseURL,
    apiKey: 'bench',
    maxRetries: 0,
    fetch: ((input: string | URL | Request, init?: RequestInit) =>
      undiciFetch(input as never, { ...(init as object), dispatcher: agent })) as never,
  });
  const sample = await measure(streams, viaSdk(sdk), expected);
  await agent.close();
  return sample;
}

/** Runs one side in a fresh process and reads its sample. */
async function sideInChild(side: Side, argv: readonly string[], baseURL: string): Promise<Sample> {
  const main =
    side === 'before' ? `${BEFORE}/dist/bench/main.js` : fileURLToPath(new URL('./main.js', import.meta.url));
  const as = side === 'before' ? 'runtime' : side;
  const args = [...CHILD_ARGS, '--expose-gc', main, 'stream', ...argv, '--side', as, '--base-url', baseURL];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (data: Buffer) => {
    out += data.toString();
  });
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`stream bench: Expected side ${side} to exit 0, got ${code}`);
  return JSON.parse(out.trim().split('\n').at(-1) ?? '') as Sample;
}

function option(argv: readonly string[], name: string): string | undefined {
  const at = argv.indexOf(`--${name}`);
  return at < 0 ? undefined : argv[at + 1];
}

export async function run(argv: readonly string[]): Promise<void> {
  const streams = flag(argv, 'streams', 250);
  const seconds = flag(argv, 'seconds', 10);
  const rate = flag(argv, 'rate', 20);
  const rounds = flag(argv, 'rounds', 3);
  // The provider pools 16 connections per origin by default; the SDK's fetch has no cap. Give the
  // runtime (and the undici baseline) one connection per stream.
  const sockets = flag(argv, 'sockets', streams);
  const side = option(argv, 'side');
  if (side !== undefined) {
    if (!(SIDES as readonly string[]).includes(side))
      throw new Error(`--side: Expected one of ${SIDES.join(', ')}, got ${side}`);
    const sample = await runSide(
      side as (typeof SIDES)[number],
      option(argv, 'base-url') ?? '',
      streams,
      seconds,
      rate,
      sockets,
    );
    process.stdout.write(`${JSON.stringify(sample)}\n`);
    return;
  }
  const only = option(argv, 'only');
  if (only !== undefined && !(SIDES as readonly string[]).includes(only))
    throw new Error(`--only: Expected one of ${SIDES.join(', ')}, got ${only}`);
  const all: readonly Side[] = BEFORE === undefined ? SIDES : [...SIDES, 'before'];
  const sides: readonly Side[] = only === undefined ? all : [only as Side];

  const server = await startServerChild(Math.round(seconds * rate));
  const samples: Record<Side, Sample[]> = { direct: [], 'direct-undici': [], runtime: [], before: [] };
  try {
    for (let r = 0; r < rounds; r++) {
      // Rotate the order: each side goes first, second and third in turn.
      const order = sides.map((_, i) => sides[(i + r) % sides.length] as Side);
      for (const s of order) samples[s].push(await sideInChild(s, argv, server.baseURL));
    }
  } finally {
    await server.close();
  }
  const m = (s: Side, key: keyof Sample) => median(samples[s].map((x) => x[key]));
  const ratio = (key: keyof Sample, base: Side, of: Side = 'runtime') => round(m(of, key) / m(base, key));
  const figures: Record<string, unknown> = { streams, seconds, chunksPerSec: rate, rounds, sockets };
  for (const s of sides) {
    const p = { runtime: '', direct: 'baseline', 'direct-undici': 'undiciBaseline', before: 'before' }[s];
    const name = (key: string) => (p === '' ? key : `${p}${key[0]?.toUpperCase()}${key.slice(1)}`);
    figures[name('cpuSec')] = round(m(s, 'cpuSec'), 2);
    figures[name('cpuPct')] = round(m(s, 'cpuPct'), 1);
    figures[name('wallSec')] = round(m(s, 'wallSec'), 1);
    figures[name('lagP50Ms')] = round(m(s, 'lagP50Ms'), 2);
    figures[name('lagP99Ms')] = round(m(s, 'lagP99Ms'), 2);
    figures[name('rssMb')] = round(m(s, 'rssMb'), 0);
    figures[name('gcMs')] = round(m(s, 'gcMs'), 0);
    figures[name('gcMinorMs')] = round(m(s, 'gcMinorMs'), 0);
    figures[name('gcMajorMs')] = round(m(s, 'gcMajorMs'), 0);
    figures[name('gcMaxMs')] = round(m(s, 'gcMaxMs'), 1);
    figures[name('blocks50')] = m(s, 'blocks50');
    figures[name('blocks50Ms')] = round(m(s, 'blocks50Ms'), 0);
    figures[name('streamsLostOrReordered')] = samples[s].reduce((n, x) => n + x.bad, 0);
  }
  if (only === undefined) {
    // Against the SDK as users run it, then against the SDK on the provider's own fetch stack.
    figures.cpuSecRatio = ratio('cpuSec', 'direct');
    figures.lagP99Ratio = ratio('lagP99Ms', 'direct');
    figures.rssRatio = ratio('rssMb', 'direct');
    figures.cpuSecRatioVsUndici = ratio('cpuSec', 'direct-undici');
    figures.lagP99RatioVsUndici = ratio('lagP99Ms', 'direct-undici');
    figures.rssRatioVsUndici = ratio('rssMb', 'direct-undici');
    figures.cpuSecPerRound = samples.runtime.map((x, i) =>
      round(x.cpuSec / (samples.direct[i]?.cpuSec ?? Number.NaN)),
    );
    if (BEFORE !== undefined) {
      // The A/B: this build's runtime over the other build's, median and per round.
      figures.cpuSecRatioVsBefore = ratio('cpuSec', 'before');
      figures.lagP99RatioVsBefore = ratio('lagP99Ms', 'before');
      figures.cpuSecPerRoundVsBefore = samples.runtime.map((x, i) =>
        round(x.cpuSec / (samples.before[i]?.cpuSec ?? Number.NaN)),
      );
    }
  }
  figures.node = process.version;
  print(argv, figures);
}
