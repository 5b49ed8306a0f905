/**
 * `shutdown({ unfinished: 'cancel' })` of an instance running a session of its own caller, whose
 * end Redis refuses to write: the session was stopped here, but the cluster does not have its end,
 * and its job is taken over by another instance once its lock lapses. The operator asked for it to
 * be cancelled: the instance that takes it over must end it cancelled, without calling the provider
 * again. Until 2026-12-05 nothing but the end said so (a session running here was cancelled here
 * only, with no cancel mark), and the taker ran it a second time, for nobody.
 *
 * Real redis-server. The instance that shuts down reaches it through a proxy that swaps the store's
 * settle script for one of the same length that fails, so Redis refuses every end that instance
 * writes and nothing else.
 */
import { describe, expect, it } from 'vitest';
import { createOpenAICompatibleProvider } from '../../src/providers/openai-compatible.js';
import { createRuntime } from '../../src/runtime/runtime.js';
import type { Runtime, RuntimeEvent, SessionResult } from '../../src/runtime/types.js';
import { redisBackend } from '../../src/scale/redis-backend.js';
import { proxyRedis } from '../support/redis-proxy.js';
import { useRedisRig } from '../support/redis-rig.js';

const rig = useRedisRig();
const TAG = 'cancelled at shutdown, its end refused';

/** The settle script's first line (`src/scale/redis-store.ts`), and a failing one as long. */
const SETTLE = Buffer.from("if redis.call('SET', KEYS[1], ARGV[2], 'NX', 'PX', ARGV[3]) then");
const REFUSED = Buffer.from(
  "if 1 then return redis.error_reply('test refused') end if 0 then".padEnd(SETTLE.length),
);

function refuseSettles(chunk: Buffer): Buffer {
  const at = chunk.indexOf(SETTLE);
  if (at < 0) return chunk;
  const copy = Buffer.from(chunk);
  REFUSED.copy(copy, at);
  return copy;
}

