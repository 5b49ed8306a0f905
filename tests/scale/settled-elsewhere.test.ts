/**
 * A session whose run here ends after another instance has already written its end: the race of a
 * lapsed lease (two runs of one session, docs/scale-out.md), when this run ends before it hears the
 * other's `session.ended` (pub/sub delivers it late, or not at all). Its `settle` finds the end set
 * and writes nothing: this run's end is not the session's. The instance must not count it in
 * `metrics().ended`, or the cluster's counts add up to two ends of one session.
 *
 * Real redis-server. The other instance's settle is played by hand, as its script does it: the
 * result key first, its `session.ended` published only once this run's settle has been refused.
 * And the other way round, on in-memory ports: a settle refused because this run's own earlier try
 * wrote the end (its answer lost on the way back) is this run's end, counted here once.
 */
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { SimulatedClock } from 'xstate';
import { systemClock } from '../../src/core/clock.js';
import { createOpenAICompatibleProvider } from '../../src/providers/openai-compatible.js';
import { MemoryClusterHub, type RuntimeBackend } from '../../src/runtime/backend.js';
import type { SessionStore } from '../../src/runtime/ports.js';
import { createRuntime } from '../../src/runtime/runtime.js';
import type { Runtime, RuntimeEvent, SessionResult } from '../../src/runtime/types.js';
import { createClusterRuntime } from '../../src/scale/cluster-runtime.js';
import { redisBackend } from '../../src/scale/redis-backend.js';
import { RedisKeys, RedisSessionStore } from '../../src/scale/redis-store.js';
import { ScriptedProvider } from '../../src/testing/scripted-provider.js';
import { useRedisRig } from '../support/redis-rig.js';

const rig = useRedisRig();
const PREFIX = 'settled-elsewhere';

async function instance(work: boolean): Promise<Runtime> {
  const runtime = createRuntime({
    providers: [createOpenAICompatibleProvider({ name: 'p', baseURL: rig.server.baseURL, apiKey: 'k' })],
    defaults: { model: 'fault:ok' },
    backend: await redisBackend({ url: rig.redis.url, prefix: PREFIX, work }),
  });
  rig.open.push(runtime);
  await runtime.ready;
  return runtime;
}

