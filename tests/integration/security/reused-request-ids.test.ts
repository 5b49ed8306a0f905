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

const call = (id: number, prompt: string) => ({
  jsonrpc: '2.0',
  id,
  method: 'tools/call',
  params: { name: 'chat', arguments: { prompt, provider: 'slow' } },
});

it('refuses an id whose call still runs after its POST closed, and the call’s answer stays its own', async () => {
  const ended: string[] = [];
  const stop = h.mcp.runtime.subscribe((event) => {
    if (event.type === 'session.ended') ended.push(event.result.metadata.state);
  });
  const sid = await openSession(h);
  // The client drops the first POST's stream: its call runs on for a resume (`disconnectGraceMs`).
  const gone = new AbortController();
  const first = post(sid, call(9, 'first'), gone.signal).then((r) => r.body?.getReader().read());
  await expect.poll(() => h.mcp.calls.size, { timeout: 5000 }).toBe(1);
  gone.abort();
  await first.catch(() => {});
  await new Promise((r) => setTimeout(r, 100));
  // Before: 200, and this POST got the first call's answer ("first") while its own ran for nobody.
  const second = await post(sid, call(9, 'second'), AbortSignal.timeout(10_000));
  const body = await second.text();
  expect(body).not.toContain('On \\"first\\"');
  expect(second.status).toBe(400);
  const refusal = JSON.parse(body) as { error: { code: number; message: string }; id: unknown };
  expect(refusal.error.code).toBe(-32600);
  expect(refusal.error.message).toMatch(/id 9 is taken by a request still in flight/);
  expect(refusal.id).toBeNull();
  // The first call was not disturbed: it ends done; then id 9 is free again.
  await expect.poll(() => ended, { timeout: 10_000 }).toEqual(['done']);
  const again = await post(sid, call(9, 'third'), AbortSignal.timeout(10_000));
  expect(again.status).toBe(200);
  expect(await again.text()).toContain('On \\"third\\"');
  stop();
});

it('refuses a batch that carries one id twice, running neither', async () => {
  const sid = await openSession(h);
  const started = h.mcp.calls.size;
  const batch = await post(sid, [call(11, 'one'), call(11, 'two')], AbortSignal.timeout(10_000));
  expect(batch.status).toBe(400);
  const refusal = (await batch.json()) as { error: { code: number; message: string }; id: unknown };
  expect(refusal.error.message).toMatch(/id 11 is taken by a request still in flight/);
  expect(refusal.id).toBeNull();
  expect(h.mcp.calls.size).toBe(started);
  // Nothing of it was kept: id 11 is free.
  const alone = await post(sid, call(11, 'three'), AbortSignal.timeout(10_000));
  expect(alone.status).toBe(200);
  expect(await alone.text()).toContain('On \\"three\\"');
});

it('frees the ids of a POST the SDK’s transport refused whole', async () => {
  const sid = await openSession(h);
  // The transport answers 406 to a POST that does not accept an event stream: it runs nothing.
  const refused = await fetch(h.url, {
    method: 'POST',
    headers: { ...HEADERS, accept: 'application/json', 'mcp-session-id': sid },
    body: JSON.stringify(call(12, 'refused')),
  });
  expect(refused.status).toBe(406);
  await refused.text();
  const again = await post(sid, call(12, 'again'), AbortSignal.timeout(10_000));
  expect(again.status).toBe(200);
  expect(await again.text()).toContain('On \\"again\\"');
});

/** A 2026-07-28 `tools/call` with id `id`: each such request is an exchange of its own. */
function modernCall(id: number, prompt: string, signal: AbortSignal): Promise<Response> {
  const meta = {
    'io.modelcontextprotocol/protocolVersion': '2026-07-28',
    'io.modelcontextprotocol/clientInfo': { name: 'raw', version: '1' },
    'io.modelcontextprotocol/clientCapabilities': {},
  };
  return fetch(h.url, {
    method: 'POST',
    headers: {
      ...HEADERS,
      'mcp-protocol-version': '2026-07-28',
      'mcp-method': 'tools/call',
      'mcp-name': 'chat',
    },
    body: JSON.stringify({ ...call(id, prompt), params: { ...call(id, prompt).params, _meta: meta } }),
    signal,
  });
}

it('leaves 2026-07-28 ids alone: two requests with one id are two exchanges, each with its answer', async () => {
  const ended = new Map<string, string>();
  const stop = h.mcp.runtime.subscribe((event) => {
    if (event.type === 'session.ended') ended.set(event.sessionId, event.result.metadata.state);
  });
  const gone = new AbortController();
  const alpha = modernCall(3, 'alpha', gone.signal);
  const beta = modernCall(3, 'beta', AbortSignal.timeout(10_000));
  await expect.poll(() => h.mcp.runtime.sessions().length, { timeout: 5000 }).toBeGreaterThanOrEqual(2);
  // Closing one's stream cancels that one only.
  gone.abort();
  await alpha.catch(() => {});
  const answer = await beta;
  expect(answer.status).toBe(200);
  const text = await answer.text();
  expect(text).toContain('On \\"beta\\"');
  expect(text).toContain('"state":"done"');
  await expect.poll(() => [...ended.values()].sort(), { timeout: 5000 }).toEqual(['cancelled', 'done']);
  stop();
});
