/**
 * A running session held between attempts at its target's gate says what holds it, on every backend
 * and through every instance: `session(id).waitingFor` and the live summaries (`sessions()`), while
 * it waits, and no more once it is let go. Here a retry after a 503 is held by another session's 429
 * cooldown, then let go when the cooldown lapses. Until 2026-12-06 one process named the limit and
 * both clusters said nothing (the instances learned a running session's summary only at its start,
 * its retries and its hops): red there, on the instance running it and on the front. What it costs:
 * a summary alone when held and one when let go, nothing for a retry its gate lets go at once.
 */
import { describe, expect, it } from 'vitest';
import type { RuntimeBackend } from '../../src/runtime/backend.js';
import type { ClusterPorts, SessionStore } from '../../src/runtime/ports.js';
import { createRuntime } from '../../src/runtime/runtime.js';
import type { Runtime, SubmitOptions } from '../../src/runtime/types.js';
import { ScriptedProvider } from '../../src/testing/scripted-provider.js';
import { useRedisServer } from '../support/redis-file.js';
import { wrappedBackends } from '../support/redis-ports.js';

const redis = useRedisServer();
const runtimes = redis.runtimes;

async function runtimeOn(
  provider: ScriptedProvider | ScriptedProvider[],
  backend?: RuntimeBackend,
): Promise<Runtime> {
  const runtime = createRuntime({
    providers: [provider].flat(),
    defaults: { provider: 'p', model: 'm', maxAttempts: 3, backoffBaseMs: 20, backoffMaxMs: 20 },
    limits: { providers: { p: {}, q: {} } },
    ...(backend === undefined ? {} : { backend }),
  });
  runtimes.push(runtime);
  await runtime.ready;
  return runtime;
}

const ask = (content: string) => ({ messages: [{ role: 'user' as const, content }] });
const callOf = (provider: ScriptedProvider, content: string) =>
  provider.pending().find((call) => call.request.messages[0]?.content === content);

it.each([['one instance'], ['a memory cluster'], ['Redis']])(
  'a retry held by a cooldown shows waitingFor on every instance while it waits, and none once let go (%s)',
  async (name) => {
    const provider = new ScriptedProvider('p');
    const backends = await redis.backends(name, 'held-retry', false, true);
    const runner = await runtimeOn(provider, backends?.[1]);
    const front = backends === undefined ? runner : await runtimeOn(provider, backends[0]);
    const views = backends === undefined ? [runner] : [runner, front];
    const limited = front.submit(ask('limited'), { maxAttempts: 1 });
    const held = front.submit(ask('held'));
    await expect.poll(() => provider.pending().length, { timeout: 5000 }).toBe(2);
    callOf(provider, 'limited')?.settle('rateLimited', 1500);
    expect((await limited.result).ok).toBe(false);
    callOf(provider, 'held')?.settle('retryable');
    for (const view of views) {
      await expect
        .poll(() => view.session(held.id), { timeout: 1000 })
        .toMatchObject({ state: 'running', attempts: 1, waitingFor: 'cooldown' });
      expect(view.sessions().find((s) => s.sessionId === held.id)?.waitingFor).toBe('cooldown');
      expect(view.status().providers.find((p) => p.name === 'p')?.running).toBe(1);
    }
    // The cooldown lapses: its retry goes, and no instance names a limit any more.
    await expect.poll(() => callOf(provider, 'held'), { timeout: 5000 }).toBeDefined();
    for (const view of views) {
      await expect.poll(() => view.session(held.id)?.waitingFor, { timeout: 1000 }).toBeUndefined();
      expect(view.session(held.id)).toMatchObject({ state: 'running', attempts: 2 });
    }
    callOf(provider, 'held')?.settle('ok');
    expect(await held.result).toMatchObject({ ok: true, metadata: { attempts: 2 } });
  },
);

