/**
 * A call cancelled with `notifications/cancelled` that came in a 2025-era JSON-RPC batch with other
 * requests. The SDK answers nothing to a cancelled request, and its transport ends a POST's stream
 * only once every request the POST carried is answered: so the batch's stream stayed open for as
 * long as the client kept its connection, holding a request, a connection and a place in its
 * caller's open requests, and keeping its session from the idle sweep (found by hand, 2026-12-06: a
 * batch of a call and a `ping` still open 90 s after its call was cancelled). A POST of one request
 * was closed on its cancel already (`cancelled-post.test.ts`).
 */
import { afterEach, expect, it } from 'vitest';
import { createSimulatedProvider } from '../../../src/providers/simulated.js';
import { type Harness, startHarness } from './harness.js';
import { ended, openSession, post } from './raw-legacy.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const providers = () => [
  createSimulatedProvider({ name: 'slow', latencyMs: { min: 20_000, max: 20_000 } }),
  createSimulatedProvider({ name: 'fast', latencyMs: { min: 800, max: 800 } }),
];

const call = (id: number, provider: string) => ({
  jsonrpc: '2.0',
  id,
  method: 'tools/call',
  params: { name: 'chat', arguments: { prompt: 'wait', provider } },
});

async function cancel(sid: string, requestId: number): Promise<void> {
  const sent = await post(h!.url, sid, {
    jsonrpc: '2.0',
    method: 'notifications/cancelled',
    params: { requestId, reason: 'the user stopped it' },
  });
  expect(sent.status).toBe(202);
}

it('ends a batch’s stream once its other requests are answered, when one of its calls was cancelled', async () => {
  h = await startHarness({ providers: providers(), http: { idleSessionMs: 1000 } });
  const sid = await openSession(h.url);
  const batch = await post(h.url, sid, [call(10, 'slow'), { jsonrpc: '2.0', id: 11, method: 'ping' }]);
  expect(batch.status).toBe(200);
  await expect.poll(() => h!.mcp.runtime.status().running, { timeout: 5000 }).toBe(1);
  await cancel(sid, 10);
  const text = await ended(batch, 3000);
  expect(text, 'the batch’s POST stream is still open').toBeDefined();
  expect(text).toMatch(/"id":11/);
  expect(text).not.toMatch(/"id":10/);
  expect(h.mcp.runtime.status()).toMatchObject({ running: 0, queued: 0 });
  // Nothing holds the session now: the idle sweep closes it.
  await expect.poll(() => h!.app.sessionCount, { timeout: 6000 }).toBe(0);
});

it('still carries the answers of the batch’s calls that end after the cancel', async () => {
  h = await startHarness({ providers: providers() });
  const sid = await openSession(h.url);
  const batch = await post(h.url, sid, [call(20, 'slow'), call(21, 'fast')]);
  await expect.poll(() => h!.mcp.calls.size, { timeout: 5000 }).toBe(2);
  await cancel(sid, 20);
  const text = await ended(batch, 5000);
  expect(text, 'the batch’s POST stream is still open').toBeDefined();
  expect(text).toMatch(/"id":21/);
  expect(text).toMatch(/"state":"done"/);
  expect(text).not.toMatch(/"id":20/);
});

it('ends the stream of a body that carried a call and its own cancel', async () => {
  h = await startHarness({ providers: providers() });
  const sid = await openSession(h.url);
  const both = await post(h.url, sid, [
    call(30, 'slow'),
    { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 30 } },
  ]);
  expect(both.status).toBe(200);
  const text = await ended(both, 3000);
  expect(text, 'the POST stream is still open').toBeDefined();
  expect(text).not.toMatch(/"id":30/);
  await expect.poll(() => h!.mcp.runtime.status().running, { timeout: 3000 }).toBe(0);
});
