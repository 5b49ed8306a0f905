/**
 * Graceful shutdown (SIGTERM) of one instance in a cluster of processes: it takes no new jobs,
 * leaves its queued work to the others, finishes its running sessions within the drain deadline
 * or hands them back, and exits 0. A front instance (it runs nothing) submits, so every result is
 * seen from an instance that stays up. Needs the build (`npx tsc -p tsconfig.build.json`).
 */
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import {
  contentOf,
  type Instance,
  killAll,
  type Line,
  type StartInstance,
  startInstance,
  useRig,
} from './fixtures/processes.js';

/** What a process may take beyond its drain deadline to close its connections and exit, in ms. */
const EXIT_MARGIN_MS = 5000;

const rig = useRig();
const children = rig.children;
let prefixSeq = 0;

afterEach(() => {
  killAll(children);
  rig.server.reset();
});

function start({ prefix, limit, index, work, drainMs }: Omit<StartInstance, 'redisUrl' | 'providerBaseURL'>) {
  return startInstance(
    { redisUrl: rig.redis.url, providerBaseURL: rig.server.baseURL, prefix, limit, index, work, drainMs },
    children,
  );
}

const fromInstance = (index: number) =>
  rig.server.requests.filter((r) => r.headers['x-instance'] === String(index));

/** Sends SIGTERM; resolves with the exit code, or rejects when the process outlives `boundMs`. */
async function terminate(child: ChildProcess, boundMs: number): Promise<number | null> {
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  child.kill('SIGTERM');
  const timeout = new Promise<never>((_, reject) =>
    setTimeout(() => reject(new Error(`the instance did not exit within ${boundMs} ms of SIGTERM`)), boundMs),
  );
  const [code] = await Promise.race([exited, timeout]);
  return code;
}

/**
 * A front (0) submits `tags`; a worker (1) takes the first `limit` of them while the rest wait
 * behind the global limit; it gets SIGTERM, and a second worker (2) joins the cluster.
 */
async function scenario(tags: readonly string[], model: string, limit: number, drainMs: number) {
  const prefix = `s${++prefixSeq}`;
  const [front, stopping] = await Promise.all([
    start({ prefix, limit, index: 0, work: false, drainMs }),
    start({ prefix, limit, index: 1, work: true, drainMs }),
  ]);
  for (const tag of tags) front.send({ op: 'submit', tag, model });
  await Promise.all(
    tags.slice(0, limit).map((tag) => rig.server.waitForRequest((r) => contentOf(r.body) === tag)),
  );
  const exitCode = terminate(stopping.child, drainMs + EXIT_MARGIN_MS);
  exitCode.catch(() => {});
  await start({ prefix, limit, index: 2, work: true, drainMs });
  return { front, exitCode };
}

async function resultsOn(front: Instance, tags: readonly string[]): Promise<Line[]> {
  const results = await Promise.all(
    tags.map((tag) => front.waitFor((l) => l.event === 'result' && l.tag === tag, 30_000)),
  );
  // Each session ended once: one result line per tag, however many instances ran it.
  for (const tag of tags)
    expect(front.lines.filter((l) => l.event === 'result' && l.tag === tag)).toHaveLength(1);
  return results;
}

describe('graceful shutdown of one instance (SIGTERM)', () => {
  it('finishes its running sessions within the drain deadline and leaves its queued work to the cluster', async () => {
    const drainMs = 3000;
    const tags = ['a0', 'a1', 'a2', 'a3', 'a4'];
    const { front, exitCode } = await scenario(tags, 'fault:ok:latency=700', 2, drainMs);
    expect(await exitCode).toBe(0);
    const results = await resultsOn(front, tags);
    expect(results.map((r) => r.ok)).toEqual(tags.map(() => true));
    expect(results.map((r) => r.attempts)).toEqual(tags.map(() => 1));
    // The stopping instance ran only what it had started; the rest ran on the one that stayed.
    expect(
      fromInstance(1)
        .map((r) => contentOf(r.body))
        .sort(),
    ).toEqual(['a0', 'a1']);
    expect(
      fromInstance(2)
        .map((r) => contentOf(r.body))
        .sort(),
    ).toEqual(['a2', 'a3', 'a4']);
    expect(rig.server.maxInFlight).toBeLessThanOrEqual(2);
  });

  it('hands back running sessions that outlast the drain deadline, to end once elsewhere', async () => {
    const drainMs = 300;
    const tags = ['b0', 'b1', 'b2'];
    const { front, exitCode } = await scenario(tags, 'fault:ok:latency=1500', 2, drainMs);
    expect(await exitCode).toBe(0);
    const results = await resultsOn(front, tags);
    expect(results.map((r) => r.ok)).toEqual([true, true, true]);
    // The two it ran were cut off and ran again on the other instance, as a further attempt.
    const handedBack = results.filter((r) => r.tag === 'b0' || r.tag === 'b1');
    expect(handedBack.map((r) => r.attempts)).toEqual([2, 2]);
    expect(
      fromInstance(2)
        .map((r) => contentOf(r.body))
        .sort(),
    ).toEqual(['b0', 'b1', 'b2']);
    for (const tag of tags)
      expect(rig.server.requests.filter((r) => contentOf(r.body) === tag).length).toBeLessThanOrEqual(2);
  });
});
