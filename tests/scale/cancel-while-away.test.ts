/**
 * A cancel made while Redis is down, of a session running on another instance: it is tried again
 * until Redis takes it, and the instance running the session, once its subscription is back,
 * stops the run and its provider call (the cancel reaches it on the bus, or from the mark it reads
 * after the cut). Until 2026-12-05 the cancel was tried once: the session ran on, its provider call
 * with it, to its run deadline (an audit: 39 s of a call cancelled by its MCP client during a 2 s
 * outage). Redis comes back empty here (no persistence), as after a restart. And a cancel published
 * while only the subscriptions are cut (pub/sub keeps nothing for them) is found by its mark.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { ChatProvider } from '../../src/providers/port.js';
import { createRuntime } from '../../src/runtime/runtime.js';
import type { Runtime } from '../../src/runtime/types.js';
import { redisBackend } from '../../src/scale/redis-backend.js';
import { type RedisServer, startRedis } from '../support/redis.js';

let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});

/** Every call waits until its signal aborts; `calls` and `aborted` count them. */
function hanging() {
  const seen = { calls: 0, aborted: 0 };
  const provider = {
    name: 'p',
    async complete(_request: unknown, options: { signal: AbortSignal }) {
      seen.calls++;
      await new Promise<void>((_, reject) =>
        options.signal.addEventListener('abort', () => {
          seen.aborted++;
          reject(options.signal.reason);
        }),
      );
      return { content: 'never' };
    },
    // biome-ignore lint/correctness/useYield: not streamed here.
    async *stream() {
      throw new Error('not used');
    },
  } as unknown as ChatProvider;
  return { provider, seen };
}

async function until(check: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${what} within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

it('a cancel made while Redis is down reaches the run on another instance once Redis is back', async () => {
  const prefix = 'cancel-away';
  const front = hanging();
  const worker = hanging();
  const quiet = () => {}; // the outage's refused background commands
  const a: Runtime = createRuntime({
    providers: [front.provider],
    defaults: { model: 'm' },
    backend: await redisBackend({ url: redis.url, prefix, work: false }),
    onError: quiet,
  });
  const b: Runtime = createRuntime({
    providers: [worker.provider],
    defaults: { model: 'm' },
    backend: await redisBackend({ url: redis.url, prefix }),
    onError: quiet,
  });
  try {
    await Promise.all([a, b].map((r) => (r as Runtime & { ready: Promise<void> }).ready));
    const handle = a.submit({ messages: [{ role: 'user', content: 'cancel me' }] }, { timeoutMs: 25_000 });
    await until(() => worker.seen.calls === 1, 10_000, 'Expected the call to start on the worker');

    await redis.stop();
    // Once the instances know Redis is gone (a command written before that is sent again on reconnect).
    await new Promise((r) => setTimeout(r, 500));
    expect(a.cancel(handle.id, 'the caller went away')).toBe(true);
    await new Promise((r) => setTimeout(r, 500));
    expect(worker.seen.aborted).toBe(0); // nothing could reach it yet
    await redis.restart();

    // Reconnects back off up to 1 s; the retry is every 500 ms.
    await until(() => worker.seen.aborted === 1, 6000, 'Expected the provider call to be aborted');
    const result = await handle.result;
    expect(result.metadata.state).toBe('cancelled');
    expect(worker.seen.calls).toBe(1);
    expect(front.seen.calls).toBe(0);
  } finally {
    await Promise.all([a.shutdown({ deadlineMs: 0 }), b.shutdown({ deadlineMs: 0 })]);
  }
}, 30_000);

it('a cancel published while the running instance’s subscription is cut stops the run once it is back', async () => {
  const prefix = 'cancel-cut';
  const worker = hanging();
  const a: Runtime = createRuntime({
    providers: [hanging().provider],
    defaults: { model: 'm' },
    backend: await redisBackend({ url: redis.url, prefix, work: false }),
  });
  const b: Runtime = createRuntime({
    providers: [worker.provider],
    defaults: { model: 'm' },
    backend: await redisBackend({ url: redis.url, prefix }),
  });
  const admin = new Redis(redis.url);
  try {
    await Promise.all([a, b].map((r) => (r as Runtime & { ready: Promise<void> }).ready));
    const handle = a.submit({ messages: [{ role: 'user', content: 'cancel me' }] }, { timeoutMs: 25_000 });
    await until(() => worker.seen.calls === 1, 10_000, 'Expected the call to start on the worker');
    // Every subscription cut (they come back within 100 ms); the mark and the message go out at once.
    await admin.client('KILL', 'TYPE', 'pubsub');
    expect(a.cancel(handle.id, 'the caller went away')).toBe(true);

    await until(() => worker.seen.aborted === 1, 5000, 'Expected the provider call to be aborted');
    expect((await handle.result).metadata.state).toBe('cancelled');
  } finally {
    admin.disconnect();
    await Promise.all([a.shutdown({ deadlineMs: 0 }), b.shutdown({ deadlineMs: 0 })]);
  }
}, 30_000);
