/**
 * Random kills on Redis (fast-check): a cluster of the caller's instance (in this process, running
 * sessions too) and one or two worker processes (`fixtures/instance.mjs`), each behind its own Redis
 * proxy (`redis-proxy.ts`), runs three to six sessions of random provider (two, each with a random
 * `perProvider` of 1 or 2), priority, timeout and length (the local OpenAI-compatible server's
 * `fault:ok:latency=…`, 100 to 800 ms). A worker is killed (SIGKILL, no cleanup) as one of its calls
 * is under way, and in some runs one instance, or all, is cut off from Redis for 50 to 250 ms (the
 * caller's instance once Redis holds the sessions submitted there: see `fixtures/kill-run.ts`).
 * Checked per run (`fixtures/kill-checks.ts`): each caller gets exactly one end (its handle's
 * events, a listener); `session(id)` on every live instance says that end; the killed instance's
 * sessions are taken over and answered (one attempt more than their run record in Redis after the
 * kill); no call begins after its session ended or stays open past it (beyond 100 ms and the run's
 * longest event-loop delay) and no session is called twice at once; per provider the calls open never
 * exceed its `perProvider`; nothing is left live on any instance or in Redis, and every instance
 * closes cleanly. Needs the build (the workers are processes).
 *
 * Runs: 3 (about 6 s each); `TROUPE_REDIS_PROPERTY_RUNS` sets it, as for `properties.test.ts`. A
 * failure prints its seed and path: `TROUPE_REDIS_PROPERTY_SEED` and `TROUPE_REDIS_PROPERTY_PATH`
 * replay that run first (on the real clock, so not always the same way).
 */
import fc from 'fast-check';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { runsFrom } from '../../src/testing/runs.js';
import { LONG_TIMEOUT_MS, violations } from './fixtures/kill-checks.js';
import { type Plan, type PlannedSession, PROVIDERS, runPlan } from './fixtures/kill-run.js';
import { useRig } from './fixtures/processes.js';

const numRuns = runsFrom(undefined, 'TROUPE_REDIS_PROPERTY_RUNS', 3);
const seedText = process.env.TROUPE_REDIS_PROPERTY_SEED?.trim();
const replay =
  seedText === undefined || seedText === ''
    ? {}
    : {
        seed: Number(seedText),
        ...(process.env.TROUPE_REDIS_PROPERTY_PATH ? { path: process.env.TROUPE_REDIS_PROPERTY_PATH } : {}),
      };

const rig = useRig();
let prefixSeq = 0;

const sessionArb: fc.Arbitrary<PlannedSession> = fc.record({
  provider: fc.constantFrom(...PROVIDERS),
  priority: fc.integer({ min: 0, max: 9 }),
  latencyMs: fc.integer({ min: 100, max: 800 }),
  // Mostly long enough to outlive a takeover; some end on their run deadline, mid-call or not.
  timeoutMs: fc.oneof(
    { arbitrary: fc.constant(LONG_TIMEOUT_MS), weight: 4 },
    { arbitrary: fc.integer({ min: 150, max: 900 }), weight: 1 },
  ),
  atMs: fc.integer({ min: 0, max: 600 }),
});

const planArb: fc.Arbitrary<Plan> = fc.record(
  {
    workers: fc.constantFrom(1 as const, 2 as const),
    limits: fc.record({ p: fc.integer({ min: 1, max: 2 }), q: fc.integer({ min: 1, max: 2 }) }),
    sessions: fc.array(sessionArb, { minLength: 3, maxLength: 6 }),
    kill: fc.record({ afterCall: fc.integer({ min: 0, max: 1 }), delayMs: fc.integer({ min: 0, max: 300 }) }),
    cut: fc.record({
      target: fc.oneof(fc.constant('all' as const), fc.integer({ min: 0, max: 2 })),
      atMs: fc.integer({ min: 0, max: 1_500 }),
      forMs: fc.integer({ min: 50, max: 250 }),
    }),
  },
  { requiredKeys: ['workers', 'limits', 'sessions', 'kill'] },
);

/** What Redis still holds of the run's sessions: live entries and their callers' metadata, queue deadlines, jobs in any queue. */
async function leftInRedis(prefix: string): Promise<string[]> {
  const admin = new Redis(rig.redis.url);
  try {
    const left: string[] = [];
    const count = async (key: string, type: 'hash' | 'list' | 'zset') => {
      const n =
        type === 'hash'
          ? await admin.hlen(key)
          : type === 'list'
            ? await admin.llen(key)
            : await admin.zcard(key);
      if (n > 0) left.push(`${key}: ${n}`);
    };
    await count(`${prefix}:live`, 'hash');
    await count(`${prefix}:callers`, 'hash');
    await count(`${prefix}:qdl`, 'zset');
    for (const provider of PROVIDERS) {
      for (const list of ['wait', 'active', 'paused']) await count(`${prefix}:${provider}:${list}`, 'list');
      for (const set of ['prioritized', 'delayed']) await count(`${prefix}:${provider}:${set}`, 'zset');
    }
    return left;
  } finally {
    admin.disconnect();
  }
}

describe('random kills on Redis (fast-check)', () => {
  it(
    `ends every session once, wherever it ran, over ${numRuns} runs with a worker killed`,
    async () => {
      await fc.assert(
        fc.asyncProperty(planArb, async (plan) => {
          // A cut of a worker that the plan does not start is a cut of the caller's instance.
          const cut =
            plan.cut === undefined || plan.cut.target === 'all' || plan.cut.target <= plan.workers
              ? plan.cut
              : { ...plan.cut, target: 0 };
          const fitted: Plan = { ...plan, ...(cut === undefined ? {} : { cut }) };
          const prefix = `kill${++prefixSeq}`;
          const run = await runPlan(rig, fitted, prefix);
          const found = [
            ...violations(fitted, run),
            ...(await leftInRedis(prefix)).map((l) => `Redis: ${l}`),
          ];
          expect(found.join('\n'), `victim ${run.victim}; ${JSON.stringify(fitted)}`).toBe('');
        }),
        // Each run starts processes on the real clock: no shrinking, the failing plan and seed as found.
        { numRuns, endOnFailure: true, ...replay },
      );
    },
    numRuns * 40_000 + 30_000,
  );
});
