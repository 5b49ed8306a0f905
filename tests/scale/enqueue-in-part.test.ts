/**
 * A submit whose enqueue the shared server took in part: the job reached its queue, the live
 * summary's write did not, nor the end the instance then wrote. Its caller is told
 * `BACKEND_UNAVAILABLE` at once (`submit` fails fast: `redis-outage.test.ts`). Until 2026-12-06
 * another instance then leased the job, called the provider and ended the session `done`: a call
 * for nobody and two ends of one session. Found by the kill property (`kill-properties.test.ts`,
 * once in about 30 runs: the caller's instance cut off as it submitted). Now a lease runs a job only
 * once its submitter's summary landed (`src/scale/confirmed.ts`): without one it ends the session
 * with no call, `BACKEND_UNAVAILABLE` as its caller was told, and every instance shows that end. A
 * summary merely late (it goes a tick after the job, on another connection) is waited for. The
 * opposite split (the summary taken, the job's add and the end refused) left the session `queued`
 * on every other instance for good, until 2026-12-06: now the queue-deadline sweep ends it so too.
 *
 * Real redis-server, the caller's instance behind a proxy (`redis-proxy.ts`): one that swaps the
 * summary's, the job's or the end's scripts for ones of the same length that fail (Redis refuses those
 * writes alone), one that misspells every script, one that holds the summary back. The same on the
 * memory cluster (the same lease runner), its caller's store refusing or holding the summary back.
 */
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { SimulatedClock } from 'xstate';
import { createOpenAICompatibleProvider } from '../../src/providers/openai-compatible.js';
import { MemoryClusterHub } from '../../src/runtime/backend.js';
import type { SessionQueue, SessionStore } from '../../src/runtime/ports.js';
import { createRuntime } from '../../src/runtime/runtime.js';
import type { Runtime, SessionResult } from '../../src/runtime/types.js';
import { createClusterRuntime } from '../../src/scale/cluster-runtime.js';
import { memoryClusterBackend } from '../../src/scale/memory-cluster.js';
import { redisBackend } from '../../src/scale/redis-backend.js';
import { ScriptedProvider } from '../../src/testing/scripted-provider.js';
import { proxyRedis } from '../support/redis-proxy.js';
import { useRedisRig } from '../support/redis-rig.js';

const rig = useRedisRig();

/** The first lines of the store's `SETTLE` and `PUT` scripts. */
const SETTLE_LINE = "if redis.call('SET', KEYS[1], ARGV[2], 'NX', 'PX', ARGV[3]) then";
const PUT_LINE = "if redis.call('EXISTS', KEYS[1]) == 0 then";
/** BullMQ's `addPrioritizedJob` (every troupe job has a priority) opens so: refused, a chunk ends there. */
const ADD_OPENING = '--[[\n  Adds a prioritized job to the queue by doing the following:';
const ADD_REFUSED = "do return redis.error_reply('test refused') end --[[".padEnd(ADD_OPENING.length);

/** Each of `lines` swapped for a refusal of its length: Redis refuses those scripts alone. */
function refusing(lines: string[]): { rewrite: (chunk: Buffer) => Buffer; swapped: () => number } {
  let swapped = 0;
  const swaps = lines.map((line) => ({
    line: Buffer.from(line),
    refused: Buffer.from(
      "if 1 then return redis.error_reply('test refused') end if 0 then"
        .slice(0, line.length)
        .padEnd(line.length),
    ),
  }));
  const rewrite = (chunk: Buffer) => {
    let copy = chunk;
    for (const { line, refused } of swaps) {
      for (let at = copy.indexOf(line); at >= 0; at = copy.indexOf(line, at + 1)) {
        if (copy === chunk) copy = Buffer.from(chunk);
        refused.copy(copy, at);
        swapped++;
      }
    }
    return copy;
  };
  return { rewrite, swapped: () => swapped };
}

/** Caller metadata over its cap (4096 bytes): `note` is cut, the rest kept, `truncated` set. */
const CALLER = { owner: 'alice', team: 'blue', note: 'x'.repeat(5000) };

let prefixes = 0;
async function instance(
  url: string,
  work: boolean,
  prefix: string,
  sweepIntervalMs?: number,
): Promise<Runtime> {
  const runtime = createRuntime({
    providers: [createOpenAICompatibleProvider({ name: 'p', baseURL: rig.server.baseURL, apiKey: 'k' })],
    defaults: { model: 'fault:ok' },
    onError: () => {},
    backend: await redisBackend({
      url,
      prefix,
      work,
      ...(sweepIntervalMs === undefined ? {} : { sweepIntervalMs }),
    }),
  });
  rig.open.push(runtime);
  await runtime.ready;
  return runtime;
}

