/**
 * A failed stream's partial answer across instances: the session runs on one instance (the worker)
 * and its caller waits on another (the front), on a real Redis. The result the front reads is the
 * one the worker built and stored, `partial` included, and it is the text the front's observers got.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOpenAICompatibleProvider } from '../../src/providers/openai-compatible.js';
import { createRuntime } from '../../src/runtime/runtime.js';
import type { Runtime } from '../../src/runtime/types.js';
import { redisBackend } from '../../src/scale/redis-backend.js';
import { createOpenAIServer, type OpenAIServer } from '../../src/testing/openai-server.js';
import { type RedisServer, startRedis } from '../support/redis.js';
import { contentWritten } from '../support/written.js';

let redis: RedisServer;
let server: OpenAIServer;
beforeAll(async () => {
  redis = await startRedis();
  server = createOpenAIServer();
  await server.start();
});
afterAll(async () => {
  await server?.close();
  await redis?.stop();
});

async function instance(work: boolean, prefix = 'partial-answer'): Promise<Runtime> {
  const runtime = createRuntime({
    providers: [createOpenAICompatibleProvider({ name: 'p', baseURL: server.baseURL, apiKey: 'k' })],
    limits: { perProvider: { p: 4 } },
    defaults: { model: 'fault:ok', maxAttempts: 2 },
    backend: await redisBackend({ url: redis.url, prefix, work }),
  });
  await (runtime as Runtime & { ready: Promise<void> }).ready;
  return runtime;
}

/**
 * Submits a slow stream through `via` and calls `stop` once 8 characters reached the caller;
 * resolves with the result, the text the caller got, and what `stop` returned.
 */
async function streamStoppedMidAnswer(via: Runtime, stop: () => Promise<unknown>) {
  const handle = via.submit(
    {
      model: 'fault:ok:chunk-ms=150',
      messages: [{ role: 'user', content: 'one two three four five six seven eight nine ten' }],
      stream: true,
    },
    { timeoutMs: 20_000 },
  );
  let stopping: Promise<unknown> | undefined;
  const written = await contentWritten(handle, (text) => {
    if (stopping === undefined && text.length >= 8) stopping = stop();
  });
  const result = await handle.result;
  await stopping;
  expect(written.length).toBeGreaterThanOrEqual(8);
  return { result, written };
}

describe('a stream cut mid-answer on another instance', () => {
  it('reaches its caller failed, with the text its observers got as partial', async () => {
    const front = await instance(false);
    const worker = await instance(true);
    try {
      const handle = front.submit(
        {
          model: 'fault:reset-mid:after=4:chunk-ms=20',
          messages: [{ role: 'user', content: 'one two three four five six seven' }],
          stream: true,
        },
        { timeoutMs: 20_000 },
      );
      const written = await contentWritten(handle);
      const result = await handle.result;
      expect([result.metadata.state, result.metadata.code, result.metadata.attempts]).toEqual([
        'failed',
        'NETWORK',
        1,
      ]);
      expect(written).toMatch(/^echo: \S/);
      expect(result.ok ? undefined : result.partial).toStrictEqual({ content: written });
    } finally {
      await front.shutdown({ deadlineMs: 100 });
      await worker.shutdown({ deadlineMs: 100 });
    }
  });

  it('a worker shut down mid-answer ends the stream itself, cancelled, with what it wrote; it is not handed on', async () => {
    // Before 2026-12-04 it was handed back: the instance that took it ended it cancelled without a
    // word of its text, since running it again would repeat the deltas.
    const front = await instance(false, 'partial-shutdown');
    const worker = await instance(true, 'partial-shutdown');
    let next: Runtime | undefined;
    try {
      const { result, written } = await streamStoppedMidAnswer(front, () => {
        // Another worker, as a cluster would have: before, it took the session over.
        void instance(true, 'partial-shutdown').then((runtime) => {
          next = runtime;
        });
        return worker.shutdown({ deadlineMs: 10 });
      });
      expect(result.metadata.state).toBe('cancelled');
      expect(result.ok ? '' : result.error.message).toMatch(/stream's deltas reached observers/);
      expect(result.ok ? undefined : result.partial).toStrictEqual({ content: written });
    } finally {
      await front.shutdown({ deadlineMs: 100 });
      await worker.shutdown({ deadlineMs: 100 });
      await next?.shutdown({ deadlineMs: 100 });
    }
  });

  it.each(['leave', 'cancel'] as const)(
    'a caller on the instance that shuts down mid-answer gets the partial too (unfinished: %s)',
    async (unfinished) => {
      // Before 2026-12-04 its wait ended at once with SHUTTING_DOWN ("it goes on in the cluster"),
      // without the text: the session had in fact ended here (`troupe serve --redis` is 'cancel').
      const only = await instance(true, `partial-own-${unfinished}`);
      const { result, written } = await streamStoppedMidAnswer(only, () =>
        only.shutdown({ deadlineMs: 10, unfinished }),
      );
      expect(result.metadata.state).toBe('cancelled');
      expect(result.ok ? undefined : result.partial).toStrictEqual({ content: written });
    },
  );
});
