/**
 * A session held at its gate between attempts (a retry behind another session's 429 cooldown), its
 * instance killed (SIGKILL) while it waits, taken over by another instance once the cooldown has
 * lapsed: its gate there lets it go at once, and no instance goes on naming the lost instance's
 * limit. The taking instance writes its summary when its attempt starts (`session.started`), as any
 * attempt does, so the front shows it `running` without `waitingFor` while that attempt runs.
 * Separate troupe processes on a real redis-server. Needs the build.
 */
import { describe, expect, it } from 'vitest';
import { contentOf, type Instance, startInstance, useRig } from './fixtures/processes.js';

const rig = useRig();
const children = rig.children;

/** The front's `session(id)` now (a summary, or null). */
async function summaryOf(front: Instance, id: string): Promise<Record<string, unknown> | null> {
  const from = front.lines.length;
  front.send({ op: 'session', id });
  const line = await front.waitFor(
    (l) => l.event === 'session' && l.id === id && front.lines.indexOf(l) >= from,
  );
  return line.summary as Record<string, unknown> | null;
}

describe('a held session taken over from a killed instance', () => {
  it('shows no waitingFor of the lost instance once its new instance’s gate lets it go at once', async () => {
    const start = (index: number, work: boolean): Promise<Instance> =>
      startInstance(
        {
          redisUrl: rig.redis.url,
          providerBaseURL: rig.server.baseURL,
          prefix: 'takeover-waiting',
          limit: 4,
          index,
          work,
        },
        children,
      );
    const [front, ...workers] = await Promise.all([start(0, false), start(1, true), start(2, true)]);
    const tag = 'held-then-killed';
    // Its first call fails (a 500, after 1 s); its retry (the same model) succeeds, after 1 s.
    front.send({
      op: 'submit',
      tag,
      model: 'fault:500:first=1:latency=1000',
      maxAttempts: 3,
      timeoutMs: 30_000,
    });
    const submitted = await front.waitFor((l) => l.event === 'submitted' && l.tag === tag);
    const id = String(submitted.id);
    const first = await rig.server.waitForRequest((r) => contentOf(r.body) === tag);
    const runner = workers[Number(first.headers['x-instance']) - 1] as Instance;
    // Another session's 429 cools p down for 2 s: the retry (due about 1.25 s in) is held by it.
    front.send({ op: 'submit', tag: 'limiter', model: 'fault:429:retry-after=2' });
    await front.waitFor((l) => l.event === 'result' && l.tag === 'limiter');
    await expect
      .poll(() => summaryOf(front, id), { timeout: 5000, interval: 50 })
      .toMatchObject({ state: 'running', waitingFor: 'cooldown' });
    runner.child.kill('SIGKILL');
    // Taken over once its lock lapses (1.5 s, looked at every 0.5 s), after the cooldown has: its
    // gate there lets it go at once, and it calls.
    const second = await rig.server.waitForRequest((r) => contentOf(r.body) === tag && r.id !== first.id);
    expect(second.headers['x-instance']).not.toBe(first.headers['x-instance']);
    // While that call runs (1 s), the front shows it running, held by nothing.
    await expect
      .poll(async () => (await summaryOf(front, id))?.waitingFor ?? 'none', { timeout: 800, interval: 50 })
      .toBe('none');
    expect(await summaryOf(front, id)).toMatchObject({ state: 'running', attempts: 2 });
    expect(second.completed).not.toBe(true);
    const result = await front.waitFor((l) => l.event === 'result' && l.tag === tag, 20_000);
    expect(result).toMatchObject({ ok: true, attempts: 2 });
  });
});
