/**
 * The longest deadlines `createRuntime` takes (from 1 to 2147483647 ms each) hold on every backend.
 * A cluster's submitter keeps a backstop at the queue and run deadlines plus a grace; past Node's
 * timer range (2^31 - 1 ms) a timer fires at once, so a session whose two deadlines summed past it
 * ended as `TIMED_OUT` within milliseconds, with a message naming a run it never had ("found by an
 * audit"). Now such a time is waited for in steps (`atTime`). One instance, a memory cluster and
 * Redis (a real `redis-server`).
 */
import { expect, it } from 'vitest';
import { MAX_TIMER_MS } from '../../src/core/clock.js';
import { createSimulatedProvider } from '../../src/testing/index.js';
import { EVERY_BACKEND, everyBackend } from '../support/every-backend.js';

const runtimeOn = everyBackend('long');

it.each(EVERY_BACKEND)('a session with both deadlines at their longest answers (%s)', async (backend) => {
  const runtime = await runtimeOn(backend, {
    providers: [createSimulatedProvider({ name: 'sim', latencyMs: { min: 300, max: 300 } })],
    defaults: { provider: 'sim', model: 'sim-fast' },
  });
  const options = { queueTimeoutMs: MAX_TIMER_MS, timeoutMs: MAX_TIMER_MS };
  const result = await runtime.submit({ messages: [{ role: 'user', content: 'hi' }] }, options).result;
  expect(result.ok ? 'done' : `${result.error.code}: ${result.error.message}`).toBe('done');
});
