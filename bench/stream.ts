/**
 * `npm run bench -- stream [--streams 250] [--seconds 10] [--rate 20] [--rounds 3] [--json]`:
 * N concurrent streams through the runtime (OpenAI-compatible provider) against the `openai` SDK
 * streaming directly, from the same local server (in a child process, so its CPU is not counted).
 * Per side: process CPU %, event-loop lag p50/p99, peak RSS; every stream's joined text is
 * checked against the expected numbered pieces (no chunk lost or reordered). Rounds alternate
 * which side goes first; figures are medians.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import OpenAI from 'openai';
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
}

async function measure(streams: number, body: () => Promise<string>, expected: string): Promise<Sample> {
  (globalThis as { gc?: () => void }).gc?.();
  const lag = monitorEventLoopDelay({ resolution: 10 });
  let peak = process.memoryUsage().rss;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 100);
  lag.enable();
  const cpu = process.cpuUsage();
  const started = performance.now();
  const texts = await Promise.all(Array.from({ length: streams }, body));
  const wallMs = performance.now() - started;
  const used = process.cpuUsage(cpu);
  lag.disable();
  clearInterval(sampler);
  return {
    cpuSec: (used.user + used.system) / 1e6,
    wallSec: wallMs / 1000,
    cpuPct: ((used.user + used.system) / 1000 / wallMs) * 100,
    lagP50Ms: lag.percentile(50) / 1e6,
    lagP99Ms: lag.percentile(99) / 1e6,
    rssMb: peak / 2 ** 20,
    bad: texts.filter((t) => t !== expected).length,
  };
}

export async function run(argv: readonly string[]): Promise<void> {
  const streams = flag(argv, 'streams', 250);
  const seconds = flag(argv, 'seconds', 10);
  const rate = flag(argv, 'rate', 20);
  const rounds = flag(argv, 'rounds', 3);
  const chunks = Math.round(seconds * rate);
  const model = `fault:ok:chunk-ms=${Math.round(1000 / rate)}`;
  const expected = streamText(chunks);
  const server = await startServerChild(chunks);
  // The provider pools 16 connections per origin by default; the SDK's fetch has no cap. Give the
  // runtime one connection per stream.
  const sockets = flag(argv, 'sockets', streams);
  const provider = createOpenAICompatibleProvider({
    name: 'local',
    baseURL: server.baseURL,
    apiKey: 'bench',
    maxSockets: sockets,
  });
  const runtime = createRuntime({
    providers: [provider],
    defaults: { provider: 'local', model, timeoutMs: (seconds + 60) * 1000 },
    limits: { maxConcurrent: streams, maxQueued: streams },
  });
  const sdk = new OpenAI({ baseURL: server.baseURL, apiKey: 'bench', maxRetries: 0 });

  const viaRuntime = async (): Promise<string> => {
    const handle = runtime.submit({ messages: [{ role: 'user', content: 'go' }], stream: true });
    let text = '';
    for await (const event of handle.events) {
      if (event.type === 'session.delta' && event.delta.type === 'content') text += event.delta.text;
    }
    const result = await handle.result;
    if (!result.ok) throw new Error(`stream failed: ${JSON.stringify(result.error)}`);
    return text;
  };
  const direct = async (): Promise<string> => {
    const stream = await sdk.chat.completions.create({
      model,
      stream: true,
      messages: [{ role: 'user', content: 'go' }],
    });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
    return text;
  };

  const ours: Sample[] = [];
  const base: Sample[] = [];
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? ['direct', 'runtime'] : ['runtime', 'direct'];
    for (const side of order) {
      if (side === 'direct') base.push(await measure(streams, direct, expected));
      else ours.push(await measure(streams, viaRuntime, expected));
    }
  }
  await runtime.shutdown({ deadlineMs: 1000 });
  await server.close();
  const m = (samples: Sample[], key: keyof Sample) => median(samples.map((s) => s[key]));
  const figures = {
    streams,
    seconds,
    chunksPerSec: rate,
    rounds,
    sockets,
    cpuPct: round(m(ours, 'cpuPct'), 1),
    baselineCpuPct: round(m(base, 'cpuPct'), 1),
    cpuRatio: round(m(ours, 'cpuPct') / m(base, 'cpuPct')),
    cpuSec: round(m(ours, 'cpuSec'), 2),
    baselineCpuSec: round(m(base, 'cpuSec'), 2),
    cpuSecRatio: round(m(ours, 'cpuSec') / m(base, 'cpuSec')),
    wallSec: round(m(ours, 'wallSec'), 1),
    baselineWallSec: round(m(base, 'wallSec'), 1),
    lagP50Ms: round(m(ours, 'lagP50Ms'), 2),
    baselineLagP50Ms: round(m(base, 'lagP50Ms'), 2),
    lagP99Ms: round(m(ours, 'lagP99Ms'), 2),
    baselineLagP99Ms: round(m(base, 'lagP99Ms'), 2),
    lagP99Ratio: round(m(ours, 'lagP99Ms') / m(base, 'lagP99Ms')),
    rssMb: round(m(ours, 'rssMb'), 0),
    baselineRssMb: round(m(base, 'rssMb'), 0),
    rssRatio: round(m(ours, 'rssMb') / m(base, 'rssMb')),
    streamsLostOrReordered: ours.reduce((n, s) => n + s.bad, 0),
    baselineStreamsLostOrReordered: base.reduce((n, s) => n + s.bad, 0),
    node: process.version,
  };
  print(argv, figures);
}
