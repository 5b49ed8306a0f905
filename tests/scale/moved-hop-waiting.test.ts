/**
 * A fallback hop to a provider whose `perProvider` slots are all taken waits for one, and says so on
 * every backend and through every instance: `session(id).waitingFor` is `maxConcurrent` while it
 * waits, and no more once its target's slot is its. In one process it waits at its target's gate; on
 * a cluster its job waits in its target's queue. Until 2026-12-06 a cluster showed it `running` with
 * no `waitingFor` there, on every instance (docs/scale-out.md, "A moved hop waits for its target's
 * slot in the queue"): red there, on the front and on the instance that moved it.
 */
import { expect, it } from 'vitest';
import type { RuntimeBackend } from '../../src/runtime/backend.js';
import { createRuntime } from '../../src/runtime/runtime.js';
import type { Runtime } from '../../src/runtime/types.js';
import { ScriptedProvider } from '../../src/testing/scripted-provider.js';
import { useRedisServer } from '../support/redis-file.js';

const redis = useRedisServer();

const ask = (content: string) => ({ messages: [{ role: 'user' as const, content }] });
const callOf = (provider: ScriptedProvider, content: string) =>
  provider.pending().find((call) => call.request.messages[0]?.content === content);

it.each([['one instance'], ['a memory cluster'], ['Redis']])(
  'a hop waiting for its target’s full perProvider shows waitingFor maxConcurrent on every instance, and none once it has the slot (%s)',
  async (name) => {
    const p = new ScriptedProvider('p');
    const q = new ScriptedProvider('q');
    const backends = await redis.backends(name, 'moved-hop', false, true);
    const make = async (backend?: RuntimeBackend): Promise<Runtime> => {
      const runtime = createRuntime({
        providers: [p, q],
        defaults: { provider: 'p', model: 'm', maxAttempts: 1 },
        limits: { perProvider: { q: 1 } },
        ...(backend === undefined ? {} : { backend }),
      });
      redis.runtimes.push(runtime);
      await runtime.ready;
      return runtime;
    };
    const runner = await make(backends?.[1]);
    const front = backends === undefined ? runner : await make(backends[0]);
    const views = backends === undefined ? [runner] : [runner, front];
    const busy = front.submit({ provider: 'q', ...ask('busy') });
    await expect.poll(() => callOf(q, 'busy'), { timeout: 5000 }).toBeDefined();
    const hop = front.submit({ ...ask('hop'), fallbacks: [{ provider: 'q', model: 'm' }] });
    await expect.poll(() => callOf(p, 'hop'), { timeout: 5000 }).toBeDefined();
    callOf(p, 'hop')?.settle('retryable');
    for (const view of views) {
      await expect
        .poll(() => view.session(hop.id), { timeout: 2000 })
        .toMatchObject({ state: 'running', provider: 'q', waitingFor: 'maxConcurrent' });
      expect(view.sessions().find((s) => s.sessionId === hop.id)?.waitingFor).toBe('maxConcurrent');
    }
    expect(callOf(q, 'hop')).toBeUndefined();
    // Its target's one slot frees: it takes it, and no instance names a limit any more.
    callOf(q, 'busy')?.settle('ok');
    expect((await busy.result).ok).toBe(true);
    await expect.poll(() => callOf(q, 'hop'), { timeout: 5000 }).toBeDefined();
    for (const view of views) {
      await expect.poll(() => view.session(hop.id)?.waitingFor, { timeout: 2000 }).toBeUndefined();
      expect(view.session(hop.id)).toMatchObject({ state: 'running', provider: 'q' });
    }
    callOf(q, 'hop')?.settle('ok');
    expect(await hop.result).toMatchObject({ ok: true, metadata: { provider: 'q' } });
  },
);
