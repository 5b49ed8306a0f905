/**
 * What an MCP client reads when Redis is down: `BACKEND_UNAVAILABLE` with `retryable: false`, which
 * says only that troupe does not retry it within the call (docs/mcp.md), and a hint that says to
 * call again. Until 2026-12-07 the refusal's own message ended "retry later" and the hint said only
 * "Retry later." beside `retryable: false`: read as the usual meaning of the field, the error
 * contradicted itself (and a client could give up on a call worth making again).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { TroupeError } from '../../src/core/errors.js';
import { toolErrorFrom } from '../../src/mcp/errors.js';
import { createSimulatedProvider } from '../../src/providers/simulated.js';
import { createRuntime } from '../../src/runtime/runtime.js';
import type { Runtime } from '../../src/runtime/types.js';
import { redisBackend } from '../../src/scale/redis-backend.js';
import { type RedisServer, startRedis } from '../support/redis.js';

let redis: RedisServer;
let runtime: Runtime | undefined;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.restart(); // a close with Redis away waits out its bound
  await runtime?.shutdown({ deadlineMs: 0 });
  await redis?.stop();
});

it('a call refused while Redis is down says what came, and its hint says troupe did not retry it and to call again', async () => {
  runtime = createRuntime({
    providers: [createSimulatedProvider({ latencyMs: { min: 0, max: 0 } })],
    defaults: { model: 'sim-fast' },
    backend: await redisBackend({ url: redis.url, prefix: 'advice' }),
    onError: () => {},
  });
  await (runtime as Runtime & { ready: Promise<void> }).ready;
  await redis.stop();
  let refused: unknown;
  for (let i = 0; i < 50 && refused === undefined; i++) {
    try {
      await runtime.submit({ messages: [{ role: 'user', content: 'hi' }] }).result;
      await new Promise((resolve) => setTimeout(resolve, 100));
    } catch (error) {
      refused = error;
    }
  }
  expect(refused).toBeInstanceOf(TroupeError);
  const info = toolErrorFrom(refused);
  expect(info).toMatchObject({ code: 'BACKEND_UNAVAILABLE', retryable: false });
  expect(info.message).toMatch(/^Expected Redis to be reachable, got a connection that is \w+$/);
  expect(info.message).not.toMatch(/retry/i);
  expect(info.hint).toContain('troupe does not retry a call for it (so retryable is false)');
  expect(info.hint).toContain('call again in a few seconds');
}, 30_000);
