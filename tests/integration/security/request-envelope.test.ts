/**
 * The server holds a request whole while it waits (a tool call in the queue, a `tasks/result`
 * wait), and the queue's byte bound (`maxQueuedBytes`) counts only what the provider gets. Before,
 * 40 queued calls with 2 MB in `_meta`, in an unknown `params` field or in the id held 165 MB that
 * `queuedBytes` showed as 2 KB, so one caller could hold its open requests (2,580 at the defaults)
 * at 4 MiB each. Now a request whose JSON outside `params.arguments` is over `maxEnvelopeBytes`
 * (64 KiB) gets 400 / -32600 before anything runs; big arguments (a long prompt) still pass.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { DEFAULT_MAX_ENVELOPE_BYTES } from '../../../src/mcp/http-body.js';
import { openLegacySession, postMcp } from '../../support/raw-session.js';
import { type Harness, startHarness, structured } from '../mcp/harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});

const junk = 'j'.repeat(DEFAULT_MAX_ENVELOPE_BYTES);
const chat = { name: 'chat', arguments: { prompt: 'hi', provider: 'fast' } };

it('refuses a request with more than 64 KiB outside its arguments, in _meta, another field or its id, before any session', async () => {
  expect(DEFAULT_MAX_ENVELOPE_BYTES).toBe(65_536);
  const sid = await openLegacySession(h.url);
  const bodies = [
    { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { ...chat, _meta: { junk } } },
    { jsonrpc: '2.0', id: 3, method: 'tools/call', params: { ...chat, junk } },
    { jsonrpc: '2.0', id: `4-${junk}`, method: 'tools/call', params: chat },
    [
      { jsonrpc: '2.0', id: 5, method: 'ping' },
      { jsonrpc: '2.0', id: 6, method: 'tasks/result', params: { taskId: 't', _meta: { junk } } },
    ],
  ];
  for (const body of bodies) {
    const response = await postMcp(h.url, sid, body);
    expect(response.status).toBe(400);
    const error = (await response.json()).error;
    expect(error.code).toBe(-32600);
    expect(error.message).toMatch(
      /^Invalid Request: expected at most 65536 bytes of a request's JSON outside `params.arguments` \(its id, `_meta` and other fields, held while it waits\), got \d+$/,
    );
  }
  expect(h.mcp.runtime.metrics().submitted).toBe(0);
});

it('takes big arguments, and a client of either era within the bound', async () => {
  for (const era of ['legacy', 'modern'] as const) {
    const client = await h.client(era);
    const long = structured(
      await client.callTool({ name: 'chat', arguments: { prompt: 'p'.repeat(100_000), provider: 'fast' } }),
    );
    expect(long.ok).toBe(true);
    const withMeta = structured(await client.callTool({ ...chat, _meta: { note: 'n'.repeat(1000) } }));
    expect(withMeta.ok).toBe(true);
    await expect(client.callTool({ ...chat, _meta: { junk } })).rejects.toThrow(/65536/);
  }
});
