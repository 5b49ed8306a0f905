/**
 * Aborts remembered for calls not started yet (`call-registry.ts`) are kept per MCP session, not
 * per caller: that is enough because a 2025-era session takes the requests of its opener's token
 * name only (`http-sessions.ts`), so a cancel from another caller never reaches it, and tokens of
 * one name are one caller. One name given to tokens of two kinds (the shared `token` and a named
 * `default`; an admin and a client) would be two callers in one session: `createHttpApp` refuses
 * it, as the environment refuses any name given twice (`tests/integration/mcp/http-embedder.test.ts`).
 * SDK client over Streamable HTTP; the other token's cancel is raw HTTP, since the SDK's client
 * cannot send another client's session id.
 */
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { afterEach, expect, it } from 'vitest';
import { type Harness, startHarness, structured } from '../mcp/harness.js';

const harnesses: Harness[] = [];
afterEach(async () => {
  await Promise.allSettled(harnesses.splice(0).map((h) => h.close()));
});

const BASE = {
  'content-type': 'application/json',
  accept: 'application/json, text/event-stream',
  'mcp-protocol-version': '2025-11-25',
};

async function connect(h: Harness, token: string) {
  const transport = new StreamableHTTPClientTransport(h.url, {
    requestInit: { headers: { authorization: `Bearer ${token}` } },
  });
  const client = new Client({ name: 'early', version: '1' });
  await client.connect(transport);
  return { client, sid: transport.sessionId as string };
}

/** A `notifications/cancelled` POSTed into session `sid` with `token`, for a request not sent yet. */
const cancel = (h: Harness, token: string, sid: string, requestId: string | number) =>
  fetch(h.url, {
    method: 'POST',
    headers: { ...BASE, authorization: `Bearer ${token}`, 'mcp-session-id': sid },
    body: JSON.stringify({
      jsonrpc: '2.0',
      method: 'notifications/cancelled',
      params: { requestId, reason: 'not yours' },
    }),
  });

it('another token’s cancel never reaches a session it did not open: nothing is remembered for its calls', async () => {
  const h = await startHarness({
    http: {
      tokens: [
        { name: 'alice', token: 'alice-token-1' },
        // Her old and new token: one name, one kind, one caller.
        { name: 'alice', token: 'alice-token-2' },
        { name: 'bob', token: 'bob-token-22' },
      ],
    },
  });
  harnesses.push(h);
  const alice = await connect(h, 'alice-token-1');
  // The ids her client's next requests will have, and one of her own choosing.
  for (const id of [1, 2, 3, 'x']) expect((await cancel(h, 'bob-token-22', alice.sid, id)).status).toBe(404);
  expect(h.mcp.calls.earlyAborts).toBe(0);
  const r = structured(
    await alice.client.callTool({ name: 'chat', arguments: { provider: 'fast', prompt: 'hi' } }),
  );
  expect(r.ok).toBe(true);
  // Her own cancel of a call not sent yet is remembered, through either of her tokens.
  expect((await cancel(h, 'alice-token-2', alice.sid, 'later')).status).toBe(202);
  expect(h.mcp.calls.earlyAborts).toBe(1);
});
