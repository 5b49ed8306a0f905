/**
 * A session run twice because its lease lapsed: its instance was frozen past the lock (a stopped
 * process here; a Redis freeze longer than the lock does the same to every instance), and another
 * instance took it over and called the provider again. Once one run has ended the session, the
 * other stops, its provider call with it: it would go on to its own end, a second paid call holding
 * a slot for a session already ended (found in an audit: 6.6 s and 7.5 s of such calls). And the
 * run whose lease lapsed stops as soon as its instance learns that another holds the lease (its next
 * lock renewal fails: `src/scale/relock.ts`), not when the other's call ends: a soak of the kill
 * property, 2026-12-07, found a worker starved of CPU whose call went out after its job was moved
 * and overlapped the taker's. Separate troupe processes on a real redis-server. Needs the build.
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

const start = (prefix: string, index: number, work: boolean): Promise<Instance> =>
  startInstance(
    { redisUrl: rig.redis.url, providerBaseURL: rig.server.baseURL, prefix, limit: 4, index, work },
    children,
  );

/**
 * A session of `latencyMs` submitted through a front to two workers; the worker whose call arrives
 * first is frozen (SIGSTOP) past its lock (1.5 s, looked at every 0.5 s) until the other worker's
 * takeover call arrives, then thawed (`resumedAt`). The front only submits; both workers are up
 * before the session is, so the call cannot end before there is a second worker to take it over (a
 * worker started once the call had begun took longer than 5 s to start on a loaded machine: the
 * call ended, and nothing was ever run twice).
 */
async function frozenUntilTakenOver(prefix: string, tag: string, latencyMs: number) {
  const [front, ...workers] = await Promise.all([
    start(prefix, 0, false),
    start(prefix, 1, true),
    start(prefix, 2, true),
  ]);
  front.send({ op: 'submit', tag, model: `fault:ok:latency=${latencyMs}`, timeoutMs: 60_000 });
  const one = await rig.server.waitForRequest((r) => contentOf(r.body) === tag);
  const first = workers[Number(one.headers['x-instance']) - 1]!;
  first.child.kill('SIGSTOP');
  try {
    const two = await rig.server.waitForRequest((r) => contentOf(r.body) === tag && r.id !== one.id);
    return { front, one, two };
  } finally {
    first.child.kill('SIGCONT');
  }
}

describe('a session whose lease lapsed while it ran', () => {
  it('stops the lapsed run’s call once its instance runs again and learns another holds the lease', async () => {
    const tag = 'lost-lease';
    // Long enough that neither call ends by itself while the test looks.
    const { front, one, two } = await frozenUntilTakenOver('lost', tag, 8_000);
    const resumedAt = Date.now();
    // Its next renewal (due at once: it was frozen past it) fails, and the lock bears the taker's
    // token: the lapsed run's call is cut well before its 8 s, while the taker's goes on.
    await closed(one, 4_000);
    expect(one.completed).toBe(false);
    expect(one.closedAt! - resumedAt).toBeLessThan(3_000);
    expect(two.closedAt).toBeUndefined();
    const result = await front.waitFor((l) => l.event === 'result' && l.tag === tag, 30_000);
    expect(result.ok).toBe(true);
    expect(two.completed).toBe(true);
    expect(rig.server.requests.filter((r) => contentOf(r.body) === tag)).toHaveLength(2);
  });

  it('is ended once, one run answered whole and the other’s call cut', async () => {
    const tag = 'lapsed-lease';
    const { front, one, two } = await frozenUntilTakenOver('lapse', tag, 5_000);
    expect([one, two].map((r) => r.headers['x-instance']).sort()).toEqual(['1', '2']);
    const result = await front.waitFor((l) => l.event === 'result' && l.tag === tag, 30_000);
    expect(result.ok).toBe(true);
    // One run answered whole; the other was stopped, its response cut before the 5 s latency: the
    // frozen one as its instance learns the lease is another's (above), or the taker once the frozen
    // one has ended the session first (`LeaseRunner.endedElsewhere`).
    await Promise.all([closed(one, 20_000), closed(two, 20_000)]);
    expect([one.completed, two.completed].sort()).toEqual([false, true]);
    expect(rig.server.requests.filter((r) => contentOf(r.body) === tag)).toHaveLength(2);
  });
});
