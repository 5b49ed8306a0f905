/**
 * Several troupe instances as separate processes on one Redis, against the local
 * OpenAI-compatible server: limits, priorities, kill -9 and cancellation across instances.
 * Needs the build (`npx tsc -p tsconfig.build.json`).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { contentOf, type Instance, killAll, startInstance, useRig } from './fixtures/processes.js';

const rig = useRig();
const children = rig.children;
let prefixSeq = 0;

afterEach(() => {
  killAll(children);
  rig.server.reset();
});

async function cluster(count: number, limit: number, frontOnly = false): Promise<Instance[]> {
  const prefix = `c${++prefixSeq}`;
  return Promise.all(
    Array.from({ length: count }, (_, index) => start(prefix, limit, index, !(frontOnly && index === 0))),
  );
}

function start(prefix: string, limit: number, index: number, work: boolean): Promise<Instance> {
  return startInstance(
    { redisUrl: rig.redis.url, providerBaseURL: rig.server.baseURL, prefix, limit, index, work },
    children,
  );
}

describe('a cluster of troupe instances on Redis', () => {
  it('holds the provider limit across instances and ends every session once', async () => {
    const instances = await cluster(3, 2);
    const tags = Array.from({ length: 12 }, (_, i) => `s${i}`);
    tags.forEach((tag, i) => {
      instances[i % 3]!.send({ op: 'submit', tag, model: 'fault:ok:latency=150' });
    });
    const results = await Promise.all(
      tags.map((tag, i) => instances[i % 3]!.waitFor((l) => l.event === 'result' && l.tag === tag)),
    );
    expect(results.every((r) => r.ok)).toBe(true);
    expect(rig.server.maxInFlight).toBeLessThanOrEqual(2);
    expect(rig.server.maxInFlight).toBeGreaterThan(0);
    for (const [i, instance] of instances.entries())
      expect(instance.lines.filter((l) => l.event === 'result').length).toBe(
        tags.filter((_, j) => j % 3 === i).length,
      );
  });

  it('admits by priority across instances', async () => {
    const instances = await cluster(2, 1);
    instances[0]!.send({ op: 'submit', tag: 'blocker', model: 'fault:ok:latency=800' });
    await rig.server.waitForRequest((r) => contentOf(r.body) === 'blocker');
    for (let i = 0; i < 3; i++)
      instances[0]!.send({ op: 'submit', tag: `low${i}`, priority: 1, model: 'fault:ok' });
    for (let i = 0; i < 3; i++)
      instances[1]!.send({ op: 'submit', tag: `high${i}`, priority: 9, model: 'fault:ok' });
    await Promise.all(
      [0, 1, 2].map((i) => instances[0]!.waitFor((l) => l.event === 'result' && l.tag === `low${i}`)),
    );
    const order = rig.server.requests.map((r) => contentOf(r.body)).filter((c) => c !== 'blocker');
    expect(order.slice(0, 3).sort()).toEqual(['high0', 'high1', 'high2']);
    expect(order.slice(3)).toEqual(['low0', 'low1', 'low2']);
  });

  it('lets callers take turns across instances: one sent at another instance goes ahead of a burst', async () => {
    const instances = await cluster(2, 1);
    instances[0]!.send({ op: 'submit', tag: 'blocker', model: 'fault:ok:latency=800' });
    await rig.server.waitForRequest((r) => contentOf(r.body) === 'blocker');
    for (let i = 1; i <= 3; i++)
      instances[0]!.send({ op: 'submit', tag: `alice${i}`, owner: 'alice', model: 'fault:ok' });
    await instances[0]!.waitFor((l) => l.event === 'submitted' && l.tag === 'alice3');
    // Her jobs reach Redis a round trip after `submitted`: Bob's go in after them (the blocker runs 800 ms).
    await new Promise((r) => setTimeout(r, 200));
    for (let i = 1; i <= 2; i++)
      instances[1]!.send({ op: 'submit', tag: `bob${i}`, owner: 'bob', model: 'fault:ok' });
    await Promise.all([
      instances[0]!.waitFor((l) => l.event === 'result' && l.tag === 'alice3'),
      instances[1]!.waitFor((l) => l.event === 'result' && l.tag === 'bob2'),
    ]);
    const order = rig.server.requests.map((r) => contentOf(r.body)).filter((c) => c !== 'blocker');
    expect(order).toEqual(['alice1', 'bob1', 'alice2', 'bob2', 'alice3']);
  });

  it('takes over the sessions of a killed instance, each ending once', async () => {
    const instances = await cluster(3, 2, true);
    const tags = Array.from({ length: 6 }, (_, i) => `k${i}`);
    for (const tag of tags) instances[0]!.send({ op: 'submit', tag, model: 'fault:ok:latency=1200' });
    const first = await rig.server.waitForRequest((r) => r.headers['x-instance'] !== undefined);
    const victim = Number(first.headers['x-instance']);
    instances[victim]!.child.kill('SIGKILL');
    const results = await Promise.all(
      tags.map((tag) => instances[0]!.waitFor((l) => l.event === 'result' && l.tag === tag, 30_000)),
    );
    expect(results.every((r) => r.ok)).toBe(true);
    expect(instances[0]!.lines.filter((l) => l.event === 'result').length).toBe(tags.length);
    // A session cut off by the kill ran again once, counted as a further attempt.
    const retaken = results.filter((r) => (r.attempts ?? 0) > 1);
    expect(retaken.length).toBeGreaterThan(0);
    for (const tag of tags) {
      const calls = rig.server.requests.filter((r) => contentOf(r.body) === tag).length;
      expect(calls).toBeLessThanOrEqual(2);
    }
  });

  it('cancels from another instance and closes the provider connection', async () => {
    const instances = await cluster(2, 2, true);
    instances[0]!.send({ op: 'submit', tag: 'long', model: 'fault:ok:latency=15000' });
    const submitted = await instances[0]!.waitFor((l) => l.event === 'submitted' && l.tag === 'long');
    const request = await rig.server.waitForRequest((r) => contentOf(r.body) === 'long');
    instances[0]!.send({ op: 'cancel', id: submitted.id });
    const result = await instances[0]!.waitFor((l) => l.event === 'result' && l.tag === 'long');
    expect(result).toMatchObject({ ok: false, code: 'CANCELLED' });
    await rig.server.waitForClose(request);
    expect(request.completed).toBe(false);
  });
});
