/**
 * A stream its vendor's safety review stopped after text went out (Kimi's `content_filter`) ends
 * `CONTENT_FILTERED` with `withdrawn: true` and no `partial` (docs/runtime.md, "What a failed
 * stream had written"). On Redis that result is built on the instance that ran the session and
 * reaches the others as JSON, in its `session.ended` on the bus and in its result key: the caller
 * on another instance, and that instance's subscribers, must read it as it was built. Real
 * redis-server; the local OpenAI-compatible server plays Moonshot.
 */
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { systemClock } from '../../src/core/clock.js';
import { createKimiProvider } from '../../src/providers/kimi.js';
import { createRuntime } from '../../src/runtime/runtime.js';
import type { Runtime, SessionResult } from '../../src/runtime/types.js';
import { redisBackend } from '../../src/scale/redis-backend.js';
import { RedisKeys, RedisSessionStore } from '../../src/scale/redis-store.js';
import { useRedisRig } from '../support/redis-rig.js';
import { contentWritten } from '../support/written.js';

const rig = useRedisRig();
const PREFIX = 'withdrawn';

async function instance(work: boolean): Promise<Runtime> {
  const runtime = createRuntime({
    providers: [createKimiProvider({ baseURL: rig.server.baseURL, apiKey: 'k' })],
    defaults: { model: 'kimi-k2.6' },
    backend: await redisBackend({ url: rig.redis.url, prefix: PREFIX, work }),
  });
  rig.open.push(runtime);
  await runtime.ready;
  return runtime;
}

/** The `session.ended` results `runtime`'s subscribers hear. */
function endsHeard(runtime: Runtime): SessionResult[] {
  const ends: SessionResult[] = [];
  runtime.subscribe((event) => {
    if (event.type === 'session.ended') ends.push(event.result as SessionResult);
  });
  return ends;
}

describe('a stream the review stopped, run on another instance', () => {
  it('reaches its caller and every instance’s subscribers withdrawn, as the instance that ran it built it', async () => {
    rig.server.setResponder(() => ({ content: 'half an answer', finishReason: 'content_filter' }));
    const front = await instance(false);
    const worker = await instance(true);
    const heard = { front: endsHeard(front), worker: endsHeard(worker) };
    const handle = front.submit(
      { messages: [{ role: 'user', content: 'q' }], stream: true },
      { timeoutMs: 20_000 },
    );
    const written = await contentWritten(handle);
    const result = await handle.result;
    expect(written).toBe('half an answer');
    expect(result).toMatchObject({
      ok: false,
      error: { code: 'CONTENT_FILTERED' },
      withdrawn: true,
      metadata: { state: 'failed', attempts: 1 },
    });
    expect('partial' in result).toBe(false);
    // The worker built it; the front read it off the bus: the same result, field for field.
    await expect.poll(() => heard.front.length + heard.worker.length).toBe(2);
    expect(heard.worker).toStrictEqual([result]);
    expect(heard.front).toStrictEqual([result]);
  });
});

describe('a withdrawn result in the store', () => {
  it('reads back the same on another instance’s connection', async () => {
    const keys = new RedisKeys(`${PREFIX}-store`);
    const writer = new Redis(rig.redis.url);
    const reader = new Redis(rig.redis.url);
    try {
      const written = new RedisSessionStore(writer, keys, 'ran-it', 10, systemClock);
      const other = new RedisSessionStore(reader, keys, 'other', 10, systemClock);
      const withdrawn: SessionResult = {
        ok: false,
        error: {
          family: 'provider',
          code: 'CONTENT_FILTERED',
          message: 'Expected an answer, got finish_reason `content_filter` after 14 character(s)',
          retryable: false,
        },
        withdrawn: true,
        metadata: {
          sessionId: 's-withdrawn',
          requestId: 'r',
          provider: 'kimi',
          model: 'kimi-k2.6',
          priority: 0,
          state: 'failed',
          code: 'CONTENT_FILTERED',
          queuedMs: 0,
          runMs: 40,
          totalMs: 40,
          attempts: 1,
        },
      };
      expect(await written.settle(withdrawn, 'chat', 1)).toBe(true);
      expect(await other.result('s-withdrawn')).toStrictEqual(withdrawn);
    } finally {
      writer.disconnect();
      reader.disconnect();
    }
  });
});