/** A session's `done` end, as another run (or this one) would write it. */
const result = (sessionId: string, content: string, model = 'm'): SessionResult => ({
  ok: true,
  content,
  metadata: {
    sessionId,
    requestId: 'r',
    provider: 'p',
    model,
    priority: 0,
    state: 'done',
    queuedMs: 0,
    runMs: 1,
    totalMs: 1,
    attempts: 1,
  },
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const endsOf = (runtime: Runtime) => Object.values(runtime.metrics().ended).reduce((a, b) => a + b, 0);

describe('a session run here whose end another instance wrote first', () => {
  it('is not counted as ended here, and every instance hears its one end, the one written', async () => {
    const front = await instance(false);
    const runner = await instance(true);
    const heard: { front: RuntimeEvent[]; runner: RuntimeEvent[] } = { front: [], runner: [] };
    for (const [name, runtime] of [
      ['front', front],
      ['runner', runner],
    ] as const) {
      runtime.subscribe((event) => {
        if (event.type === 'session.ended') heard[name].push(event);
      });
    }
    const handle = front.submit({
      model: 'fault:ok:latency=600',
      messages: [{ role: 'user', content: 'settled elsewhere' }],
    });
    const request = await rig.server.waitForRequest((r) =>
      JSON.stringify(r.body).includes('settled elsewhere'),
    );
    // The other run's end, written while this one still runs.
    const other = result(handle.id, 'the other run answered first', 'fault:ok:latency=600');
    const redis = new Redis(rig.redis.url);
    try {
      await redis.set(`${PREFIX}:result:${handle.id}`, JSON.stringify(other), 'PX', 600_000, 'NX');
      // This run answers and its settle is refused; then the other's `session.ended` arrives.
      await rig.server.waitForClose(request);
      await sleep(500);
      const event: RuntimeEvent = {
        type: 'session.ended',
        sessionId: handle.id,
        result: other,
        at: Date.now(),
        provider: 'p',
      };
      await redis.publish(`${PREFIX}:events`, JSON.stringify({ origin: 'the-other-instance', event }));
      const result = await handle.result;
      expect(result.ok ? result.content : result.error.message).toBe('the other run answered first');
      await sleep(300);
    } finally {
      redis.disconnect();
    }
    // One end in the cluster: the other instance's. Neither instance here ended it.
    expect({ front: endsOf(front), runner: endsOf(runner) }).toEqual({ front: 0, runner: 0 });
    const contents = (events: RuntimeEvent[]) =>
      events.map((e) => {
        const r = (e as Extract<RuntimeEvent, { type: 'session.ended' }>).result as SessionResult;
        return r.ok ? r.content : r.error.code;
      });
    expect({ front: contents(heard.front), runner: contents(heard.runner) }).toEqual({
      front: ['the other run answered first'],
      runner: ['the other run answered first'],
    });
    expect(runner.session(handle.id)?.state).toBe('done');
  }, 20_000);
});

describe('a session run here whose settle wrote its end but lost the answer', () => {
  it('is counted as ended here once: the retry that finds the end set finds this very end', async () => {
    const clock = new SimulatedClock();
    clock.set(1_000_000);
    const hub = new MemoryClusterHub({ clock });
    const provider = new ScriptedProvider('p');
    const errors: unknown[] = [];
    // The first settle is written, then fails as a connection dropped before its reply would.
    let tries = 0;
    const losesFirstAnswer = (store: SessionStore): SessionStore =>
      new Proxy(store, {
        get(target, key) {
          if (key !== 'settle') return Reflect.get(target, key, target);
          return async (...args: Parameters<SessionStore['settle']>) => {
            const written = await target.settle(...args);
            if (++tries === 1) throw new Error('Connection is closed.');
            return written;
          };
        },
      });
    const backend: RuntimeBackend = {
      kind: 'memory-cluster',
      createRuntime: (options, local) =>
        createClusterRuntime(options, local, (context) => {
          const ports = hub.ports(context);
          return { ...ports, store: losesFirstAnswer(ports.store) };
        }),
    };
    const runtime = createRuntime({
      providers: [provider],
      defaults: { model: 'm' },
      clock,
      onError: (error) => errors.push(error),
      backend,
    });
    rig.open.push(runtime);
    await runtime.ready;
    const handle = runtime.submit({ messages: [{ role: 'user', content: 'once' }] });
    const flush = () => new Promise<void>((resolve) => setImmediate(resolve));
    for (let i = 0; i < 20 && provider.pending().length === 0; i++) {
      clock.increment(10);
      await flush();
    }
    provider.pending()[0]?.settle('ok');
    for (let i = 0; i < 20; i++) {
      clock.increment(100);
      await flush();
    }
    expect((await handle.result).ok).toBe(true);
    expect(tries).toBe(2);
    expect(runtime.metrics().ended).toEqual({ done: 1, failed: 0, timedOut: 0, cancelled: 0 });
    expect(errors).toEqual([]);
  });
});

describe('settle, retried with the very end it wrote', () => {
  // The review found it: the retry read the result back to compare, and on Redis the submitter
  // had marked it delivered (its content gone) by then, so that end was counted nowhere.
  it('reads as written on Redis, before and after the result is delivered; another end does not', async () => {
    const redis = new Redis(rig.redis.url);
    const store = new RedisSessionStore(redis, new RedisKeys('retried'), 'me', 10, systemClock);
    try {
      const mine = result('s1', 'mine');
      expect(await store.settle(mine, undefined, 1)).toBe(true);
      expect(await store.settle(mine, undefined, 1)).toBe(true);
      expect(await store.settle(result('s1', 'another run'), undefined, 1)).toBe(false);
      await store.delivered(mine);
      expect(await redis.get('retried:result:s1')).toMatch(/^delivered:[0-9a-f]{40}$/);
      expect(await store.result('s1')).toBeUndefined();
      expect(await store.settle(mine, undefined, 1)).toBe(true);
      expect(await store.settle(result('s1', 'another run'), undefined, 1)).toBe(false);
      await store.delivered(mine); // again: the mark stays as it is
      expect(await store.settle(mine, undefined, 1)).toBe(true);
    } finally {
      redis.disconnect();
    }
  });

  it('reads as written on the in-memory store; another end does not', async () => {
    const clock = new SimulatedClock();
    const hub = new MemoryClusterHub({ clock });
    const { store } = hub.ports({
      providers: ['p'],
      limits: { perProvider: {}, maxConcurrent: 1, fairnessEvery: 4, historySize: 10 },
      clock,
      onError: (error) => {
        throw error;
      },
    });
    const mine = result('s1', 'mine');
    expect(await store.settle(mine, undefined, 1)).toBe(true);
    expect(await store.settle(mine, undefined, 1)).toBe(true);
    expect(await store.settle(result('s1', 'another run'), undefined, 1)).toBe(false);
  });
});
