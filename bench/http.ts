/**
 * `npm run bench -- http [--calls 2000] [--rounds 3] [--json]`: non-streaming chat calls over
 * real HTTP through the runtime (OpenAI-compatible provider) against the `openai` SDK calling
 * directly, from the same local server (in a child process, so its CPU is not counted), at 1, 16
 * and 256 in flight. Per level: calls/s and client CPU per call, medians of interleaved rounds,
 * and each round's own ratios (`roundThroughputRatios`, `roundCpuRatios`) to show the spread.
 * `BENCH_HTTP_BEFORE=<checkout>` adds a third side in the same process and rounds: the runtime
 * and provider of that checkout's build (`<checkout>/dist/src/...`), for an A/B of two builds
 * (`beforeCpuUsPerCall`, `vsBeforeCpuRatio`: this build's CPU per call over its).
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import OpenAI from 'openai';
import { createOpenAICompatibleProvider } from '../src/providers/openai-compatible.js';
import { createRuntime } from '../src/runtime/runtime.js';
import { flag, median, print, round, startServerChild } from './support.js';

const LEVELS = [1, 16, 256] as const;
const BEFORE = process.env.BENCH_HTTP_BEFORE;
const ANSWER = 'A short answer of about eight words.';

interface Sample {
  perSec: number;
  cpuUsPerCall: number;
}

async function drive(calls: number, inFlight: number, call: () => Promise<string>): Promise<Sample> {
  let next = 0;
  const worker = async () => {
    while (next < calls) {
      next++;
      const text = await call();
      if (text !== ANSWER) throw new Error(`Expected "${ANSWER}", got "${text}"`);
    }
  };
  const cpu = process.cpuUsage();
  const started = performance.now();
  await Promise.all(Array.from({ length: inFlight }, worker));
  const wallMs = performance.now() - started;
  const used = process.cpuUsage(cpu);
  return { perSec: calls / (wallMs / 1000), cpuUsPerCall: (used.user + used.system) / calls };
}

export async function run(argv: readonly string[]): Promise<void> {
  const calls = flag(argv, 'calls', 2000);
  const rounds = flag(argv, 'rounds', 3);
  const server = await startServerChild(8);
  // The provider pools 16 connections per origin by default; the SDK's fetch has no cap. Give the
  // runtime as many as the highest level; `--sockets 16` measures the default.
  const sockets = flag(argv, 'sockets', 256);
  const provider = createOpenAICompatibleProvider({
    name: 'local',
    baseURL: server.baseURL,
    apiKey: 'bench',
    maxSockets: sockets,
  });
  const runtime = createRuntime({
    providers: [provider],
    defaults: { provider: 'local', model: 'bench-model' },
    limits: { maxConcurrent: 256 },
  });
  const sdk = new OpenAI({ baseURL: server.baseURL, apiKey: 'bench', maxRetries: 0 });
  const through = (rt: Pick<typeof runtime, 'submit'>) => async (): Promise<string> => {
    const result = await rt.submit({ messages: [{ role: 'user', content: 'go' }] }).result;
    if (!result.ok) throw new Error(`call failed: ${JSON.stringify(result.error)}`);
    return result.content;
  };
  const viaRuntime = through(runtime);
  const beforeRuntime = BEFORE === undefined ? undefined : await loadBefore(BEFORE, server.baseURL, sockets);
  const viaBefore = beforeRuntime === undefined ? undefined : through(beforeRuntime);
  const direct = async (): Promise<string> => {
    const completion = await sdk.chat.completions.create({
      model: 'bench-model',
      messages: [{ role: 'user', content: 'go' }],
    });
    return completion.choices[0]?.message.content ?? '';
  };
  // Warm both paths at every level (JIT, and each level's sockets): with 200 calls at 16 only, a
  // process's CPU per call kept falling over the first rounds (about 1.8, 1.2, 0.7 ms at 16 in
  // flight under load), which weighed on whichever side a level's first round measured first.
  for (const level of LEVELS) {
    await drive(Math.max(200, level * 2), level, direct);
    await drive(Math.max(200, level * 2), level, viaRuntime);
    if (viaBefore !== undefined) await drive(Math.max(200, level * 2), level, viaBefore);
  }

  const figures: Record<string, unknown> = { calls, rounds, sockets };
  const ours = new Map<number, Sample[]>(LEVELS.map((l) => [l, []]));
  const base = new Map<number, Sample[]>(LEVELS.map((l) => [l, []]));
  const before = new Map<number, Sample[]>(LEVELS.map((l) => [l, []]));
  for (let r = 0; r < rounds; r++) {
    for (const level of LEVELS) {
      const n = level === 1 ? Math.ceil(calls / 4) : calls;
      const sides: [Map<number, Sample[]>, () => Promise<string>][] = [
        [base, direct],
        [ours, viaRuntime],
      ];
      if (viaBefore !== undefined) sides.push([before, viaBefore]);
      // Each round starts with another side: no side always runs first, or always after the same one.
      for (let i = 0; i < sides.length; i++) {
        const [samples, call] = sides[(i + r) % sides.length] as (typeof sides)[number];
        samples.get(level)?.push(await drive(n, level, call));
      }
    }
  }
  for (const level of LEVELS) {
    const o = ours.get(level) ?? [];
    const b = base.get(level) ?? [];
    const perSec = median(o.map((s) => s.perSec));
    const basePerSec = median(b.map((s) => s.perSec));
    const cpu = median(o.map((s) => s.cpuUsPerCall));
    const baseCpu = median(b.map((s) => s.cpuUsPerCall));
    figures[`inFlight${level}`] = {
      callsPerSec: Math.round(perSec),
      baselineCallsPerSec: Math.round(basePerSec),
      throughputRatio: round(perSec / basePerSec),
      cpuUsPerCall: Math.round(cpu),
      baselineCpuUsPerCall: Math.round(baseCpu),
      cpuRatio: round(cpu / baseCpu),
      // Each round's own ratios (troupe over the SDK, same round): how far one run swings.
      roundThroughputRatios: o.map((s, i) => round(s.perSec / (b[i]?.perSec ?? Number.NaN))),
      roundCpuRatios: o.map((s, i) => round(s.cpuUsPerCall / (b[i]?.cpuUsPerCall ?? Number.NaN))),
      ...beforeFigures(o, before.get(level) ?? []),
    };
  }
  figures.node = process.version;
  await runtime.shutdown({ deadlineMs: 1000 });
  await beforeRuntime?.shutdown({ deadlineMs: 1000 });
  await server.close();
  print(argv, figures);
}

/** The runtime of another checkout's build, over its own provider (and so its own transport). */
async function loadBefore(checkout: string, baseURL: string, sockets: number) {
  const dist = pathToFileURL(resolve(checkout, 'dist/src')).href;
  const providers = (await import(`${dist}/providers/openai-compatible.js`)) as {
    createOpenAICompatibleProvider: typeof createOpenAICompatibleProvider;
  };
  const runtimes = (await import(`${dist}/runtime/runtime.js`)) as { createRuntime: typeof createRuntime };
  const provider = providers.createOpenAICompatibleProvider({
    name: 'local',
    baseURL,
    apiKey: 'bench',
    maxSockets: sockets,
  });
  return runtimes.createRuntime({
    providers: [provider],
    defaults: { provider: 'local', model: 'bench-model' },
    limits: { maxConcurrent: 256 },
  });
}

function beforeFigures(ours: readonly Sample[], before: readonly Sample[]): Record<string, unknown> {
  if (before.length === 0) return {};
  const cpu = median(before.map((s) => s.cpuUsPerCall));
  return {
    beforeCallsPerSec: Math.round(median(before.map((s) => s.perSec))),
    beforeCpuUsPerCall: Math.round(cpu),
    vsBeforeCpuRatio: round(median(ours.map((s) => s.cpuUsPerCall)) / cpu),
    roundVsBeforeCpuRatios: ours.map((s, i) =>
      round(s.cpuUsPerCall / (before[i]?.cpuUsPerCall ?? Number.NaN)),
    ),
  };
}
