/**
 * A session taken over from a killed instance (SIGKILL) on Redis, with a fallback chain: it resumes
 * on the target it had reached, its route so far kept. Separate troupe processes with the Kimi and
 * GLM presets against two local servers in Kimi and GLM modes. Needs the build
 * (`npx tsc -p tsconfig.build.json`).
 */
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOpenAIServer, type OpenAIServer } from '../../src/testing/openai-server.js';
import { type RedisServer, startRedis } from '../support/redis.js';
import { contentOf, type Instance, startInstance } from './fixtures/processes.js';

let redis: RedisServer;
let kimi: OpenAIServer;
let glm: OpenAIServer;
const children: ChildProcess[] = [];

beforeAll(async () => {
  redis = await startRedis();
  kimi = createOpenAIServer({ vendor: 'kimi' });
  glm = createOpenAIServer({ vendor: 'glm' });
  await Promise.all([kimi.start(), glm.start()]);
});
afterAll(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
  await Promise.all([kimi?.close(), glm?.close()]);
  await redis?.stop();
});

const chats = (server: OpenAIServer, tag: string) =>
  server.requests.filter((r) => r.path.endsWith('/chat/completions') && contentOf(r.body) === tag);

describe('a takeover on Redis resumes from the route target', () => {
  it('a session that hopped from kimi to glm before its instance was killed resumes on glm, its first hop kept', async () => {
    const start = (index: number, work: boolean): Promise<Instance> =>
      startInstance(
        {
          redisUrl: redis.url,
          providerBaseURL: kimi.baseURL,
          prefix: 'takeover',
          limit: 4,
          index,
          work,
          vendors: { kimi: kimi.baseURL, glm: glm.baseURL },
        },
        children,
      );
    // Instance 0 only submits; 1 and 2 run sessions, so the one that runs it can be killed.
    const [front, ...workers] = await Promise.all([start(0, false), start(1, true), start(2, true)]);
    const tag = 'hop-then-kill';
    front!.send({
      op: 'submit',
      tag,
      // Kimi answers its documented out-of-quota body (QUOTA_EXHAUSTED): the session hops to GLM,
      // whose answer takes long enough to kill the instance while it waits.
      model: 'vendor-error:kimi.quota',
      fallbacks: [{ provider: 'glm', model: 'fault:ok:latency=4000' }],
      timeoutMs: 30_000,
    });
    const onGlm = await glm.waitForRequest((r) => contentOf(r.body) === tag);
    const victim = Number(onGlm.headers['x-instance']);
    expect(victim === 1 || victim === 2).toBe(true);
    workers[victim - 1]!.child.kill('SIGKILL');

    const result = await front!.waitFor((l) => l.event === 'result' && l.tag === tag, 30_000);
    expect(result).toMatchObject({ ok: true, provider: 'glm' });
    // Taken up by the surviving instance, on glm again: kimi was called once, before the kill.
    expect(chats(kimi, tag)).toHaveLength(1);
    const glmCalls = chats(glm, tag);
    expect(glmCalls).toHaveLength(2);
    expect(Number(glmCalls[1]!.headers['x-instance'])).toBe(victim === 1 ? 2 : 1);
    // Kimi's call, glm's cut-off call, then glm's call after the takeover (a further attempt).
    expect(result.attempts).toBe(3);
    expect(result.route?.map((h) => [h.provider, h.model, h.outcome])).toEqual([
      ['kimi', 'vendor-error:kimi.quota', 'QUOTA_EXHAUSTED'],
      ['glm', 'fault:ok:latency=4000', 'done'],
    ]);
    // The glm turn counts from the hop, across the takeover: its cut-off call, the wait for the
    // lock to lapse and the call that answered.
    expect(result.route?.[1]?.ms).toBeGreaterThanOrEqual(4000);
  }, 60_000);
});
