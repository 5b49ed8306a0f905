/**
 * A 2025-era MCP session belongs to the token that opened it. Another token that learns its
 * `Mcp-Session-Id` (from a log, a proxy, a shared screen) gets 404 for every use of it: calls, the
 * standalone GET stream, DELETE, and resuming its streams with `Last-Event-ID`, including after
 * the session closed (the events stay in the store). Raw HTTP, since the SDK's client cannot send
 * another client's session id.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from '../mcp/harness.js';

const tokens = [
  { name: 'alice', token: 'alice-token-1' },
  { name: 'bob', token: 'bob-token-22' },
];
const ALICE = { authorization: 'Bearer alice-token-1' };
const BOB = { authorization: 'Bearer bob-token-22' };
const BASE = {
  'content-type': 'application/json',
  accept: 'application/json, text/event-stream',
  'mcp-protocol-version': '2025-11-25',
};

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ http: { tokens } });
});
afterAll(async () => {
  await h.close();
});

function send(method: string, headers: Record<string, string>, body?: unknown): Promise<Response> {
  return fetch(h.url, {
    method,
    headers: { ...BASE, ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

async function open(auth: Record<string, string>): Promise<string> {
  const init = await send('POST', auth, {
    jsonrpc: '2.0',
    id: 1,
    method: 'initialize',
    params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
  });
  expect(init.status).toBe(200);
  await init.text();
  const sid = init.headers.get('mcp-session-id') ?? '';
  await (
    await send(
      'POST',
      { ...auth, 'mcp-session-id': sid },
      { jsonrpc: '2.0', method: 'notifications/initialized' },
    )
  ).text();
  return sid;
}

/** The `id:` fields of an SSE body, in order. */
function eventIds(body: string): string[] {
  return [...body.matchAll(/^id: ?(.*)$/gm)].map((m) => m[1] ?? '');
}

async function notFound(res: Response): Promise<string> {
  expect(res.status).toBe(404);
  return ((await res.json()) as { error: { message: string } }).error.message;
}

describe('an MCP session is bound to the token that opened it', () => {
  it('another token cannot call on it, open its GET stream or DELETE it; its owner still can', async () => {
    const sid = await open(ALICE);
    const list = { jsonrpc: '2.0', id: 2, method: 'tools/list' };
    expect(await notFound(await send('POST', { ...BOB, 'mcp-session-id': sid }, list))).toMatch(
      /Session not found: start a new session with initialize/,
    );
    await notFound(await send('GET', { ...BOB, 'mcp-session-id': sid, accept: 'text/event-stream' }));
    await notFound(await send('DELETE', { ...BOB, 'mcp-session-id': sid }));
    expect(h.app.sessionCount).toBe(1);
    const own = await send('POST', { ...ALICE, 'mcp-session-id': sid }, list);
    expect(own.status).toBe(200);
    expect(await own.text()).toContain('"chat"');
    expect((await send('DELETE', { ...ALICE, 'mcp-session-id': sid })).status).toBe(200);
    expect(h.app.sessionCount).toBe(0);
  });

  it('another token cannot resume its streams, even once it closed; its owner can', async () => {
    const sid = await open(ALICE);
    const call = await send(
      'POST',
      { ...ALICE, 'mcp-session-id': sid },
      { jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'list_models', arguments: {} } },
    );
    const ids = eventIds(await call.text());
    expect(ids.length).toBeGreaterThanOrEqual(2);
    const priming = ids[0] ?? '';
    const resume = (auth: Record<string, string>) =>
      send('GET', { ...auth, 'mcp-session-id': sid, 'last-event-id': priming, accept: 'text/event-stream' });
    await notFound(await resume(BOB));
    // Closed: the session is gone here, but its events are still in the store.
    expect((await send('DELETE', { ...ALICE, 'mcp-session-id': sid })).status).toBe(200);
    await notFound(await resume(BOB));
    const replay = await resume(ALICE);
    expect(replay.status).toBe(200);
    const body = await replay.text();
    expect(eventIds(body)).toEqual(ids.slice(1));
    expect(body).toContain('"id":3');
  });
});
