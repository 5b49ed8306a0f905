/**
 * What of a JSON-RPC request the envelope bound counts (`envelopeBytes`): the UTF-8 bytes of its
 * JSON with `params.arguments` left as `null`, so big arguments (a prompt, which the queue's own
 * byte bound counts) are not counted twice; nothing for notifications, responses and `initialize`.
 */
import { expect, it } from 'vitest';
import { envelopeBytes, envelopeOver } from '../../../src/mcp/http-body.js';

const bytes = (value: unknown) => Buffer.byteLength(JSON.stringify(value));

it('counts a request whole but for its arguments, exactly as JSON.stringify writes it', () => {
  const call = {
    jsonrpc: '2.0',
    id: 'é-1',
    method: 'tools/call',
    params: {
      name: 'chat',
      arguments: { prompt: 'x'.repeat(10_000) },
      _meta: { progressToken: 7 },
      other: 'ü',
    },
  };
  expect(envelopeBytes(call)).toBe(bytes({ ...call, params: { ...call.params, arguments: null } }));
  expect(envelopeBytes(call)).toBeLessThan(200);
  // Without arguments, or with params that are no object, the whole request counts.
  const ping = { jsonrpc: '2.0', id: 1, method: 'ping', params: { _meta: { big: 'b'.repeat(500) } } };
  expect(envelopeBytes(ping)).toBe(bytes(ping));
  const odd = { jsonrpc: '2.0', id: 1, method: 'tasks/get', params: 'p'.repeat(300) };
  expect(envelopeBytes(odd)).toBe(bytes(odd));
});

it('counts nothing for what is answered at once or held by no one: notifications, responses, initialize, non-objects', () => {
  const big = 'b'.repeat(1000);
  expect(envelopeBytes({ jsonrpc: '2.0', method: 'notifications/progress', params: { big } })).toBe(0);
  expect(envelopeBytes({ jsonrpc: '2.0', id: 1, result: { big } })).toBe(0);
  expect(envelopeBytes({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { big } })).toBe(0);
  for (const value of [null, 'x', 3, [{ jsonrpc: '2.0', id: 1, method: 'ping', params: { big } }]])
    expect(envelopeBytes(value)).toBe(0);
});

it('finds the first request of a body or batch over the bound, at the bound not', () => {
  const request = { jsonrpc: '2.0', id: 1, method: 'ping', params: { _meta: { note: 'n'.repeat(100) } } };
  const size = bytes(request);
  expect(envelopeOver(request, size)).toBeUndefined();
  expect(envelopeOver(request, size - 1)).toBe(size);
  expect(envelopeOver([{ jsonrpc: '2.0', method: 'notifications/initialized' }, request], size - 1)).toBe(
    size,
  );
  expect(envelopeOver([request, request], size)).toBeUndefined();
});
