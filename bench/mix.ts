/**
 * `npm run bench -- mix [--sessions 200] [--rounds 3] [--json]`: the demo's mix
 * (`troupe demo`: plain, slow and streamed calls, and on purpose 429s on every attempt, malformed
 * answers, hangs cancelled and hangs timed out) run in process, every session submitted at once,
 * `maxConcurrent` 16, on the in-memory runtime (the baseline) and on one Redis instance, rounds
 * interleaved: wall time and queue wait p90, and their ratio. Every session must end
 * exactly once, or the bench fails; `unplanned` counts those that ended otherwise than planned
 * (`--by-kind` lists final states per kind).
 */

import { demoRuntimeOptions } from '../src/cli/demo.js';
import { planLoad } from '../src/observe/load-plan.js';
import { runLoad } from '../src/observe/run-load.js';
import { createRuntime } from '../src/runtime/runtime.js';
import type { Runtime } from '../src/runtime/types.js';
import { redisBackend } from '../src/scale/redis-backend.js';
import { flag, median, print, round, startRedis } from './support.js';

interface Round {
  readonly wallMs: number;
  readonly queueWaitP90Ms: number;
  /** Sessions that ended in another state than their kind planned (a breaker can open under the mix). */
  readonly unplanned: number;
  readonly byKind: unknown;
}

async function once(make: () => Promise<Runtime>, sessions: number): Promise<Round> {
  const runtime = await make();
  const run = runLoad(runtime, planLoad({ sessions, seed: 1 }), {});
  await run.finished;
  const report = run.recorder.report(true);
  await runtime.shutdown({ deadlineMs: 500 });
  if (report.problems.length > 0)
    throw new Error(`Expected every session to end exactly once, got: ${report.problems.join('; ')}`);
  return {
    wallMs: report.wallMs,
    queueWaitP90Ms: report.queueWaitMs.p90 ?? Number.NaN,
    unplanned: report.unplanned,
    byKind: report.byKind,
  };
}

export async function run(argv: readonly string[]): Promise<void> {
  const sessions = flag(argv, 'sessions', 200);
  const rounds = flag(argv, 'rounds', 3);
  const redis = await startRedis();
  let seq = 0;
  // As `troupe demo` runs it, at its default concurrency.
  const options = () => demoRuntimeOptions({ sessions, concurrency: 16, seed: 1 });
  const sides = {
    memory: async () => createRuntime(options()),
    redis: async () => {
      const runtime = createRuntime({
        ...options(),
        backend: await redisBackend({ url: redis.url, prefix: `mix${++seq}` }),
      });
      await runtime.ready;
      return runtime;
    },
  };
  const measured: Record<keyof typeof sides, Round[]> = { memory: [], redis: [] };
  try {
    for (let r = 0; r < rounds; r++) {
      for (const side of r % 2 === 0 ? (['memory', 'redis'] as const) : (['redis', 'memory'] as const)) {
        measured[side].push(await once(sides[side], sessions));
      }
    }
  } finally {
    redis.stop();
  }
  const wall = (side: keyof typeof sides) => median(measured[side].map((r) => r.wallMs));
  const wait = (side: keyof typeof sides) => median(measured[side].map((r) => r.queueWaitP90Ms));
  print(argv, {
    sessions,
    rounds,
    memoryWallMs: Math.round(wall('memory')),
    redisWallMs: Math.round(wall('redis')),
    wallRatio: round(wall('redis') / wall('memory')),
    memoryQueueWaitP90Ms: Math.round(wait('memory')),
    redisQueueWaitP90Ms: Math.round(wait('redis')),
    unplanned: {
      memory: measured.memory.map((r) => r.unplanned),
      redis: measured.redis.map((r) => r.unplanned),
    },
    ...(argv.includes('--by-kind')
      ? {
          byKind: {
            memory: measured.memory.map((r) => r.byKind),
            redis: measured.redis.map((r) => r.byKind),
          },
        }
      : {}),
    roundsWallMs: {
      memory: measured.memory.map((r) => Math.round(r.wallMs)),
      redis: measured.redis.map((r) => Math.round(r.wallMs)),
    },
    node: process.version,
  });
  setTimeout(() => process.exit(0), 200).unref();
}
