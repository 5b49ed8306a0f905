/**
 * A 2025-era session's standalone GET stream whose connection died without the server noticing
 * (a laptop asleep, a Wi-Fi change, a NAT that dropped its state: no FIN reaches the server). The
 * client comes back with `GET` and `Last-Event-ID`, as docs/mcp.md says it may. The SDK answers 409
 * "Stream already has an active connection" while it still holds the dead one, which TCP gives up
 * on only after about 15 minutes of unacknowledged keepalives: until then the host got no
 * notifications and could not resume. A proxy that stops forwarding to the client, and keeps its
 * connection to the server open, plays the dead network.
 */
import net from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type Harness, startHarness } from './harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});

const HEADERS = {
  'Content-Type': 'application/json',
  Accept: 'application/json, text/event-stream',
  'MCP-Protocol-Version': '2025-11-25',
};

/** Forwards to the server; `cut()` drops the client side and keeps the server side open and read. */
async function deadNetwork(port: number): Promise<{ url: string; cut: () => void; close: () => void }> {
  const pairs: { client: net.Socket; upstream: net.Socket; cut: boolean }[] = [];
  const proxy = net.createServer((client) => {
    const upstream = net.connect(port, '127.0.0.1');
    const pair = { client, upstream, cut: false };
    pairs.push(pair);
    client.pipe(upstream);
    upstream.on('data', (chunk) => {
      if (!pair.cut) client.write(chunk);
    });
    client.on('error', () => undefined);
    upstream.on('error', () => undefined);
    client.on('close', () => {
      if (!pair.cut) upstream.destroy();
    });
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const { port: proxyPort } = proxy.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${proxyPort}/mcp`,
    cut() {
      for (const pair of pairs) {
        pair.cut = true;
        pair.client.unpipe(pair.upstream);
        pair.client.destroy();
      }
    },
    close() {
      for (const pair of pairs) {
        pair.client.destroy();
        pair.upstream.destroy();
      }
      proxy.close();
    },
  };
}

async function post(url: string, sid: string | undefined, body: unknown): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { ...HEADERS, ...(sid === undefined ? {} : { 'Mcp-Session-Id': sid }) },
    body: JSON.stringify(body),
  });
}

/** Reads SSE from `response` until `until` matches what came, or `ms` pass. */
async function readUntil(response: Response, until: RegExp, ms = 5000): Promise<string> {
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let text = '';
  const deadline = Date.now() + ms;
  while (!until.test(text) && Date.now() < deadline) {
    const next = await Promise.race([
      reader.read(),
      new Promise<undefined>((resolve) => setTimeout(resolve, deadline - Date.now())),
    ]);
    if (next === undefined || next.done) break;
    text += decoder.decode(next.value, { stream: true });
  }
  await reader.cancel().catch(() => undefined);
  return text;
}

it('a GET stream whose old connection never closed resumes from Last-Event-ID instead of 409', async () => {
  const network = await deadNetwork(Number(h.url.port));
  try {
    const init = await post(network.url, undefined, {
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
    });
    const sid = init.headers.get('mcp-session-id')!;
    await init.text();
    await (await post(network.url, sid, { jsonrpc: '2.0', method: 'notifications/initialized' })).text();
    await (
      await post(network.url, sid, {
        jsonrpc: '2.0',
        id: 2,
        method: 'resources/subscribe',
        params: { uri: 'troupe://sessions' },
      })
    ).text();
    const standing = await fetch(network.url, {
      method: 'GET',
      headers: { ...HEADERS, Accept: 'text/event-stream', 'Mcp-Session-Id': sid },
    });
    expect(standing.status).toBe(200);
    const seen = readUntil(standing, /resources\/updated/);
    const chat = (n: number) =>
      post(h.url.href, sid, {
        jsonrpc: '2.0',
        id: 10 + n,
        method: 'tools/call',
        params: { name: 'chat', arguments: { prompt: `call ${n}`, provider: 'fast' } },
      }).then((r) => r.text());
    await chat(1);
    const first = await seen;
    const lastId = [...first.matchAll(/^id: ?(.+)$/gm)].map((m) => m[1]).at(-1);
    expect(lastId, 'an event with an id on the GET stream').toBeDefined();

    network.cut();
    await chat(2); // an update the dead connection "took"
    const resumed = await fetch(h.url, {
      method: 'GET',
      headers: { ...HEADERS, Accept: 'text/event-stream', 'Mcp-Session-Id': sid, 'Last-Event-ID': lastId! },
    });
    // (a 200 is a stream that does not end: read the body only when it is a refusal)
    if (resumed.status !== 200) expect.fail(`HTTP ${resumed.status}: ${await resumed.text()}`);
    const replay = readUntil(resumed, /resources\/updated[\s\S]*resources\/updated/);
    await chat(3); // and one after: the stream goes on live
    const text = await replay;
    const ids = [...text.matchAll(/^id: ?(.+)$/gm)].map((m) => m[1]);
    expect(ids.length).toBeGreaterThanOrEqual(2);
    expect(ids).not.toContain(lastId);
    expect(new Set(ids).size).toBe(ids.length);

    // A plain GET (no Last-Event-ID) replaces the standing one too, rather than 409.
    const again = await fetch(h.url, {
      method: 'GET',
      headers: { ...HEADERS, Accept: 'text/event-stream', 'Mcp-Session-Id': sid },
    });
    expect(again.status).toBe(200);
    await again.body?.cancel();
  } finally {
    network.close();
  }
});