/** An instance of the cluster under `prefix` (one per test: the instances of a test stay up until the file ends). */
async function instance(
  prefix: string,
  url: string,
  work: boolean,
  errors: unknown[] = [],
  closeTimeoutMs = 1_000,
): Promise<Runtime> {
  const runtime = createRuntime({
    providers: [createOpenAICompatibleProvider({ name: 'p', baseURL: rig.server.baseURL, apiKey: 'k' })],
    defaults: { model: 'fault:ok' },
    onError: (error) => errors.push(error),
    backend: await redisBackend({ url, prefix, work, closeTimeoutMs }),
  });
  rig.open.push(runtime);
  await runtime.ready;
  return runtime;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const asked = () => rig.server.requests.filter((r) => JSON.stringify(r.body).includes(TAG));
const endsOf = (runtime: Runtime) => Object.values(runtime.metrics().ended).reduce((a, b) => a + b, 0);

describe('a session cancelled at its instance’s shutdown whose end Redis refuses', () => {
  it('is not run again by the instance that takes its job over: that one ends it cancelled', async () => {
    expect(REFUSED.length).toBe(SETTLE.length);
    const proxy = await proxyRedis(rig.redis.port, refuseSettles);
    const errors: unknown[] = [];
    const refused = await instance('refused', proxy.url, true, errors);
    // Watches the cluster's ends; takes no job.
    const front = await instance('refused', rig.redis.url, false);
    const ends: RuntimeEvent[] = [];
    front.subscribe((event) => {
      if (event.type === 'session.ended') ends.push(event);
    });
    const handle = refused.submit(
      { model: 'fault:ok:latency=4000', messages: [{ role: 'user', content: TAG }] },
      { timeoutMs: 20_000 },
    );
    await rig.server.waitForRequest((r) => JSON.stringify(r.body).includes(TAG));
    const report = await refused.shutdown({ deadlineMs: 10, unfinished: 'cancel' });
    expect(report.cancelled).toEqual([handle.id]);
    const told = await handle.result;
    expect(told.ok ? '' : `${told.error.code}: ${told.error.message}`).toMatch(/^SHUTTING_DOWN: .*cancelled/);
    // Its end was refused: the cluster has no end of it, and the shutdown said so.
    expect(errors.map(String).join('\n')).toMatch(/test refused/);
    expect(ends).toEqual([]);
    // Its lock lapses (1.5 s, nobody renews it), or its hand-back went through: the instance
    // started now takes it over.
    const taker = await instance('refused', rig.redis.url, true);
    for (let waited = 0; ends.length === 0 && waited < 15_000; waited += 50) await sleep(50);
    await sleep(300);
    // Ended once, cancelled as the operator asked, by the taker; the provider was called once in all.
    // `SHUTTING_DOWN`, as its caller was told (until 2026-12-06 the cluster recorded `CANCELLED`).
    expect(ends).toHaveLength(1);
    const ended = (ends[0] as Extract<RuntimeEvent, { type: 'session.ended' }>).result as SessionResult;
    expect(ended.ok ? 'done' : `${ended.error.code}: ${ended.error.message}`).toMatch(
      /^SHUTTING_DOWN: .*submitted through shut down/,
    );
    expect(asked()).toHaveLength(1);
    expect({ refused: endsOf(refused), taker: endsOf(taker) }).toEqual({ refused: 0, taker: 1 });
  }, 40_000);

  it('when Redis takes nothing from it, not even the cancel, says so: the taker runs the session again', async () => {
    // Cut off from Redis altogether: neither the cancel mark nor the end can be written, and nothing
    // tells the instance that takes the job over that the operator asked for it to be cancelled.
    const proxy = await proxyRedis(rig.redis.port);
    const errors: unknown[] = [];
    const cut = await instance('cut', proxy.url, true, errors);
    const front = await instance('cut', rig.redis.url, false);
    const ends: RuntimeEvent[] = [];
    front.subscribe((event) => {
      if (event.type === 'session.ended') ends.push(event);
    });
    const tag = 'cancelled at shutdown, cut off';
    const handle = cut.submit(
      { model: 'fault:ok:latency=1500', messages: [{ role: 'user', content: tag }] },
      { timeoutMs: 20_000 },
    );
    await rig.server.waitForRequest((r) => JSON.stringify(r.body).includes(tag));
    await proxy.cut();
    await cut.shutdown({ deadlineMs: 10, unfinished: 'cancel' });
    // Not silently: the shutdown reports the cancel it could not record, naming the session, and
    // its caller is not told it was cancelled (until 2026-12-05: "it was cancelled across the cluster").
    expect(errors.map(String).join('\n')).toContain(
      `Expected the cluster to take the cancel of session ${handle.id} at this instance's shutdown`,
    );
    const told = await handle.result;
    expect(told.ok ? '' : `${told.error.code}: ${told.error.message}`).toMatch(
      /^SHUTTING_DOWN: .*its cancel did not reach the cluster .* may go on there/,
    );
    const taker = await instance('cut', rig.redis.url, true);
    for (let waited = 0; ends.length === 0 && waited < 15_000; waited += 50) await sleep(50);
    await sleep(300);
    expect(ends).toHaveLength(1);
    const ended = (ends[0] as Extract<RuntimeEvent, { type: 'session.ended' }>).result as SessionResult;
    expect(ended.ok).toBe(true);
    expect(rig.server.requests.filter((r) => JSON.stringify(r.body).includes(tag))).toHaveLength(2);
    expect({ cut: endsOf(cut), taker: endsOf(taker) }).toEqual({ cut: 0, taker: 1 });
  }, 40_000);

  it('cut off for a moment at its drain deadline, tries the cancel again until Redis is back: the session never runs', async () => {
    // A queued session of its caller (no instance runs sessions yet): tried once, its cancel was
    // lost to the cut, and the first instance to lease it ran it for nobody (until 2026-12-05).
    const proxy = await proxyRedis(rig.redis.port);
    const errors: unknown[] = [];
    const front = await instance('blip', proxy.url, false, errors, 8_000);
    const watcher = await instance('blip', rig.redis.url, false);
    const ends: RuntimeEvent[] = [];
    watcher.subscribe((event) => {
      if (event.type === 'session.ended') ends.push(event);
    });
    const tag = 'cancelled at shutdown, cut off for a moment';
    const handle = front.submit({ messages: [{ role: 'user', content: tag }] }, { timeoutMs: 20_000 });
    await expect.poll(() => watcher.session(handle.id)?.state).toBe('queued');
    await proxy.cut();
    const stopped = front.shutdown({ deadlineMs: 10, unfinished: 'cancel' });
    await sleep(600);
    await proxy.restore();
    const report = await stopped;
    expect(report.cancelled).toEqual([handle.id]);
    const told = await handle.result;
    expect(told.ok ? '' : `${told.error.code}: ${told.error.message}`).toMatch(
      /^SHUTTING_DOWN: .*cancelled across the cluster/,
    );
    expect(errors.map(String).join('\n')).not.toContain('Expected the cluster to take the cancel');
    // An instance that runs sessions starts now: nothing is left for it to run.
    await instance('blip', rig.redis.url, true);
    for (let waited = 0; ends.length === 0 && waited < 5_000; waited += 50) await sleep(50);
    await sleep(1_000);
    expect(ends).toHaveLength(1);
    const ended = (ends[0] as Extract<RuntimeEvent, { type: 'session.ended' }>).result as SessionResult;
    expect(ended.ok ? 'done' : ended.error.code).toBe('SHUTTING_DOWN');
    expect(rig.server.requests.filter((r) => JSON.stringify(r.body).includes(tag))).toHaveLength(0);
  }, 40_000);
});
