/**
 * A 2025-era client that sends a request with the id of one of its requests still in flight on the
 * same MCP session (JSON-RPC and MCP forbid it; a careless client does it). The SDK's transport maps
 * each request id to the stream that carried it, so the second POST took the id's mapping: both
 * answers went to it, and the first POST never got one. Its stream stayed open until the client
 * dropped the connection, holding a request, a connection and a place in its caller's open
 * requests, and keeping its session from the idle sweep (found by an audit on 2026-12-04 and left open;
 * by hand on 2026-12-06 the first of two `tools/call` with id 5 was still open 100 s after both calls
 * had ended). Now the second is refused.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type Harness, startHarness } from '../mcp/harness.js';
import { HEADERS, openSession } from './raw-http.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});

const slowCall = (id: number | string) => ({
  jsonrpc: '2.0',
  id,
  method: 'tools/call',
  params: { name: 'chat', arguments: { prompt: 'x', provider: 'slow' } },
});

function post(sid: string, body: unknown, signal?: AbortSignal): Promise<Response> {
  return fetch(h.url, {
    method: 'POST',
    headers: { ...HEADERS, 'mcp-session-id': sid },
    body: JSON.stringify(body),
    ...(signal === undefined ? {} : { signal }),
  });
}

it('refuses a request whose id is in flight on its session, and the first still gets its answer', async () => {
  const sid = await openSession(h);
  // The slow provider takes 1.5 s: the first call is still running when the second arrives.
  const first = post(sid, slowCall(7), AbortSignal.timeout(10_000));
  await expect.poll(() => h.mcp.calls.size, { timeout: 5000 }).toBe(1);
  const second = await post(sid, slowCall(7));
  expect(second.status).toBe(400);
  const refusal = (await second.json()) as { error: { code: number; message: string }; id: unknown };
  expect(refusal.error.code).toBe(-32600);
  expect(refusal.error.message).toContain('7');
  expect(refusal.error.message).toMatch(/in flight/);
  // Not its id: that answer would read as the first request's.
  expect(refusal.id).toBeNull();
  const answer = await (await first).text();
  expect(answer).toContain('"id":7');
  expect(answer).toContain('"state":"done"');
});

it('takes the id again once its answer is out, and a string id apart from the same number', async () => {
  const sid = await openSession(h);
  const number = post(sid, slowCall(8), AbortSignal.timeout(10_000));
  await expect.poll(() => h.mcp.calls.size, { timeout: 5000 }).toBe(1);
  // "8" is another id than 8 (JSON-RPC compares them as given).
  const string = await post(sid, slowCall('8'), AbortSignal.timeout(10_000));
  expect(string.status).toBe(200);
  expect(await string.text()).toContain('"id":"8"');
  expect(await (await number).text()).toContain('"id":8');
  const again = await post(sid, slowCall(8), AbortSignal.timeout(10_000));
  expect(again.status).toBe(200);
  expect(await again.text()).toContain('"state":"done"');
});
