/**
 * A session that hopped to its fallback's queue while its submitter was cut off from Redis (it heard
 * neither the session's start nor its hop): the submitter's reconnect looks for it (`OwnersHere.recover`),
 * finds no job in the queue it was submitted to and no end, and its run record: it runs on, and its
 * caller gets its answer. Until 2026-12-07 that look ended it `BACKEND_UNAVAILABLE` ("Redis came back
 * without the queued session", meant for a server back empty) while it ran on its fallback, whose
 * answer was then lost. Found by reading `recover` while tracing the kill property's failing replay
 * of that message (seed 2137992420; that one was the failed move back's job loss, fixed before).
 *
 * Real Redis and BullMQ: a front whose store's and bus's connection goes through a proxy (BullMQ's
 * do not), and a worker started once the front is cut off.
 */
import { Redis } from 'ioredis';
import { expect, it } from 'vitest';
import type { SessionStore } from '../../src/runtime/ports.js';
import { createRuntime } from '../../src/runtime/runtime.js';
import { redisBackend } from '../../src/scale/redis-backend.js';
import { ScriptedProvider } from '../../src/testing/scripted-provider.js';
import { useRedisServer } from '../support/redis-file.js';
import { wrappedRedisBackend } from '../support/redis-ports.js';
import { proxyRedis } from '../support/redis-proxy.js';

const redis = useRedisServer();

it('keeps a session that hopped while its submitter was cut off: its reconnect does not end it', async () => {
  const proxy = await proxyRedis(Number(new URL(redis.url).port));
  const prefix = 'hopreconnect';
  const [p, q] = [new ScriptedProvider('p'), new ScriptedProvider('q')];
  // The front's reads of a result: its reconnect's look reads it last.
  const looks = { after: false, done: 0 };
  const front = createRuntime({
    providers: [p, q],
    defaults: { model: 'm', maxAttempts: 1 },
    backend: await wrappedRedisBackend(
      { url: redis.url, storeUrl: proxy.url, prefix, instanceId: 'front', work: false, sweepIntervalMs: 500 },
      (ports) => {
        const store: SessionStore = Object.create(ports.store);
        store.result = (id) =>
          ports.store.result(id).finally(() => {
            if (looks.after) looks.done++;
          });
        return { ...ports, store };
      },
    ),
  });
  redis.runtimes.push(front);
  await front.ready;
  const handle = front.submit(
    {
      provider: 'p',
      messages: [{ role: 'user', content: 'hop' }],
      fallbacks: [{ provider: 'q', model: 'm' }],
    },
    { queueTimeoutMs: 20_000 },
  );
  // Its job and its summary landed before the cut.
  const admin = new Redis(redis.url);
  await expect
    .poll(
      async () => [
        await admin.exists(`${prefix}:p:${handle.id}`),
        await admin.hexists(`${prefix}:live`, handle.id),
      ],
      {
        timeout: 5_000,
      },
    )
    .toEqual([1, 1]);
  admin.disconnect();
  await proxy.cut();
  const worker = createRuntime({
    providers: [p, q],
    defaults: { model: 'm', maxAttempts: 1 },
    backend: await redisBackend({ url: redis.url, prefix }),
  });
  redis.runtimes.push(worker);
  await worker.ready;
  await expect.poll(() => p.pending().length, { timeout: 8_000 }).toBe(1);
  // p fails: the session hops to q's queue, and its job on p ends.
  p.pending()[0]?.settle('retryable');
  await expect.poll(() => q.pending().length, { timeout: 8_000 }).toBe(1);
  looks.after = true;
  await proxy.restore();
  await expect.poll(() => looks.done, { timeout: 15_000 }).toBeGreaterThan(0);
  // Time for an end the look would make (written, then told here) before q answers.
  await new Promise((resolve) => setTimeout(resolve, 500));
  q.pending()[0]?.settle('ok');
  expect(await handle.result).toMatchObject({ ok: true, metadata: { attempts: 2 } });
  expect([p.calls.length, q.calls.length]).toEqual([1, 1]);
}, 60_000);
