/**
 * One Host per request, on `troupe serve`'s HTTP front (the MCP endpoint, the dashboard, `/metrics`,
 * the probes) and on `troupe inspector`'s relay, over raw TCP: fetch and the SDK's client never send
 * two. Node 20 takes a request with two Host fields and keeps the first in `headers.host` (both in
 * `rawHeaders` and `headersDistinct`), so a Host check saw `Host: 127.0.0.1:PORT` and let
 * `Host: evil.example` after it through. RFC 9112 §3.2: a server MUST answer such a request with
 * 400. And §3.2.2: an absolute-form target's authority replaces Host, so a target naming another
 * host than Host is refused too (`src/core/host-fields.ts`).
 */
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { healthRoutes } from '../../../src/observe/health.js';
import { startInspectorRelay } from '../../../src/observe/inspector-relay.js';
import type { Route } from '../../../src/observe/routes.js';
import { createObservability } from '../../../src/observe/routes.js';
import { type Harness, startHarness } from '../mcp/harness.js';

const cleanup: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

/** `troupe serve`'s front: the MCP endpoint, the observability routes and the probes. */
async function serve(): Promise<Harness> {
  // Filled once the harness's runtime exists: the server reads them at each request.
  const routes = new Map<string, Route>();
  const probes = new Map<string, Route>();
  const h = await startHarness({ http: { routes, probes } });
  cleanup.push(() => h.close());
  const observe = createObservability(h.mcp.runtime);
  cleanup.push(() => observe.close());
  for (const [path, route] of observe.routes) routes.set(path, route);
  for (const [path, route] of healthRoutes({ runtime: h.mcp.runtime })) probes.set(path, route);
  return h;
}

/** Sends `head` (request line and header lines) on a socket of its own; the status and body. */
function raw(
  port: string | number,
  head: string[],
  body = '',
): Promise<{ status: number; head: string; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), '127.0.0.1', () =>
      socket.end(`${head.join('\r\n')}\r\nConnection: close\r\n\r\n${body}`),
    );
    let text = '';
    socket.on('data', (chunk) => {
      text += String(chunk);
    });
    socket.on('error', reject);
    socket.on('close', () => {
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
      const end = text.indexOf('\r\n\r\n');
      const chunked = /^transfer-encoding: chunked$/im.test(text.slice(0, end));
      const head = text.slice(0, end);
      resolve({ status, head, body: chunked ? dechunk(text.slice(end + 4)) : text.slice(end + 4) });
    });
  });
}

/** A chunked body's data (the tests' bodies are ASCII, so lengths in characters are bytes). */
function dechunk(text: string): string {
  let out = '';
  for (let at = 0; ; ) {
    const line = text.indexOf('\r\n', at);
    const size = Number.parseInt(text.slice(at, line), 16);
    if (!(size > 0)) return out;
    out += text.slice(line + 2, line + 2 + size);
    at = line + 2 + size + 2;
  }
}

const TWO_HOSTS = (port: string, evil = 'evil.example') =>
  `Bad Request: expected one Host header, got 2 ("127.0.0.1:${port}", "${evil}"); RFC 9112 section 3.2`;

describe('two Host fields', () => {
  it('get 400 from the MCP endpoint, the dashboard, /metrics and the probes, with the reason, in either order', async () => {
    const h = await serve();
    const port = h.url.port;
    const own = `Host: 127.0.0.1:${port}`;
    // One allowed Host: each path answers as it does; a probe takes any one Host.
    expect((await raw(port, ['GET /api/status HTTP/1.1', own])).status).toBe(200);
    expect((await raw(port, ['GET /healthz HTTP/1.1', 'Host: anything.example'])).status).toBe(200);
    for (const path of ['/', '/api/status', '/metrics', '/events', '/mcp', '/healthz', '/readyz']) {
      const r = await raw(port, [`GET ${path} HTTP/1.1`, own, 'Host: evil.example']);
      expect(r.status, path).toBe(400);
      expect(JSON.parse(r.body), path).toEqual({
        jsonrpc: '2.0',
        error: { code: -32000, message: TWO_HOSTS(port) },
        id: null,
      });
    }
    // The other order, the same name twice, and a POST to the MCP endpoint.
    expect((await raw(port, ['GET / HTTP/1.1', 'Host: evil.example', own])).status).toBe(400);
    expect((await raw(port, ['GET / HTTP/1.1', own, own])).status).toBe(400);
    const init = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' });
    const post = await raw(
      port,
      [
        'POST /mcp HTTP/1.1',
        own,
        'host: evil.example',
        'Content-Type: application/json',
        'Accept: application/json, text/event-stream',
        `Content-Length: ${init.length}`,
      ],
      init,
    );
    expect(post.status).toBe(400);
    expect(post.body).toContain('expected one Host header, got 2');
  });

  it('get 400 from the inspector relay, for its page and for a WebSocket', async () => {
    const relay = await startInspectorRelay({ port: 0 });
    cleanup.push(() => relay.close());
    const port = new URL(relay.url).port;
    const own = `Host: 127.0.0.1:${port}`;
    expect((await raw(port, ['GET / HTTP/1.1', own])).status).toBe(200);
    const page = await raw(port, ['GET / HTTP/1.1', own, 'Host: evil.example']);
    expect(page).toMatchObject({ status: 400, body: `${TWO_HOSTS(port)}\n` });
    const upgrade = [
      'Upgrade: websocket',
      'Connection: Upgrade',
      'Sec-WebSocket-Version: 13',
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
    ];
    expect((await raw(port, ['GET / HTTP/1.1', own, ...upgrade])).status).toBe(101);
    const refused = await raw(port, ['GET / HTTP/1.1', own, 'Host: <b>evil.example</b>', ...upgrade]);
    expect(refused).toMatchObject({ status: 400, body: TWO_HOSTS(port, '<b>evil.example</b>') });
    expect(refused.head).toMatch(/^Content-Type: text\/plain$/im);
  });
});

describe('an absolute-form request target', () => {
  it('is refused with 400 when its host is not the Host header’s, and served when it is', async () => {
    const h = await serve();
    const port = h.url.port;
    const own = `Host: 127.0.0.1:${port}`;
    // The target's authority replaces Host (RFC 9112 §3.2.2): the request is for evil.example.
    const other = await raw(port, ['GET http://evil.example/api/status HTTP/1.1', own]);
    expect(other.status).toBe(400);
    expect(JSON.parse(other.body).error.message).toBe(
      `Bad Request: expected the request target's host to be the Host header's "127.0.0.1:${port}", got "http://evil.example/api/status"; RFC 9112 section 3.2.2`,
    );
    // A Host that the check refuses is not let in by a target that names an allowed host.
    expect(
      (await raw(port, [`GET http://127.0.0.1:${port}/api/status HTTP/1.1`, 'Host: evil.example'])).status,
    ).toBe(400);
    // The port is part of the host: another one is another target.
    expect((await raw(port, ['GET http://127.0.0.1:1/api/status HTTP/1.1', own])).status).toBe(400);
    // The same host in both (the URL standard's spelling of it) is served, and still checked.
    expect((await raw(port, [`GET http://127.0.0.1:${port}/api/status HTTP/1.1`, own])).status).toBe(200);
    expect(
      (await raw(port, ['GET http://EVIL.example:80/api/status HTTP/1.1', 'Host: evil.example'])).status,
    ).toBe(403);
  });
});
