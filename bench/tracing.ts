/**
 * What OpenTelemetry tracing costs a session, as ratios in one run: the same closed loop of sessions
 * on an instant provider with tracing off (the default: no tracer, so no tracing code runs), with
 * a tracer from `@opentelemetry/api` and no SDK registered (the API's no-op), and with the SDK
 * recording every span into its in-memory exporter. Rounds alternate the three; figures are medians.
 */
import { trace } from '@opentelemetry/api';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import type { ChatProvider, ChatResponse } from '../src/providers/port.js';
import { createRuntime } from '../src/runtime/runtime.js';
import type { SessionTracer } from '../src/runtime/tracing.js';
import { flag, median, print, round } from './support.js';

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
const REQUEST = { messages: [{ role: 'user' as const, content: 'hi' }] };

/** Sessions per second through a runtime with `tracer`, `inFlight` at a time. */
async function closedLoop(
  total: number,
  inFlight: number,
  tracer: SessionTracer | undefined,
): Promise<number> {
  const runtime = createRuntime({
    providers: [instant],
    defaults: { model: 'm' },
    limits: { maxConcurrent: 64, maxQueued: inFlight * 2 },
    ...(tracer === undefined ? {} : { tracer }),
  });
  const started = performance.now();
  await new Promise<void>((resolve) => {
    let submitted = 0;
    let finished = 0;
    const next = (): void => {
      if (submitted >= total) return;
      submitted++;
      runtime.submit(REQUEST).result.then(() => {
        finished++;
        if (finished === total) resolve();
        else next();
      });
    };
    for (let i = 0; i < inFlight; i++) next();
  });
  const perSec = total / ((performance.now() - started) / 1000);
  await runtime.shutdown();
  return perSec;
}

export async function run(argv: readonly string[]): Promise<void> {
  const sessions = flag(argv, 'sessions', 50_000);
  const rounds = flag(argv, 'rounds', 5);
  const exporter = new InMemorySpanExporter();
  const sdk = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const contenders: Record<string, SessionTracer | undefined> = {
    off: undefined,
    apiNoSdk: trace.getTracer('troupe'),
    sdkInMemory: sdk.getTracer('troupe'),
  };
  const perSec: Record<string, number[]> = { off: [], apiNoSdk: [], sdkInMemory: [] };
  await closedLoop(5_000, 128, contenders.sdkInMemory); // warm-up
  let spans = 0;
  for (let r = 0; r < rounds; r++) {
    for (const [name, tracer] of Object.entries(contenders)) {
      exporter.reset();
      perSec[name]?.push(await closedLoop(sessions, 128, tracer));
      if (name === 'sdkInMemory') spans = exporter.getFinishedSpans().length;
    }
  }
  const off = median(perSec.off ?? []);
  print(argv, {
    sessions,
    rounds,
    offSessionsPerSec: Math.round(off),
    apiNoSdkSessionsPerSec: Math.round(median(perSec.apiNoSdk ?? [])),
    sdkInMemorySessionsPerSec: Math.round(median(perSec.sdkInMemory ?? [])),
    apiNoSdkRatio: round(median(perSec.apiNoSdk ?? []) / off),
    sdkInMemoryRatio: round(median(perSec.sdkInMemory ?? []) / off),
    spansPerRound: spans,
    node: process.version,
  });
}