it.each([['one instance'], ['a memory cluster'], ['Redis']])(
  'a fallback hop held by its target’s cooldown shows waitingFor on every instance while it waits (%s)',
  async (name) => {
    const p = new ScriptedProvider('p');
    const q = new ScriptedProvider('q');
    const backends = await redis.backends(name, 'held-retry', false, true);
    const make = async (backend?: RuntimeBackend) => {
      const runtime = createRuntime({
        providers: [p, q],
        defaults: { provider: 'p', model: 'm', maxAttempts: 1 },
        limits: { providers: { p: {}, q: {} } },
        ...(backend === undefined ? {} : { backend }),
      });
      runtimes.push(runtime);
      await runtime.ready;
      return runtime;
    };
    const runner = await make(backends?.[1]);
    const front = backends === undefined ? runner : await make(backends[0]);
    const views = backends === undefined ? [runner] : [runner, front];
    const limited = front.submit({ provider: 'q', ...ask('limited') });
    await expect.poll(() => callOf(q, 'limited'), { timeout: 5000 }).toBeDefined();
    callOf(q, 'limited')?.settle('rateLimited', 1500);
    expect((await limited.result).ok).toBe(false);
    const hop = front.submit({ ...ask('hop'), fallbacks: [{ provider: 'q', model: 'm' }] });
    await expect.poll(() => callOf(p, 'hop'), { timeout: 5000 }).toBeDefined();
    callOf(p, 'hop')?.settle('retryable');
    for (const view of views) {
      await expect
        .poll(() => view.session(hop.id), { timeout: 1000 })
        .toMatchObject({ state: 'running', provider: 'q', waitingFor: 'cooldown' });
      // Where it counts while it waits: nowhere in one process (it left p's slot, has not q's yet);
      // on its target on a cluster, whose queue's slot its job holds (docs/scale-out.md, "Known limits").
      const counts = view.status().providers.map(({ name: provider, running }) => [provider, running]);
      expect(counts).toEqual([
        ['p', 0],
        ['q', backends === undefined ? 0 : 1],
      ]);
    }
    await expect.poll(() => callOf(q, 'hop'), { timeout: 5000 }).toBeDefined();
    for (const view of views)
      await expect.poll(() => view.session(hop.id)?.waitingFor, { timeout: 1000 }).toBeUndefined();
    callOf(q, 'hop')?.settle('ok');
    expect(await hop.result).toMatchObject({ ok: true, metadata: { provider: 'q' } });
  },
);

/** Each summary written alone (`putSummary`), as `<content> <waitingFor or ->`. */
const alone: string[] = [];
const contentOf = new Map<string, string>();
function counted(ports: ClusterPorts): ClusterPorts {
  const store = new Proxy(ports.store, {
    get(target, key, receiver) {
      const value = Reflect.get(target, key, receiver);
      if (key !== 'putSummary') return typeof value === 'function' ? value.bind(target) : value;
      const put: SessionStore['putSummary'] = (summary) => {
        alone.push(`${contentOf.get(summary.sessionId)} ${summary.waitingFor ?? '-'}`);
        return target.putSummary(summary);
      };
      return put;
    },
  });
  return { ...ports, store };
}

describe.each(wrappedBackends('held-writes', () => redis.url, counted))(
  'what a held retry writes (%s)',
  (_name, backend) => {
    it('one summary when held and one when let go; none for a retry let go at once, nor one that moves on', async () => {
      alone.length = 0;
      const provider = new ScriptedProvider('p');
      const q = new ScriptedProvider('q');
      const runtime = await runtimeOn([provider, q], await backend());
      const submit = (
        content: string,
        options: SubmitOptions = {},
        fallbacks?: { provider: string; model: string }[],
      ) => {
        const handle = runtime.submit(
          { ...ask(content), ...(fallbacks === undefined ? {} : { fallbacks }) },
          options,
        );
        contentOf.set(handle.id, content);
        return handle;
      };
      const plain = submit('plain');
      await expect.poll(() => callOf(provider, 'plain'), { timeout: 5000 }).toBeDefined();
      callOf(provider, 'plain')?.settle('retryable');
      await expect.poll(() => callOf(provider, 'plain'), { timeout: 5000 }).toBeDefined();
      callOf(provider, 'plain')?.settle('ok');
      expect((await plain.result).metadata.attempts).toBe(2);
      const limited = submit('limited', { maxAttempts: 1 });
      const held = submit('held');
      // Its retry meets a cooldown past its run deadline: it moves on to q at once, held by nothing.
      const moving = submit('moving', { timeoutMs: 1000 }, [{ provider: 'q', model: 'm' }]);
      await expect.poll(() => provider.pending().length, { timeout: 5000 }).toBe(3);
      callOf(provider, 'limited')?.settle('rateLimited', 1500);
      await limited.result;
      callOf(provider, 'held')?.settle('retryable');
      callOf(provider, 'moving')?.settle('retryable');
      await expect.poll(() => callOf(q, 'moving'), { timeout: 5000 }).toBeDefined();
      callOf(q, 'moving')?.settle('ok');
      expect(await moving.result).toMatchObject({ ok: true, metadata: { provider: 'q' } });
      await expect.poll(() => callOf(provider, 'held'), { timeout: 5000 }).toBeDefined();
      callOf(provider, 'held')?.settle('ok');
      expect((await held.result).ok).toBe(true);
      expect(alone).toEqual(['held cooldown', 'held -']);
    });
  },
);
