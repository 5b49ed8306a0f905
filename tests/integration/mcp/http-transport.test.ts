/**
 * The HTTP transport's guards and lifecycle, and cancellation reaching the provider request
 * (observed at the local OpenAI-compatible test server).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOpenAICompatibleProvider } from '../../../src/providers/openai-compatible.js';
import { createOpenAIServer, type OpenAIServer } from '../../../src/testing/openai-server.js';
import { type Harness, startHarness, structured } from './harness.js';

const INIT = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
};

function post(url: URL, body: unknown, headers: Record<string, string> = {}) {
  return fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      ...headers,
    },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

describe('HTTP transport guards', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ http: { token: 's3cret-token', maxBodyBytes: 64 * 1024, idleSessionMs: 300 } });
  });
  afterAll(async () => {
    await h.close();
  });
  const auth = { authorization: 'Bearer s3cret-token' };

  it('requires the bearer token', async () => {
    expect((await post(h.url, INIT)).status).toBe(401);
    expect((await post(h.url, INIT, { authorization: 'Bearer wrong' })).status).toBe(401);
    expect((await post(h.url, INIT, auth)).status).toBe(200);
  });

  it('refuses an MCP-Protocol-Version it does not serve with a 400 naming the header and the revisions it does', async () => {
    for (const [version, body] of [
      ['garbage', INIT],
      ['2099-01-01', { jsonrpc: '2.0', id: 2, method: 'tools/list' }],
      ['2024-01-01', INIT],
    ] as const) {
      const res = await post(h.url, body, { ...auth, 'mcp-protocol-version': version });
      expect(res.status, version).toBe(400);
      const { error } = (await res.json()) as { error: { message: string } };
      expect(error.message).toContain(`got "${version}"`);
      expect(error.message).toMatch(/expected one of 2026-07-28, 2025-11-25, .*2024-11-05/);
    }
    const get = await fetch(h.url, { headers: { ...auth, 'mcp-protocol-version': 'x'.repeat(500) } });
    expect(get.status).toBe(400);
    const { error } = (await get.json()) as { error: { message: string } };
    expect(error.message).toContain(`got "${'x'.repeat(64)}…"`);
    // A revision it serves passes, with or without the header.
    expect((await post(h.url, INIT, { ...auth, 'mcp-protocol-version': '2025-11-25' })).status).toBe(200);
  });

  it('refuses a foreign Host or Origin (DNS rebinding)', async () => {
    // fetch forbids overriding Host, so speak HTTP directly.
    const { request } = await import('node:http');
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(
        {
          host: h.url.hostname,
          port: h.url.port,
          path: '/mcp',
          method: 'POST',
          headers: { host: 'evil.example:80', ...auth, 'content-type': 'application/json' },
        },
        (res) => resolve(res.statusCode ?? 0),
      );
      req.on('error', reject);
      req.end(JSON.stringify(INIT));
    });
    expect(status).toBe(403);
    expect((await post(h.url, INIT, { ...auth, origin: 'http://evil.example' })).status).toBe(403);
    expect((await post(h.url, INIT, { ...auth, origin: `http://localhost:${h.url.port}` })).status).toBe(200);
    // A page another local server shows is not this server's own: until 2026-12-05 any port passed.
    const other = await post(h.url, INIT, { ...auth, origin: 'http://localhost:3000' });
    expect(other.status).toBe(403);
    expect(((await other.json()) as { error: { message: string } }).error.message).toBe(
      'Forbidden: Origin "http://localhost:3000" is not an allowed origin: only this server\'s own pages and those --allowed-origins names',
    );
  });

  it('caps the body, rejects bad JSON, 404s unknown paths and sessions', async () => {
    expect((await post(h.url, 'x'.repeat(70 * 1024), auth)).status).toBe(413);
    expect((await post(h.url, '{not json', auth)).status).toBe(400);
    expect((await fetch(new URL('/nope', h.url))).status).toBe(404);
    const unknown = await post(
      h.url,
      { jsonrpc: '2.0', id: 2, method: 'tools/list' },
      { ...auth, 'mcp-session-id': 'no-such', 'mcp-protocol-version': '2025-11-25' },
    );
    expect(unknown.status).toBe(404);
  });

  it('expires idle sessions', async () => {
    const client = await h.client('legacy', auth);
    expect(h.app.sessionCount).toBeGreaterThan(0);
    await client.listTools();
    // Idle after 300 ms, swept every 75 ms: gone within a second on a free core; polled, so a loaded
    // machine only makes it slower (a session that never expires still fails at 10 s).
    const deadline = Date.now() + 10_000;
    while (h.app.sessionCount > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(h.app.sessionCount).toBe(0);
  });
});

describe('the idle sweep and calls in flight', () => {
  it('never sweeps a session whose call outlives the idle time', async () => {
    // The slow provider answers in 1.5 s, past idleSessionMs; the sweep (every 150 ms) must wait
    // for the call. A session swept under it leaves the call unanswered for good, so watch the
    // session while the call runs rather than wait on the call alone.
    const h = await startHarness({ http: { idleSessionMs: 600 } });
    try {
      const client = await h.client('legacy');
      let settled = false;
      const call = client
        .callTool({ name: 'chat', arguments: { prompt: 'x', provider: 'slow' } })
        .finally(() => {
          settled = true;
        });
      while (!settled) {
        expect(h.app.sessionCount).toBe(1);
        await new Promise((r) => setTimeout(r, 25));
      }
      expect(structured(await call).ok).toBe(true);
      await client.close();
    } finally {
      await h.close();
    }
  });
});

describe('MCP session bound', () => {
  it('refuses one session past maxSessions with a 503 naming the bound, and a closed one makes room', async () => {
    const h = await startHarness({ http: { maxSessions: 2 } });
    try {
      const ids: string[] = [];
      for (let i = 0; i < 2; i++) {
        const res = await post(h.url, INIT);
        expect(res.status).toBe(200);
        ids.push(res.headers.get('mcp-session-id') ?? '');
        await res.text();
      }
      const refused = await post(h.url, INIT);
      expect(refused.status).toBe(503);
      const body = (await refused.json()) as { error: { message: string } };
      expect(body.error.message).toMatch(
        /^Expected at most 2 open MCP sessions, got one more: .*DELETE.*, or send initialize again once an idle one has closed \(a session closes after \d+ s with no request\)$/,
      );
      const closed = await fetch(h.url, {
        method: 'DELETE',
        headers: { 'mcp-session-id': ids[0] ?? '', 'mcp-protocol-version': '2025-11-25' },
      });
      expect(closed.status).toBe(200);
      const again = await post(h.url, INIT);
      expect(again.status).toBe(200);
      await again.text();
    } finally {
      await h.close();
    }
  });
});

describe('MCP sessions per caller', () => {
  it('gives each named token its share of maxSessions, so one client cannot take every session', async () => {
    const h = await startHarness({
      http: {
        maxSessions: 4,
        tokens: [
          { name: 'alice', token: 'alice-token-1' },
          { name: 'bob', token: 'bob-token-22' },
        ],
      },
    });
    const as = (token: string) => ({ authorization: `Bearer ${token}` });
    try {
      const ids: string[] = [];
      for (let i = 0; i < 2; i++) {
        const res = await post(h.url, INIT, as('alice-token-1'));
        expect(res.status).toBe(200);
        ids.push(res.headers.get('mcp-session-id') ?? '');
        await res.text();
      }
      const refused = await post(h.url, INIT, as('alice-token-1'));
      expect(refused.status).toBe(503);
      const body = (await refused.json()) as { error: { message: string } };
      expect(body.error.message).toMatch(
        /^Expected at most 2 open MCP sessions for caller `alice`, got one more/,
      );
      // Bob still gets his share while alice holds hers.
      const bob = await post(h.url, INIT, as('bob-token-22'));
      expect(bob.status).toBe(200);
      await bob.text();
      // A session alice closes is hers to open again.
      const closed = await fetch(h.url, {
        method: 'DELETE',
        headers: {
          'mcp-session-id': ids[0] ?? '',
          'mcp-protocol-version': '2025-11-25',
          ...as('alice-token-1'),
        },
      });
      expect(closed.status).toBe(200);
      const again = await post(h.url, INIT, as('alice-token-1'));
      expect(again.status).toBe(200);
      await again.text();
    } finally {
      await h.close();
    }
  });
});

describe('routes hook', () => {
  it('serves extra routes beside /mcp', async () => {
    const h = await startHarness({
      http: { routes: new Map([['/metrics', (_req, res) => void res.end('up 1\n')]]) },
    });
    try {
      expect(await (await fetch(new URL('/metrics', h.url))).text()).toBe('up 1\n');
    } finally {
      await h.close();
    }
  });
});

describe.each(['legacy', 'modern'] as const)('cancellation (%s era)', (era) => {
  let server: OpenAIServer;
  let h: Harness;
  beforeAll(async () => {
    server = createOpenAIServer();
    const baseURL = await server.start();
    // A closed stream cancels at once here (no grace for a resume: disconnect-grace.test.ts has that).
    h = await startHarness({
      providers: [createOpenAICompatibleProvider({ name: 'local', baseURL, apiKey: 'test-key' })],
      http: { disconnectGraceMs: 0 },
    });
  });
  afterAll(async () => {
    await h.close();
    await server.close();
  });

  it('MCP cancellation cancels the session and aborts the provider request', async () => {
    const client = await h.client(era);
    const controller = new AbortController();
    const call = client.callTool(
      { name: 'chat', arguments: { prompt: 'wait', provider: 'local', model: `fault:hang:tag=${era}` } },
      { signal: controller.signal },
    );
    const seen = await server.waitForRequest((r) => JSON.stringify(r.body).includes(`tag=${era}`));
    controller.abort('user pressed stop');
    await expect(call).rejects.toThrow();
    await server.waitForClose(seen);
    expect(seen.completed).toBe(false);
    await expect.poll(() => h.mcp.runtime.status().recent[0]?.state).toBe('cancelled');
  });

  it('cancel_session aborts the provider request of another call', async () => {
    const client = await h.client(era);
    const call = client.callTool({
      name: 'chat',
      arguments: { prompt: 'wait', provider: 'local', model: `fault:hang:tag=cs-${era}` },
    });
    const seen = await server.waitForRequest((r) => JSON.stringify(r.body).includes(`tag=cs-${era}`));
    const live = structured(await client.callTool({ name: 'sessions', arguments: {} })).live_by_state.running;
    expect(live).toHaveLength(1);
    await client.callTool({ name: 'cancel_session', arguments: { session_id: live[0].sessionId } });
    const result = await call;
    expect(structured(result).error.code).toBe('CANCELLED');
    await server.waitForClose(seen);
    expect(seen.completed).toBe(false);
  });

  // 2025-era sessions only: troupe's own close-to-cancel path (the 2026 handler aborts on disconnect itself).
  if (era === 'legacy')
    it('a closed HTTP response stream cancels the call and aborts the provider request', async () => {
      const init = await post(h.url, INIT);
      const sid = init.headers.get('mcp-session-id')!;
      const headers = { 'mcp-session-id': sid, 'mcp-protocol-version': '2025-11-25' };
      await post(h.url, { jsonrpc: '2.0', method: 'notifications/initialized' }, headers);
      const controller = new AbortController();
      const call = fetch(h.url, {
        method: 'POST',
        signal: controller.signal,
        headers: {
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          ...headers,
        },
        body: JSON.stringify({
          jsonrpc: '2.0',
          id: 7,
          method: 'tools/call',
          params: {
            name: 'chat',
            arguments: { prompt: 'w', provider: 'local', model: 'fault:hang:tag=closed-stream' },
          },
        }),
      }).catch(() => undefined);
      const seen = await server.waitForRequest((r) => JSON.stringify(r.body).includes('tag=closed-stream'));
      controller.abort();
      await call;
      await server.waitForClose(seen);
      expect(seen.completed).toBe(false);
      await expect.poll(() => h.mcp.runtime.status().recent[0]?.state).toBe('cancelled');
    });
});