const callsOf = (text: string) =>
  rig.server.requests.filter((r) => JSON.stringify(r.body).includes(text)).length;
const endOf = (result: SessionResult | undefined) =>
  result === undefined
    ? 'none'
    : result.ok
      ? result.metadata.state
      : `${result.error.code} ${result.metadata.state}`;
const shown = (runtime: Runtime, id: string) => {
  const summary = runtime.session(id);
  return summary === undefined ? 'none' : `${summary.code ?? ''} ${summary.state}`.trim();
};
const wall = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('on Redis', () => {
  it('a submit whose job Redis took but not its summary ends BACKEND_UNAVAILABLE everywhere, its provider never called', async () => {
    const prefix = `in-part-${prefixes++}`;
    const refuse = refusing([SETTLE_LINE, PUT_LINE]);
    const proxy = await proxyRedis(rig.redis.port, refuse.rewrite);
    const front = await instance(proxy.url, false, prefix);
    const worker = await instance(rig.redis.url, true, prefix);
    const handle = front.submit({ messages: [{ role: 'user', content: 'half-enqueued' }] });
    const told = await handle.result;
    expect(refuse.swapped()).toBeGreaterThan(1); // the summary's write and the end's
    expect(endOf(told)).toBe('BACKEND_UNAVAILABLE cancelled');
    expect(told.ok ? '' : told.error.message).toMatch(/^Expected Redis to take the session, got .*test r/);
    // The worker leases the job, finds no summary, and ends it so once its wait is over.
    for (let i = 0; i < 100 && worker.session(handle.id) === undefined; i++) await wall(50);
    expect(shown(worker, handle.id)).toBe('BACKEND_UNAVAILABLE cancelled');
    expect(worker.session(handle.id)?.attempts).toBe(0);
    // The caller's instance shows the cluster's end in place of the one it told (its listeners heard
    // that one), once the worker's end reaches it over the bus (a moment after the worker shows it).
    await expect.poll(() => front.session(handle.id), { timeout: 3_000 }).toEqual(worker.session(handle.id));
    expect(callsOf('half-enqueued')).toBe(0);
    // Nothing is left to run it later.
    await wall(300);
    expect(callsOf('half-enqueued')).toBe(0);
    expect(worker.status().queued + worker.status().running).toBe(0);
  }, 30_000);

  it('a submit whose summary Redis took but not its job ends BACKEND_UNAVAILABLE everywhere at its queue deadline, nothing left in Redis', async () => {
    const prefix = `in-part-${prefixes++}`;
    const refuse = refusing([SETTLE_LINE]);
    const opening = Buffer.from(ADD_OPENING);
    let added = 0;
    // The job's add and the end refused; the summary and the queue deadline land.
    const proxy = await proxyRedis(rig.redis.port, (chunk) => {
      const copy = refuse.rewrite(chunk);
      const at = copy.indexOf(opening);
      if (at < 0) return copy;
      added++;
      const out = copy === chunk ? Buffer.from(chunk) : copy;
      Buffer.from(ADD_REFUSED).copy(out, at);
      return out;
    });
    const front = await instance(proxy.url, false, prefix, 200);
    const worker = await instance(rig.redis.url, true, prefix, 200);
    const heard: SessionResult[] = [];
    worker.subscribe((e) => void (e.type === 'session.ended' && heard.push(e.result as SessionResult)));
    const handle = front.submit(
      { messages: [{ role: 'user', content: 'summary only' }] },
      { queueTimeoutMs: 500, metadata: CALLER },
    );
    const told = await handle.result;
    expect([added, refuse.swapped()]).toEqual([1, 1]);
    expect(endOf(told)).toBe('BACKEND_UNAVAILABLE cancelled');
    expect(told.ok ? '' : told.error.message).toMatch(/^Expected Redis to take the session, got .*test r/);
    // Its summary is shown queued elsewhere until a sweep past its queue deadline finds it has no job.
    for (let i = 0; i < 100 && shown(worker, handle.id) !== 'BACKEND_UNAVAILABLE cancelled'; i++)
      await wall(50);
    expect(shown(worker, handle.id)).toBe('BACKEND_UNAVAILABLE cancelled');
    expect(worker.session(handle.id)?.attempts).toBe(0);
    expect(worker.sessions().map((s) => s.sessionId)).not.toContain(handle.id); // live ones only
    expect(worker.status().queued + worker.status().running).toBe(0);
    await expect.poll(() => front.session(handle.id), { timeout: 3_000 }).toEqual(worker.session(handle.id));
    // Its end carries the caller metadata its caller was told, cut as it was (kept beside its summary).
    expect(heard.map((r) => [r.metadata.caller, r.metadata.truncated])).toEqual([
      [{ owner: 'alice', team: 'blue' }, true],
    ]);
    expect([told.metadata.caller, told.metadata.truncated]).toEqual([{ owner: 'alice', team: 'blue' }, true]);
    // Ended once: the sweeps after it find nothing of it left.
    await wall(600);
    const redis = new Redis(rig.redis.url);
    try {
      expect(await redis.hexists(`${prefix}:live`, handle.id)).toBe(0);
      expect(await redis.exists(`${prefix}:callers`)).toBe(0);
      expect(await redis.zcard(`${prefix}:qdl`)).toBe(0);
      expect(await redis.zcard(`${prefix}:arrivals:p`)).toBe(0);
    } finally {
      redis.disconnect();
    }
    expect(callsOf('summary only')).toBe(0);
  }, 30_000);

  it('a submit whose summary comes after its job was leased runs once, its caller told its end', async () => {
    const prefix = `in-part-${prefixes++}`;
    const put = Buffer.from(PUT_LINE);
    let held = 0;
    // The summary's write (and what its connection sends after it) 400 ms late; the job goes at once.
    const proxy = await proxyRedis(rig.redis.port, undefined, (chunk) =>
      chunk.includes(put) && held++ === 0 ? 400 : 0,
    );
    const front = await instance(proxy.url, false, prefix);
    const worker = await instance(rig.redis.url, true, prefix);
    const handle = front.submit({ messages: [{ role: 'user', content: 'summary late' }] });
    const told = await handle.result;
    expect(held).toBeGreaterThan(0);
    expect(endOf(told)).toBe('done');
    expect(callsOf('summary late')).toBe(1);
    expect(shown(worker, handle.id)).toBe('done');
  }, 30_000);

  it('a submit whose writes Redis all refused ends BACKEND_UNAVAILABLE, naming what Redis said, and runs nowhere', async () => {
    const prefix = `in-part-${prefixes++}`;
    // From the submit on, every script is an unknown command (`evalsha` and `eval` misspelt): the
    // summary, the job and the end are refused, and reads still answer.
    let misspelling = false;
    const misspelt = (chunk: Buffer) => {
      if (!misspelling) return chunk;
      const text = chunk
        .toString('latin1')
        .replace(/\r\n(evalsha|eval)\r\n/gi, (_m, name: string) => `\r\n${name.slice(0, -1)}x\r\n`);
      return Buffer.from(text, 'latin1');
    };
    const proxy = await proxyRedis(rig.redis.port, misspelt);
    const front = await instance(proxy.url, false, prefix, 200);
    const worker = await instance(rig.redis.url, true, prefix, 200);
    misspelling = true;
    const handle = front.submit(
      { messages: [{ role: 'user', content: 'all refused' }] },
      { queueTimeoutMs: 300 },
    );
    const told = await handle.result;
    expect(endOf(told)).toBe('BACKEND_UNAVAILABLE cancelled');
    expect(told.ok ? '' : told.error.message).toMatch(
      /^Expected Redis to take the session, got .*unknown command/i,
    );
    // Nothing was queued, so nobody runs it later; its deadline (a plain write, taken) is forgotten
    // by the second sweep past it that finds no job, no summary and no end.
    const redis = new Redis(rig.redis.url);
    try {
      for (let i = 0; i < 60 && (await redis.zcard(`${prefix}:qdl`)) > 0; i++) await wall(50);
      expect(await redis.zcard(`${prefix}:qdl`)).toBe(0);
      expect(await redis.zcard(`${prefix}:arrivals:p`)).toBe(0);
    } finally {
      redis.disconnect();
    }
    expect(callsOf('all refused')).toBe(0);
    expect(worker.session(handle.id)).toBeUndefined();
  }, 30_000);
});

