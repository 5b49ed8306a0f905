/**
 * A session run twice because its lease lapsed: its instance was frozen past the lock (a stopped
 * process here; a Redis freeze longer than the lock does the same to every instance), and another
 * instance took it over and called the provider again. Once one run has ended the session, the
 * other stops, its provider call with it: it would go on to its own end, a second paid call holding
 * a slot for a session already ended (found in an audit: 6.6 s and 7.5 s of such calls). Separate
 * troupe processes on a real redis-server. Needs the build.
 */
import { describe, expect, it } from 'vitest';
import type { RecordedRequest } from '../../src/testing/openai-server.js';
import { contentOf, type Instance, startInstance, useRig } from './fixtures/processes.js';

const rig = useRig();
const children = rig.children;

/** Resolves with `request` once its response has closed, or rejects after `ms`. */
function closed(request: RecordedRequest, ms: number): Promise<RecordedRequest> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`request ${request.id} still open after ${ms} ms`)), ms);
    rig.server.waitForClose(request).then(() => {
      clearTimeout(timer);
      resolve(request);
    });
  });
}

describe('a session whose lease lapsed while it ran', () => {
  it('is ended once, and its other run stops its provider call as soon as one run has ended it', async () => {
    const start = (index: number, work: boolean): Promise<Instance> =>
      startInstance(
        {
          redisUrl: rig.redis.url,
          providerBaseURL: rig.server.baseURL,
          prefix: 'lapse',
          limit: 4,
          index,
          work,
        },
        children,
      );
    // The front only submits; both workers are up before the session is, so the 5 s call cannot end
    // before there is a second worker to take it over (a worker started once the call had begun took
    // longer than 5 s to start on a loaded machine: the call ended, and nothing was ever run twice).
    const [front, ...workers] = await Promise.all([start(0, false), start(1, true), start(2, true)]);
    const tag = 'lapsed-lease';
    front.send({ op: 'submit', tag, model: 'fault:ok:latency=5000', timeoutMs: 60_000 });
    const one = await rig.server.waitForRequest((r) => contentOf(r.body) === tag);
    const first = workers[Number(one.headers['x-instance']) - 1]!;
    // Frozen past its lock (1.5 s, looked at every 0.5 s): the other worker takes the session over.
    first.child.kill('SIGSTOP');
    let two: RecordedRequest;
    try {
      two = await rig.server.waitForRequest((r) => contentOf(r.body) === tag && r.id !== one.id);
    } finally {
      first.child.kill('SIGCONT');
    }
    expect([one, two].map((r) => r.headers['x-instance']).sort()).toEqual(['1', '2']);
    const result = await front.waitFor((l) => l.event === 'result' && l.tag === tag, 30_000);
    expect(result.ok).toBe(true);
    // One run answered whole; the other was stopped, its response cut before the 5 s latency.
    await Promise.all([closed(one, 20_000), closed(two, 20_000)]);
    expect([one.completed, two.completed].sort()).toEqual([false, true]);
    expect(rig.server.requests.filter((r) => contentOf(r.body) === tag)).toHaveLength(2);
  });
});
