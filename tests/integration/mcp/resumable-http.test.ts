/**
 * Resumable Streamable HTTP (2025-era sessions): each SSE response starts with a priming event that
 * has an id and a `retry` field, and a GET with `Last-Event-ID` replays what followed it. Raw HTTP,
 * so the wire format itself is checked.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type Harness, startHarness } from './harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ http: { retryIntervalMs: 2500 } });
});
afterAll(async () => {
  await h.close();
});

interface SseEvent {
  id?: string;
  retry?: string;
  data: string;
}

function parseSse(body: string): SseEvent[] {
  return body
    .split('\n\n')
    .filter((block) => block.trim() !== '' && !block.startsWith(':'))
    .map((block) => {
      const event: SseEvent = { data: '' };
      for (const line of block.split('\n')) {
        const colon = line.indexOf(':');
        const field = line.slice(0, colon);
        const value = line.slice(colon + 1).replace(/^ /, '');
        if (field === 'id') event.id = value;
        else if (field === 'retry') event.retry = value;
        else if (field === 'data') event.data += value;
      }
      return event;
    });
}

const HEADERS = {
  'Content-Type': 'application/json',
  Accept: 'application/json, text/event-stream',
  'MCP-Protocol-Version': '2025-11-25',
};

async function post(sid: string | undefined, body: unknown): Promise<Response> {
  return fetch(h.url, {
    method: 'POST',
    headers: { ...HEADERS, ...(sid === undefined ? {} : { 'Mcp-Session-Id': sid }) },
    body: JSON.stringify(body),
  });
}

it('primes each stream with an id and retry, and replays the events after Last-Event-ID', async () => {
  const init = await post(undefined, {
    jsonrpc: '2.0',
    id: 1,
    method: 'initialize',
    params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
  });
  const sid = init.headers.get('mcp-session-id');
  expect(sid).toBeTruthy();
  await init.text();
  await (await post(sid!, { jsonrpc: '2.0', method: 'notifications/initialized' })).text();

  const call = await post(sid!, {
    jsonrpc: '2.0',
    id: 2,
    method: 'tools/call',
    params: {
      name: 'chat',
      arguments: { prompt: 'slowly', provider: 'slow' },
      _meta: { progressToken: 'p' },
    },
  });
  expect(call.headers.get('content-type')).toContain('text/event-stream');
  const events = parseSse(await call.text());
  const [priming, ...rest] = events;
  expect(priming).toMatchObject({ data: '', retry: '2500' });
  expect(priming?.id).toBeTruthy();
  expect(rest.every((e) => e.id !== undefined)).toBe(true);
  const result = rest.map((e) => JSON.parse(e.data)).find((m) => m.id === 2);
  expect(result?.result.structuredContent.ok).toBe(true);
  expect(rest.some((e) => JSON.parse(e.data).method === 'notifications/progress')).toBe(true);

  const resumed = await fetch(h.url, {
    method: 'GET',
    headers: {
      ...HEADERS,
      Accept: 'text/event-stream',
      'Mcp-Session-Id': sid!,
      'Last-Event-ID': priming!.id!,
    },
  });
  expect(resumed.status).toBe(200);
  const reader = resumed.body!.getReader();
  let text = '';
  const decoder = new TextDecoder();
  while (!text.includes('"id":2')) {
    const { value, done } = await reader.read();
    if (done) break;
    text += decoder.decode(value, { stream: true });
  }
  await reader.cancel();
  expect(parseSse(text).map((e) => [e.id, e.data])).toEqual(rest.map((e) => [e.id, e.data]));

  const unknown = await fetch(h.url, {
    method: 'GET',
    headers: { ...HEADERS, Accept: 'text/event-stream', 'Mcp-Session-Id': sid!, 'Last-Event-ID': 'nope_1' },
  });
  expect(unknown.status).toBeGreaterThanOrEqual(400);
  await unknown.text();
});
