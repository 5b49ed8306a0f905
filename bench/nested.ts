/**
 * `npm run bench -- nested --json [--tools 2000] [--in-flight 32] [--slots 8] [--latency-ms 20] [--rounds 3]`:
 * tools that ask a model, as an MCP server of yours runs them (`withSession` runs a tool as a task,
 * whose function submits a chat and awaits its answer): a closed loop of `--in-flight` tool calls on
 * a runtime of `--slots` (`maxConcurrent`), against a provider that answers after `--latency-ms`.
 * Each side in each round, rounds interleaved, medians:
 *
 * - `parent`: the chat names its tool's session as its `parent` (docs/runtime.md, "A session within
 *   a session"): with every slot a tool's, it runs on its tool's slot;
 * - `lane`: no parent, the tools' lane limited to half the slots (`perProvider: { tools }`), the way
 *   out before `parent`, which leaves the other half to the tools' model calls;
 * - `none`: no parent, no lane limit: with every slot a tool's, each tool's model call waits for a
 *   slot until its queue deadline (`--queue-ms`, 250 by default; this side runs at most 200 tools);
 * - the baseline, `pool`: no runtime, a p-queue of `--slots` running each tool's function, which
 *   calls the provider directly: `--slots` tools at once, each with its model call.
 *
 * Prints each side's tools a second and how many failed, and its throughput over the pool's.
 */
import PQueue from 'p-queue';
import type { ChatProvider, ChatResponse } from '../src/providers/port.js';
import { createRuntime } from '../src/runtime/runtime.js';
import type { Runtime, SessionHandle, TaskResult } from '../src/runtime/types.js';
import { flag, median, print, round } from './support.js';

const REQUEST = { messages: [{ role: 'user' as const, content: 'hi' }] };
const ANSWER: ChatResponse = {
  content: 'ok',
  usage: { promptTokens: 1, completionTokens: 1, totalTokens: 2 },
};

/** A provider that answers every call after `latencyMs`, or rejects when its signal aborts. */
function slowProvider(latencyMs: number): ChatProvider {
  return {
    name: 'model',
    complete: (_request, { signal }) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => resolve(ANSWER), latencyMs);
        signal?.addEventListener(
          'abort',
          () => {
            clearTimeout(timer);
            reject(signal.reason);
          },
          { once: true },
        );
      }),
    // biome-ignore lint/correctness/useYield: never streamed here.
    async *stream() {
      throw new Error('not used');
    },
  };
}

/** Keeps `inFlight` tool calls going until `total` have finished; tools a second and how many failed. */
async function closedLoop(
  total: number,
  inFlight: number,
  tool: () => Promise<boolean>,
): Promise<{ perSec: number; failed: number }> {
  const started = performance.now();
  let submitted = 0;
  let failed = 0;
  await new Promise<void>((resolve) => {
    let finished = 0;
    const next = (): void => {
      if (submitted >= total) return;
      submitted++;
      tool().then((ok) => {
        if (!ok) failed++;
        finished++;
        if (finished === total) resolve();
        else next();
      });
    };
    for (let i = 0; i < Math.min(inFlight, total); i++) next();
  });
  return { perSec: total / ((performance.now() - started) / 1000), failed };
}

interface Side {
  readonly name: string;
  readonly tools: number;
  readonly tool: () => Promise<boolean>;
  readonly close: () => Promise<void>;
}

/** A tool on `runtime`: a task that asks the model, within itself when `withParent`. */
function runtimeTool(runtime: Runtime, withParent: boolean): () => Promise<boolean> {
  return async () => {
    const handle: SessionHandle<TaskResult<boolean>> = runtime.run(
      async ({ sessionId }) => {
        const chat = runtime.submit(REQUEST, withParent ? { parent: sessionId } : {});
        return (await chat.result).ok;
      },
      { lane: 'tools' },
    );
    const result = await handle.result;
    return result.ok && result.value;
  };
}

function sides(argv: readonly string[]): Side[] {
  const tools = flag(argv, 'tools', 2000);
  const slots = flag(argv, 'slots', 8);
  const latencyMs = flag(argv, 'latency-ms', 20);
  const queueMs = flag(argv, 'queue-ms', 250);
  const provider = slowProvider(latencyMs);
  const make = (perProvider?: Record<string, number>) =>
    createRuntime({
      providers: [provider],
      defaults: { model: 'm', queueTimeoutMs: queueMs },
      limits: { maxConcurrent: slots, ...(perProvider === undefined ? {} : { perProvider }) },
    });
  const runtimes = {
    parent: make(),
    lane: make({ tools: Math.max(1, Math.floor(slots / 2)) }),
    none: make(),
  };
  const pool = new PQueue({ concurrency: slots });
  const close = (runtime: Runtime) => async () => {
    await runtime.shutdown({ deadlineMs: 1000 });
  };
  return [
    {
      name: 'pool',
      tools,
      tool: () =>
        pool.add(async () => {
          await provider.complete({ model: 'm', ...REQUEST }, { signal: new AbortController().signal });
          return true;
        }) as Promise<boolean>,
      close: async () => {},
    },
    { name: 'parent', tools, tool: runtimeTool(runtimes.parent, true), close: close(runtimes.parent) },
    { name: 'lane', tools, tool: runtimeTool(runtimes.lane, false), close: close(runtimes.lane) },
    {
      name: 'none',
      tools: Math.min(tools, 200),
      tool: runtimeTool(runtimes.none, false),
      close: close(runtimes.none),
    },
  ];
}

export async function run(argv: readonly string[]): Promise<void> {
  const inFlight = flag(argv, 'in-flight', 32);
  const rounds = flag(argv, 'rounds', 3);
  const all = sides(argv);
  const seen = new Map<string, { perSec: number[]; failed: number[] }>(
    all.map((side) => [side.name, { perSec: [], failed: [] }]),
  );
  // Warm every side once (a tenth of its tools), then the rounds, each starting with another side.
  for (const side of all) await closedLoop(Math.ceil(side.tools / 10), inFlight, side.tool);
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < all.length; i++) {
      const side = all[(i + r) % all.length] as Side;
      const { perSec, failed } = await closedLoop(side.tools, inFlight, side.tool);
      const figures = seen.get(side.name) as { perSec: number[]; failed: number[] };
      figures.perSec.push(perSec);
      figures.failed.push(failed);
    }
  }
  for (const side of all) await side.close();
  const baseline = median(seen.get('pool')?.perSec ?? []);
  const figures: Record<string, unknown> = {
    inFlight,
    slots: flag(argv, 'slots', 8),
    latencyMs: flag(argv, 'latency-ms', 20),
    rounds,
  };
  for (const side of all) {
    const { perSec, failed } = seen.get(side.name) as { perSec: number[]; failed: number[] };
    figures[side.name] = {
      tools: side.tools,
      toolsPerSec: round(median(perSec), 1),
      failed: median(failed),
      ...(side.name === 'pool' ? {} : { ratio: round(median(perSec) / baseline) }),
    };
  }
  print(argv, figures);
}
