/**
 * A streamed session whose instance is killed (SIGKILL) after its deltas reached observers. In one
 * process such a session is never retried (`canRetry` only from `calling`: a retry would repeat the
 * deltas). Until 2026-12-03 the instance that took it over ran it again from the start: observers
 * got a second `session.started` and the same deltas again (a caller joining them read
 * "echo: one two thecho: one two three ..."), and the provider was called twice. Now the run record
 * says the stream began (`RunRecord.streamed`) and the takeover ends the session, uncalled.
 * Needs the build (the instances are processes: `npx tsc -p tsconfig.build.json`).
 */
import { describe, expect, it } from 'vitest';
import { createOpenAICompatibleProvider } from '../../src/providers/openai-compatible.js';
import { createRuntime } from '../../src/runtime/runtime.js';
import type { Runtime, SessionEvent } from '../../src/runtime/types.js';
import { redisBackend } from '../../src/scale/redis-backend.js';
import { contentOf, startInstance, useRig } from './fixtures/processes.js';

const rig = useRig();
const children = rig.children;

describe('a streamed session taken over after its deltas went out', () => {
  it('ends without a second call, and its observers never get a delta twice', async () => {
    const prefix = 'stream-takeover';
    const provider = createOpenAICompatibleProvider({ name: 'p', baseURL: rig.server.baseURL, apiKey: 'k' });
    // The caller's instance only submits; the one that runs the session is a process to kill.
    const front = createRuntime({
      providers: [provider],
      limits: { perProvider: { p: 4 } },
      defaults: { model: 'fault:ok', maxAttempts: 1 },
      backend: await redisBackend({ url: rig.redis.url, prefix, work: false }),
    });
    await (front as Runtime & { ready: Promise<void> }).ready;
    const start = (index: number) =>
      startInstance(
        { redisUrl: rig.redis.url, providerBaseURL: rig.server.baseURL, prefix, limit: 4, index, work: true },
        children,
      );
    const victim = await start(1);
    const tag = 'one two three four five six seven eight nine ten eleven twelve';
    const handle = front.submit(
      { model: 'fault:ok:chunk-ms=250', messages: [{ role: 'user', content: tag }], stream: true },
      { timeoutMs: 30_000 },
    );
    const events: SessionEvent[] = [];
    const collecting = (async () => {
      for await (const event of handle.events) events.push(event);
    })();
    // Deltas have reached the caller: kill the instance streaming them, and start another.
    const deltas = () => events.filter((e) => e.type === 'session.delta' && e.delta?.type === 'content');
    for (let i = 0; i < 100 && deltas().length < 2; i++) await new Promise((r) => setTimeout(r, 50));
    expect(deltas().length).toBeGreaterThanOrEqual(2);
    victim.child.kill('SIGKILL');
    await start(2);

    const result = await handle.result;
    await collecting;
    expect(result.ok).toBe(false);
    expect(result.metadata.state).toBe('cancelled');
    expect(result.ok ? '' : result.error.message).toContain('would repeat them');
    // Its metadata is the run's: one attempt, started before the kill.
    expect(result.metadata.attempts).toBe(1);
    // One call to the provider, and each delta once: what the caller joined is a prefix of the answer.
    expect(rig.server.requests.filter((r) => contentOf(r.body) === tag)).toHaveLength(1);
    expect(events.filter((e) => e.type === 'session.started')).toHaveLength(1);
    const joined = deltas()
      .map((e) => (e.type === 'session.delta' && e.delta?.type === 'content' ? e.delta.text : ''))
      .join('');
    expect(`echo: ${tag}`.startsWith(joined), joined).toBe(true);
    await front.shutdown({ deadlineMs: 500 });
  }, 30_000);

  it("frees the provider's maxConcurrent slot its lost call held, at once rather than at its run deadline", async () => {
    // Until 2026-12-03 a takeover that ended the session without a call (this one, or one cancelled
    // while its instance was dead) left the dead call's slot held until its lapse, the session's
    // run deadline: with maxConcurrent 1 the next session waited about 30 s here.
    const prefix = 'stream-takeover-slot';
    const limits = { maxConcurrent: 1 };
    const provider = createOpenAICompatibleProvider({ name: 'p', baseURL: rig.server.baseURL, apiKey: 'k' });
    const front = createRuntime({
      providers: [provider],
      limits: { perProvider: { p: 4 }, providers: { p: limits } },
      defaults: { model: 'fault:ok', maxAttempts: 1 },
      backend: await redisBackend({ url: rig.redis.url, prefix, work: false }),
    });
    await (front as Runtime & { ready: Promise<void> }).ready;
    const start = (index: number) =>
      startInstance(
        {
          redisUrl: rig.redis.url,
          providerBaseURL: rig.server.baseURL,
          prefix,
          limit: 4,
          index,
          work: true,
          providerLimits: limits,
        },
        children,
      );
    const victim = await start(3);
    const tag = 'slot one two three four five six seven eight nine ten';
    const handle = front.submit(
      { model: 'fault:ok:chunk-ms=250', messages: [{ role: 'user', content: tag }], stream: true },
      { timeoutMs: 30_000 },
    );
    await rig.server.waitForRequest((r) => contentOf(r.body) === tag);
    await new Promise((r) => setTimeout(r, 600));
    victim.child.kill('SIGKILL');
    await start(4);
    const first = await handle.result;
    expect(first.metadata.state).toBe('cancelled');

    const startedAt = Date.now();
    const next = await front.submit(
      { messages: [{ role: 'user', content: 'after the takeover' }] },
      { timeoutMs: 30_000, queueTimeoutMs: 30_000 },
    ).result;
    expect(next.ok).toBe(true);
    expect(Date.now() - startedAt).toBeLessThan(5_000);
    await front.shutdown({ deadlineMs: 500 });
  }, 30_000);
});
