/**
 * Bad input to troupe's resource handlers is the caller's error, answered as one: params that are
 * not `{ uri: string }` get -32602 naming `uri` (it was -32603, "Internal error", with a raw zod
 * dump), and a session URI with broken percent-escapes is a resource not found, -32602 with the
 * URI in its data (it was -32603 "URI malformed"). Raw HTTP, since the SDK's client sends neither.
 * The spec methods the SDK itself answers: spec-params.test.ts.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type Harness, startHarness } from '../mcp/harness.js';

const BASE = {
  'content-type': 'application/json',
  accept: 'application/json, text/event-stream',
  'mcp-protocol-version': '2025-11-25',
};

let h: Harness;
let sid = '';
beforeAll(async () => {
  h = await startHarness();
  const init = await post({
    jsonrpc: '2.0',
    id: 1,
    method: 'initialize',
    params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
  });
  sid = init.headers.get('mcp-session-id') ?? '';
  await init.text();
  await (await post({ jsonrpc: '2.0', method: 'notifications/initialized' })).text();
});
afterAll(async () => {
  await h.close();
});

function post(body: unknown): Promise<Response> {
  return fetch(h.url, {
    method: 'POST',
    headers: { ...BASE, ...(sid === '' ? {} : { 'mcp-session-id': sid }) },
    body: JSON.stringify(body),
  });
}

/** The JSON-RPC error of a call answered as SSE or JSON. */
async function errorOf(
  method: string,
  params: unknown,
): Promise<{ code: number; message: string; data?: unknown }> {
  const text = await (await post({ jsonrpc: '2.0', id: 7, method, params })).text();
  const line = text.split('\n').find((l) => l.startsWith('data: {'));
  return (
    JSON.parse(line === undefined ? text : line.slice(6)) as {
      error: { code: number; message: string; data?: unknown };
    }
  ).error;
}

it('answers resources/subscribe and unsubscribe without a string uri with -32602 naming it', async () => {
  for (const [method, params] of [
    ['resources/subscribe', {}],
    ['resources/subscribe', { uri: 5 }],
    ['resources/unsubscribe', { uri: null }],
  ] as const) {
    const error = await errorOf(method, params);
    expect(error.code, `${method} ${JSON.stringify(params)}`).toBe(-32602);
    expect(error.message).toMatch(
      new RegExp(`^Invalid params for ${method}: Expected \`params.uri\` to be a string, got `),
    );
  }
});

it('answers a session URI with broken escapes as not found, naming what was expected', async () => {
  const error = await errorOf('resources/read', { uri: 'troupe://sessions/%E0%A4%A' });
  expect(error.code).toBe(-32602);
  expect(error.message).toContain('Expected a live or recent session id, got "%E0%A4%A"');
  expect(error.data).toEqual({ uri: 'troupe://sessions/%E0%A4%A' });
});
