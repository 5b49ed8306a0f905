/**
 * A stream running on an instance that is shutting down, whose lease lapsed and whose job that
 * same instance leased again: the new lease reaches the runner once the instance drains (a fetch
 * that was on its way). The stream cannot go anywhere else (its deltas went out: a taker could only
 * end it without its text), so the new lease joins the run here, which ends it at the drain
 * deadline with its `partial`. Handed back, another instance took the job and ended the session
 * first, `cancelled` without a word of its text, while this one was still ending it: two ends raced.
 *
 * Real redis-server and BullMQ. The test takes the job's lock away (a lease that lapsed) and holds
 * the second lease on its way to the runner until the instance drains, so the order is fixed.
 */
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { createOpenAICompatibleProvider } from '../../src/providers/openai-compatible.js';
import type { RuntimeBackend } from '../../src/runtime/backend.js';
import type { SessionQueue } from '../../src/runtime/ports.js';
import { createRuntime } from '../../src/runtime/runtime.js';
import type { Runtime, SessionResult } from '../../src/runtime/types.js';
import { redisBackend } from '../../src/scale/redis-backend.js';
import { wrappedRedisBackend } from '../support/redis-ports.js';
import { useRedisRig } from '../support/redis-rig.js';

const PREFIX = 'leased-again';
const rig = useRedisRig();

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(ok: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  for (let waited = 0; !ok(); waited += 20) {
    if (waited > timeoutMs) throw new Error(`Expected ${what} within ${timeoutMs} ms`);
    await sleep(20);
  }
}

/** Holds each session's second lease before it reaches the runner, until `open` resolves. */
interface Gate {
  arrived: boolean;
  release: () => void;
}

/** The Redis ports of the instance under test, its second leases held at `gate`. */
function gated(gate: Gate): Promise<RuntimeBackend> {
  const leases = new Map<string, number>();
  const open = new Promise<void>((resolve) => {
    gate.release = resolve;
  });
  const options = {
    url: rig.redis.url,
    prefix: PREFIX,
    instanceId: 'closing',
    work: true,
    sweepIntervalMs: 1000,
  };
  return wrappedRedisBackend(options, (ports) => {
    const queue: SessionQueue = Object.create(ports.queue);
    queue.lease = (run) =>
      ports.queue.lease(async (lease) => {
        const id = lease.session.input.sessionId;
        const count = (leases.get(id) ?? 0) + 1;
        leases.set(id, count);
        if (count === 2) {
          gate.arrived = true;
          await open;
        }
        return run(lease);
      });
    return { ...ports, queue };
  });
}

async function runtimeOn(backend: RuntimeBackend): Promise<Runtime> {
  const runtime = createRuntime({
    providers: [createOpenAICompatibleProvider({ name: 'p', baseURL: rig.server.baseURL, apiKey: 'k' })],
    defaults: { model: 'fault:ok', maxAttempts: 2 },
    onError: () => {},
    backend,
  });
  rig.open.push(runtime);
  await runtime.ready;
  return runtime;
}

const plain = (work: boolean) => redisBackend({ url: rig.redis.url, prefix: PREFIX, work });

describe('a stream leased again by the instance running it, once that instance drains', () => {
  it('is joined, not handed back: it ends once, at the drain deadline, with its partial', async () => {
    const gate: Gate = { arrived: false, release: () => {} };
    const closing = await runtimeOn(await gated(gate));
    const front = await runtimeOn(await plain(false));
    const raw = new Redis(rig.redis.url);
    try {
      const words = Array.from({ length: 60 }, (_, i) => `w${i}`).join(' ');
      const handle = front.submit(
        { model: 'fault:ok:chunk-ms=150', messages: [{ role: 'user', content: words }], stream: true },
        { timeoutMs: 30_000 },
      );
      let written = '';
      const reading = (async () => {
        for await (const event of handle.events)
          if (event.type === 'session.delta' && event.delta.type === 'content') written += event.delta.text;
      })();
      await until(() => written.length >= 8, 'the stream to reach its caller');
      // Its lock taken away, as a lease that lapsed: the instance's stalled check puts the job back,
      // and its own Worker leases it again; that lease is held on its way.
      await raw.del(`${PREFIX}:p:${handle.id}:lock`);
      await until(() => gate.arrived, 'the second lease');
      const stopping = closing.shutdown({ deadlineMs: 3_000 });
      await until(() => closing.status().state === 'draining', 'the drain');
      gate.release();
      await sleep(300);
      // Another instance, which takes at once whatever went back to the queue.
      const other = await runtimeOn(await plain(true));
      const result: SessionResult = await handle.result;
      await reading;
      await stopping;
      expect(written.length).toBeGreaterThanOrEqual(8);
      // Ended here, at the drain deadline, with its text; the other instance ended nothing.
      expect([result.metadata.state, result.ok ? undefined : result.partial]).toEqual([
        'cancelled',
        { content: written },
      ]);
      expect(Object.values(other.metrics().ended).reduce((a, b) => a + b, 0)).toBe(0);
      expect(rig.server.requests.filter((r) => r.path.endsWith('/chat/completions'))).toHaveLength(1);
    } finally {
      raw.disconnect();
    }
  }, 40_000);
});
