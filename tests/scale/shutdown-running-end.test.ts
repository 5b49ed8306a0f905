/**
 * A session running when a shutdown's drain deadline passes: its caller's `SHUTTING_DOWN` carries
 * the attempts and the run time the session had, and, cancelled (`unfinished: 'cancel'`; one process
 * always cancels), the caller's result, `subscribe` and `session(id)` tell one end, `SHUTTING_DOWN`,
 * as one process does. Until 2026-12-06 a cluster gave the caller `attempts: 0` and `runMs: 0`, and
 * recorded a cancelled session as `CANCELLED` (its subscribers and `session(id)` said so) while its
 * caller got `SHUTTING_DOWN` ("found by an audit" of the two backends, 2026-12-04). One instance, a
 * memory cluster and Redis (a real `redis-server`); and a cluster whose session runs on another
 * instance than the one that shuts down.
 */
import { expect, it } from 'vitest';
import type { RuntimeBackend } from '../../src/runtime/backend.js';
import { createRuntime } from '../../src/runtime/runtime.js';
import type { Runtime, RuntimeEvent, SessionResult } from '../../src/runtime/types.js';
import { createSimulatedProvider } from '../../src/testing/index.js';
import { useRedisServer } from '../support/redis-file.js';

const redis = useRedisServer();
const runtimes = redis.runtimes;

/** A runtime whose calls take 5 s, one at a time across the cluster. */
async function runtimeOn(backend: RuntimeBackend | undefined): Promise<Runtime> {
  const runtime = createRuntime({
    providers: [createSimulatedProvider({ name: 'sim', latencyMs: { min: 5000, max: 5000 } })],
    defaults: { provider: 'sim', model: 'sim-fast' },
    limits: { perProvider: { sim: 1 } },
    ...(backend === undefined ? {} : { backend }),
  });
  runtimes.push(runtime);
  await runtime.ready;
  return runtime;
}

const codeOf = (result: SessionResult) => (result.ok ? 'done' : result.error.code);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const cases = ['one instance', 'a memory cluster', 'Redis'].flatMap((name) =>
  (['leave', 'cancel'] as const).map((unfinished) => [name, unfinished] as const),
);

it.each(cases)(
  '%s, unfinished: %s: a session running at the drain deadline tells what it ran, and one end',
  async (name, unfinished) => {
    const [backend] = (await redis.backends(name, 'running-end', true)) ?? [undefined];
    const runtime = await runtimeOn(backend);
    const ended: RuntimeEvent[] = [];
    runtime.subscribe((event) => {
      if (event.type === 'session.ended') ended.push(event);
    });
    const handle = runtime.submit({ messages: [{ role: 'user', content: 'long' }] });
    await expect.poll(() => runtime.session(handle.id)?.state, { timeout: 5000 }).toBe('running');
    await sleep(300);
    await runtime.shutdown({ deadlineMs: 200, unfinished });
    const result = await handle.result;
    expect(codeOf(result)).toBe('SHUTTING_DOWN');
    expect(result.metadata).toMatchObject({ state: 'cancelled', attempts: 1 });
    // It ran 300 ms before the shutdown and 200 ms of drain.
    expect(result.metadata.runMs).toBeGreaterThanOrEqual(450);
    expect(result.metadata.totalMs).toBe(result.metadata.queuedMs + result.metadata.runMs);
    // Left to the cluster (`leave`), the session has not ended: there is no end to agree on here.
    if (unfinished === 'leave' && name !== 'one instance') return;
    expect(ended).toHaveLength(1);
    const told = ended[0] as Extract<RuntimeEvent, { type: 'session.ended' }>;
    expect(codeOf(told.result as SessionResult)).toBe('SHUTTING_DOWN');
    expect(told.result.metadata).toEqual(result.metadata);
    expect(runtime.session(handle.id)).toMatchObject({
      state: 'cancelled',
      code: 'SHUTTING_DOWN',
      attempts: 1,
    });
  },
);

it.each([['a memory cluster'], ['Redis']])(
  '%s: the sessions of an instance cancelled at its shutdown, one running on another instance and one queued, end SHUTTING_DOWN with what they ran',
  async (name) => {
    const [frontBackend, workerBackend] = (await redis.backends(name, 'running-end', false, true)) ?? [
      undefined,
    ];
    const front = await runtimeOn(frontBackend);
    const worker = await runtimeOn(workerBackend);
    const ask = (content: string) => front.submit({ messages: [{ role: 'user', content }] });
    const running = ask('runs on the worker');
    await expect.poll(() => front.session(running.id)?.state, { timeout: 5000 }).toBe('running');
    const queued = ask('waits');
    await expect.poll(() => worker.session(queued.id)?.state, { timeout: 5000 }).toBe('queued');
    await sleep(300);
    await front.shutdown({ deadlineMs: 100, unfinished: 'cancel' });
    const [ran, waited] = await Promise.all([running.result, queued.result]);
    expect([codeOf(ran), codeOf(waited)]).toEqual(['SHUTTING_DOWN', 'SHUTTING_DOWN']);
    expect(ran.metadata.attempts).toBe(1);
    expect(ran.metadata.runMs).toBeGreaterThanOrEqual(350);
    expect(waited.metadata).toMatchObject({ attempts: 0, runMs: 0 });
    // Where it ended, the cluster recorded that same end: read from the instance that stays.
    for (const [handle, attempts] of [
      [running, 1],
      [queued, 0],
    ] as const) {
      await expect.poll(() => worker.session(handle.id)?.code, { timeout: 5000 }).toBe('SHUTTING_DOWN');
      expect(worker.session(handle.id)).toMatchObject({ state: 'cancelled', attempts });
    }
  },
);