/** `target` with the methods `changed` gives in place of its own. */
function overridden<T extends object>(target: T, changed: Partial<T>): T {
  return new Proxy(target, {
    get: (t, key) => {
      if (key in changed) return changed[key as keyof T];
      const value = Reflect.get(t, key, t) as unknown;
      return typeof value === 'function' ? value.bind(t) : value;
    },
  });
}

describe('on the memory cluster', () => {
  const flush = () => new Promise<void>((resolve) => setImmediate(resolve));
  async function advance(clock: SimulatedClock, ms: number, stepMs = 50): Promise<void> {
    await flush();
    for (let passed = 0; passed < ms; passed += stepMs) {
      clock.increment(Math.min(stepMs, ms - passed));
      await flush();
      await flush();
    }
  }

  /** A submitting instance (`work: false`) whose store's (and queue's) methods are those `overrides` give. */
  function cluster(
    overrides: (store: SessionStore, clock: SimulatedClock) => Partial<SessionStore>,
    queueOverrides: (hub: MemoryClusterHub) => Partial<SessionQueue> = () => ({}),
  ) {
    const clock = new SimulatedClock();
    clock.set(1_000_000);
    const hub = new MemoryClusterHub({ clock });
    const provider = new ScriptedProvider('p');
    const options = { providers: [provider], defaults: { model: 'm' }, clock, onError: () => {} };
    const front = createRuntime({
      ...options,
      backend: {
        kind: 'memory-cluster',
        createRuntime: (runtimeOptions, local) =>
          createClusterRuntime(runtimeOptions, local, (context) => {
            const ports = hub.ports(context, { work: false });
            const store = overridden(ports.store, overrides(ports.store, clock));
            return { ...ports, store, queue: overridden(ports.queue, queueOverrides(hub)) };
          }),
      },
    });
    const worker = createRuntime({ ...options, backend: memoryClusterBackend({ hub }) });
    return { clock, provider, front, worker };
  }

  it('a submit whose summary its store refused ends BACKEND_UNAVAILABLE everywhere, its provider never called', async () => {
    const refused = () => Promise.reject(new Error('test refused'));
    const { clock, provider, front, worker } = cluster(() => ({ put: refused, settle: refused }));
    await Promise.all([front.ready, worker.ready]);
    const handle = front.submit({ messages: [{ role: 'user', content: 'half' }] });
    await advance(clock, 100);
    expect(endOf(await handle.result)).toBe('BACKEND_UNAVAILABLE cancelled');
    expect(shown(worker, handle.id)).toBe('none'); // leased, waiting for its summary
    await advance(clock, 2_500);
    expect(shown(worker, handle.id)).toBe('BACKEND_UNAVAILABLE cancelled');
    expect(front.session(handle.id)).toEqual(worker.session(handle.id));
    expect(provider.calls).toHaveLength(0);
    await Promise.all([front.shutdown({ deadlineMs: 0 }), worker.shutdown({ deadlineMs: 0 })]);
  });

  it('a submit whose summary its store took but not its job ends BACKEND_UNAVAILABLE everywhere at its queue deadline, with its caller metadata', async () => {
    const refused = () => Promise.reject(new Error('test refused'));
    // The job's add refused but its deadline written (on Redis a plain write beside BullMQ's add), the end
    // refused; its caller's instance forgets it in its own view alone, as on Redis (the hub's is everyone's).
    const { clock, provider, front, worker } = cluster(
      () => ({ settle: refused, forget: () => undefined }),
      (hub) => ({
        add: (session) => {
          const { provider: p, sessionId, queueDeadlineAt } = session.input;
          hub.queue.deadlines.set(`${p}|${sessionId}`, queueDeadlineAt);
          return refused();
        },
      }),
    );
    await Promise.all([front.ready, worker.ready]);
    const heard: SessionResult[] = [];
    worker.subscribe((e) => void (e.type === 'session.ended' && heard.push(e.result as SessionResult)));
    const handle = front.submit(
      { messages: [{ role: 'user', content: 'summary only' }] },
      { queueTimeoutMs: 500, metadata: CALLER },
    );
    await advance(clock, 100);
    const told = await handle.result;
    expect(endOf(told)).toBe('BACKEND_UNAVAILABLE cancelled');
    expect(shown(worker, handle.id)).toBe('queued');
    await advance(clock, 2_500);
    expect(shown(worker, handle.id)).toBe('BACKEND_UNAVAILABLE cancelled');
    expect(heard.map((r) => [r.metadata.caller, r.metadata.truncated])).toEqual([
      [{ owner: 'alice', team: 'blue' }, true],
    ]);
    expect([told.metadata.caller, told.metadata.truncated]).toEqual([{ owner: 'alice', team: 'blue' }, true]);
    expect(provider.calls).toHaveLength(0);
    await Promise.all([front.shutdown({ deadlineMs: 0 }), worker.shutdown({ deadlineMs: 0 })]);
  });

  it('a submit whose summary lands after its job was leased runs once, its caller told its end', async () => {
    const { clock, provider, front, worker } = cluster((store, c) => ({
      put: (summary, event) =>
        new Promise<void>((resolve) => c.setTimeout(() => resolve(store.put(summary, event)), 1_000)),
    }));
    await Promise.all([front.ready, worker.ready]);
    const handle = front.submit({ messages: [{ role: 'user', content: 'late' }] });
    await advance(clock, 900);
    expect(provider.calls).toHaveLength(0); // leased, its summary not there yet
    await advance(clock, 300);
    expect(provider.pending()).toHaveLength(1);
    provider.pending()[0]?.settle('ok');
    await advance(clock, 100);
    expect(endOf(await handle.result)).toBe('done');
    expect(shown(worker, handle.id)).toBe('done');
    expect(provider.calls).toHaveLength(1);
    await Promise.all([front.shutdown({ deadlineMs: 0 }), worker.shutdown({ deadlineMs: 0 })]);
  });
});
