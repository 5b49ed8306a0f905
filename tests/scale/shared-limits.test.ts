/**
 * Limits in providers' own units shared by separate troupe processes on one Redis: a provider's
 * `requestsPerMinute` holds across all of them, not per process. Against the local
 * OpenAI-compatible server, which counts the requests it received. Needs the build
 * (`npx tsc -p tsconfig.build.json`).
 */
import { describe, expect, it } from 'vitest';
import { contentOf, type Instance, startInstance, useRig } from './fixtures/processes.js';

const rig = useRig();
const children = rig.children;

const PROCESSES = 3;
const REQUESTS_PER_MINUTE = 3;
const SESSIONS = 9;
/** Long enough for every process to lease and try its sessions, far short of the minute. */
const QUEUE_TIMEOUT_MS = 4000;

describe('limits in providers units across processes on one Redis', () => {
  it('lets through at most requestsPerMinute calls a minute from all processes together', async () => {
    const instances: Instance[] = await Promise.all(
      Array.from({ length: PROCESSES }, (_, index) =>
        startInstance(
          {
            redisUrl: rig.redis.url,
            providerBaseURL: rig.server.baseURL,
            prefix: 'rpm',
            // Room to run every session at once: only requestsPerMinute may hold them.
            limit: SESSIONS,
            index,
            work: true,
            providerLimits: { requestsPerMinute: REQUESTS_PER_MINUTE },
          },
          children,
        ),
      ),
    );
    const tags = Array.from({ length: SESSIONS }, (_, i) => `r${i}`);
    tags.forEach((tag, i) => {
      instances[i % PROCESSES]!.send({ op: 'submit', tag, queueTimeoutMs: QUEUE_TIMEOUT_MS });
    });
    const results = await Promise.all(
      tags.map((tag, i) =>
        instances[i % PROCESSES]!.waitFor((l) => l.event === 'result' && l.tag === tag, 30_000),
      ),
    );

    // Exactly the window's worth reached the server, whichever processes sent them.
    const called = rig.server.requests.map((r) => contentOf(r.body));
    expect(called.length).toBe(REQUESTS_PER_MINUTE);
    expect(new Set(called).size).toBe(REQUESTS_PER_MINUTE);
    const ok = results.filter((r) => r.ok);
    expect(ok.map((r) => r.tag).sort()).toEqual([...called].sort());
    // The others waited in the queue, never started, until their queue deadline.
    const held = results.filter((r) => !r.ok);
    expect(held.length).toBe(SESSIONS - REQUESTS_PER_MINUTE);
    for (const r of held) {
      expect(r.code).toBe('TIMED_OUT');
      expect(r.message).toContain(`to start within ${QUEUE_TIMEOUT_MS} ms of queueing`);
      // What held it, as in memory: every process sees the hold another one recorded.
      expect(r.message).toContain("held back by its provider's requestsPerMinute limit");
      expect(r.waitingFor).toBe('requestsPerMinute');
    }
  }, 60_000);
});
