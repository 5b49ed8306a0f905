/**
 * Regression tests for issue 16 over real HTTP with the SDK's client: exposure refused without a
 * token, Host/Origin off loopback, named and admin tokens, per-caller scoping of sessions,
 * cancel_session and tasks, the JSON nesting bound, slow-header sockets, recent_limit, and the
 * conversation cap through the chat tool.
 */
import { writeFile } from 'node:fs/promises';
import { connect as netConnect } from 'node:net';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/client';
import {
  CreateTaskResultV1Schema,
  GetTaskResultV1Schema,
  ListTasksResultV1Schema,
  TaskResultV1Schema,
} from '@modelcontextprotocol/ext-tasks/core/v1';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryConversationStore } from '../../../src/mcp/conversations.js';
import { createHttpApp } from '../../../src/mcp/http.js';
import { tempDir } from '../../support/temp-dir.js';
import {
  clientWith,
  type Harness,
  type HarnessOptions,
  startHarness,
  structured,
  text,
} from '../mcp/harness.js';

const harnesses: Harness[] = [];
afterEach(async () => {
  await Promise.allSettled(harnesses.splice(0).map((h) => h.close()));
});
async function start(options: HarnessOptions = {}): Promise<Harness> {
  const h = await startHarness(options);
  harnesses.push(h);
  return h;
}

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

describe('exposure', () => {
  it('refuses to listen off loopback without a token, in one line naming the fix', async () => {
    const harness = await start();
    const app = createHttpApp({ mcp: harness.mcp, host: '0.0.0.0', port: 0, allowedHosts: ['mcp.test'] });
    const refused = await app.listen().then(
      () => 'listened',
      (error: Error) => error.message,
    );
    await app.close();
    // In the options' words (until 2026-12-07 it named `troupe serve`'s variables).
    expect(refused).toMatch(
      /^refusing to serve on 0\.0\.0\.0 \(not loopback\) without a token: pass `token` or `tokens`/,
    );
    expect(refused).not.toContain('\n');
  });

  it('refuses a wildcard bind without an explicit host list, and --insecure-no-token overrides only the token rule', async () => {
    const harness = await start();
    const noList = createHttpApp({ mcp: harness.mcp, host: '0.0.0.0', port: 0, token: 'tok-12345678' });
    await expect(noList.listen()).rejects.toThrow(/without `allowedHosts`/);
    await noList.close();
    const open = createHttpApp({
      mcp: harness.mcp,
      host: '0.0.0.0',
      port: 0,
      allowNoToken: true,
      allowedHosts: ['mcp.test'],
    });
    const { port } = await open.listen();
    // Bound to every interface: a spoofed `Host: localhost` is not on the list and gets nothing.
    expect(await rawStatus(port, 'localhost')).toBe(403);
    expect(await rawStatus(port, `localhost:${port}`)).toBe(403);
    expect(await rawStatus(port, 'mcp.test')).toBe(200);
    await open.close();
  });
});

describe('bearer tokens', () => {
  it('accepts the scheme in any case (RFC 7235) and refuses other schemes', async () => {
    const h = await start({ http: { token: 's3cret-token' } });
    expect((await post(h.url, INIT, { authorization: 'bearer s3cret-token' })).status).toBe(200);
    expect((await post(h.url, INIT, { authorization: 'BEARER s3cret-token' })).status).toBe(200);
    expect((await post(h.url, INIT, { authorization: 'Basic s3cret-token' })).status).toBe(401);
    const refused = await post(h.url, INIT, { authorization: 'Bearer s3cret-tokenX' });
    expect(refused.status).toBe(401);
    // Until 2026-12-07 it named TROUPE_TOKEN alone, on a server of named tokens too.
    expect(((await refused.json()) as { error: { message: string } }).error.message).toBe(
      "Unauthorized: send Authorization: Bearer <token> with one of this server's tokens (troupe serve: TROUPE_TOKEN, your entry of TROUPE_TOKENS, or TROUPE_ADMIN_TOKEN)",
    );
  });
});

describe('clients see their own work', () => {
  const tokens = [
    { name: 'alice', token: 'alice-token-1' },
    { name: 'bob', token: 'bob-token-22' },
    { name: 'ops', token: 'admin-token-333', admin: true },
  ];

  it('scopes sessions and cancel_session to the token name; an admin sees and cancels all', async () => {
    const h = await start({ http: { tokens } });
    const [alice, bob, admin] = await Promise.all(tokens.map((t) => clientWith(h, t.token)));
    const call = alice!.callTool({ name: 'chat', arguments: { prompt: 'slow', provider: 'slow' } });
    await expect.poll(() => h.mcp.live.list().length).toBe(1);
    const id = h.mcp.live.list()[0]!.sessionId;

    const mine = structured(await alice!.callTool({ name: 'sessions', arguments: {} }));
    expect(mine.live_by_state.running.map((s: { sessionId: string }) => s.sessionId)).toEqual([id]);
    const theirs = structured(await bob!.callTool({ name: 'sessions', arguments: {} }));
    expect(theirs.live_by_state.running).toEqual([]);
    expect(
      structured(await bob!.callTool({ name: 'sessions', arguments: { session_id: id } })).error.code,
    ).toBe('UNKNOWN_SESSION');
    const bobCancel = structured(
      await bob!.callTool({ name: 'cancel_session', arguments: { session_id: id } }),
    );
    expect(bobCancel.error.code).toBe('UNKNOWN_SESSION');
    expect(h.mcp.live.get(id)).toBeDefined();

    const seen = structured(await admin!.callTool({ name: 'sessions', arguments: {} }));
    expect(seen.live_by_state.running.map((s: { sessionId: string }) => s.sessionId)).toEqual([id]);
    expect(
      structured(await admin!.callTool({ name: 'cancel_session', arguments: { session_id: id } })).cancelled,
    ).toBe(true);
    expect(structured(await call).error.code).toBe('CANCELLED');
    // The owner travels in the runtime's caller record, into the session's metadata.
    expect(structured(await call).session.caller).toEqual({ owner: 'token:alice' });
    const recent = structured(await bob!.callTool({ name: 'sessions', arguments: {} })).recent;
    expect(recent).toEqual([]);
    await Promise.all([alice, bob, admin].map((c) => c!.close()));
  });

  it('scopes MCP sessions apart when no named token is configured', async () => {
    const h = await start();
    const [one, two] = [await h.client('legacy'), await h.client('legacy')];
    const call = one.callTool({ name: 'chat', arguments: { prompt: 'slow', provider: 'slow' } });
    await expect.poll(() => h.mcp.live.list().length).toBe(1);
    const id = h.mcp.live.list()[0]!.sessionId;
    expect(
      structured(await two.callTool({ name: 'cancel_session', arguments: { session_id: id } })).error.code,
    ).toBe('UNKNOWN_SESSION');
    expect(
      structured(await one.callTool({ name: 'cancel_session', arguments: { session_id: id } })).cancelled,
    ).toBe(true);
    await call;
  });

  it('scopes tasks: another token cannot list, get, cancel or read the result of them; the admin can', async () => {
    const h = await start({ http: { tokens } });
    const [alice, bob, admin] = await Promise.all(tokens.map((t) => clientWith(h, t.token)));
    const ask = <S extends Parameters<Client['request']>[1]>(
      c: Client,
      method: string,
      params: object,
      schema: S,
    ) => c.request({ method, params } as Parameters<Client['request']>[0], schema);
    const created = await ask(
      alice!,
      'tools/call',
      { name: 'chat', arguments: { prompt: 'x', provider: 'slow' }, task: {} },
      CreateTaskResultV1Schema,
    );
    const taskId = created.task.taskId;
    expect((await ask(alice!, 'tasks/list', {}, ListTasksResultV1Schema)).tasks).toHaveLength(1);
    expect((await ask(bob!, 'tasks/list', {}, ListTasksResultV1Schema)).tasks).toHaveLength(0);
    expect((await ask(admin!, 'tasks/list', {}, ListTasksResultV1Schema)).tasks).toHaveLength(1);
    await expect(ask(bob!, 'tasks/get', { taskId }, GetTaskResultV1Schema)).rejects.toThrow(/not found/);
    await expect(ask(bob!, 'tasks/cancel', { taskId }, GetTaskResultV1Schema)).rejects.toThrow(/not found/);
    // Refused at once, not after waiting out the task and handing over alice's answer.
    await expect(ask(bob!, 'tasks/result', { taskId }, TaskResultV1Schema)).rejects.toThrow(/not found/);
    expect((await ask(admin!, 'tasks/get', { taskId }, GetTaskResultV1Schema)).status).toBe('working');
    await Promise.all([alice, bob, admin].map((c) => c!.close()));
  });
});

describe('bad input over HTTP', () => {
  it('answers JSON nested 5,000 deep with a 400 naming the bound, not a 500', async () => {
    const h = await start();
    const deep = `${'['.repeat(5000)}${']'.repeat(5000)}`;
    const res = await post(h.url, `{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"x":${deep}}}`);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(
      /nested deeper than 64/,
    );
    // Brackets inside strings are not nesting.
    const flat = await post(h.url, {
      ...INIT,
      params: { ...INIT.params, clientInfo: { name: '['.repeat(500), version: '1' } },
    });
    expect(flat.status).toBe(200);
  });

  it('closes a socket that sends its headers too slowly', async () => {
    const h = await start({ http: { headersTimeoutMs: 500, requestTimeoutMs: 1000 } });
    const socket = netConnect(Number(h.url.port), '127.0.0.1');
    socket.on('error', () => {});
    await new Promise((resolve) => socket.once('connect', resolve));
    const t0 = Date.now();
    socket.write('POST /mcp HTTP/1.1\r\nHost: localhost\r\n');
    const drip = setInterval(() => socket.write('X-Slow: 1\r\n'), 100);
    await new Promise((resolve) => socket.once('close', resolve));
    clearInterval(drip);
    // headersTimeout + the 1 s connections check, well under Node's 60 s + 30 s defaults.
    expect(Date.now() - t0).toBeLessThan(3000);
  });

  it('honours recent_limit above 20, up to its documented cap', async () => {
    const h = await start();
    const client = await h.client('legacy');
    for (let i = 0; i < 25; i++) await client.callTool({ name: 'chat', arguments: { prompt: `n${i}` } });
    const recent = structured(
      await client.callTool({ name: 'sessions', arguments: { recent_limit: 25 } }),
    ).recent;
    expect(recent).toHaveLength(25);
    const over = structured(await client.callTool({ name: 'sessions', arguments: { recent_limit: 1001 } }));
    expect(over.error.code).toBe('INVALID_REQUEST');
    expect(over.error.message).toContain('recent_limit');
  });

  // A call on its own over the cap was refused, whatever the model's window (a 300 KB prompt for
  // a 262k-token model): the cap bounds what the server keeps, not what a call may send.
  it('runs a call on its own over the conversation cap, keeping no conversation; refuses one continued', async () => {
    const h = await start({ context: { conversations: { maxBytes: 10_000 } } });
    const client = await h.client('legacy');
    const alone = await client.callTool({
      name: 'chat',
      arguments: { prompt: 'hi', system: 's'.repeat(20_000) },
    });
    const answered = structured(alone);
    expect(answered.ok).toBe(true);
    expect(answered.continuation_id).toBeUndefined();
    expect(answered.not_kept).toMatch(
      /^no conversation kept: this call alone is over what one may hold \(cap of 10000 bytes, got 200\d\d bytes\)$/,
    );
    expect(text(alone)).toContain('[no conversation kept');
    const started = structured(await client.callTool({ name: 'chat', arguments: { prompt: 'hi' } }));
    const before = h.mcp.runtime.status({ recent: 100 }).recent.length;
    const continued = structured(
      await client.callTool({
        name: 'chat',
        arguments: { prompt: 'p'.repeat(20_000), continuation_id: started.continuation_id },
      }),
    );
    expect(continued.error.code).toBe('INVALID_REQUEST');
    expect(continued.error.message).toContain('10000 bytes');
    // Refused before any model call.
    expect(h.mcp.runtime.status({ recent: 100 }).recent.length).toBe(before);
  });

  it('multi_file_chat alike: alone over the cap it answers and keeps nothing; continued, it is refused', async () => {
    const dir = tempDir('troupe-cap-');
    await writeFile(join(dir, 'a.txt'), 'alpha');
    const h = await start({ context: { conversations: { maxBytes: 10_000 }, roots: [dir] } });
    const client = await h.client('legacy');
    const args = { files: ['a.txt'], prompt: 'what is in it?' };
    const alone = structured(
      await client.callTool({ name: 'multi_file_chat', arguments: { ...args, system: 's'.repeat(20_000) } }),
    );
    expect(alone.ok).toBe(true);
    expect(alone.continuation_id).toBeUndefined();
    expect(alone.not_kept).toContain('cap of 10000 bytes');
    const kept = structured(await client.callTool({ name: 'multi_file_chat', arguments: args }));
    const continued = structured(
      await client.callTool({
        name: 'multi_file_chat',
        arguments: { ...args, prompt: 'p'.repeat(20_000), continuation_id: kept.continuation_id },
      }),
    );
    expect(continued.error.code).toBe('INVALID_REQUEST');
  });

  // A conversation store that fails after the model answered (Redis out of memory, or away) cost
  // the caller the answer it paid for: the tool call ended INTERNAL and the answer was dropped.
  it('answers whole, with no continuation_id and the reason, when the conversation store fails', async () => {
    const lines: string[] = [];
    const failing = new MemoryConversationStore();
    failing.save = () => Promise.reject(new Error("OOM command not allowed when used memory > 'maxmemory'"));
    const dir = tempDir('troupe-store-');
    await writeFile(join(dir, 'a.txt'), 'alpha');
    const h = await start({
      context: { conversationStore: failing, roots: [dir], log: (line) => lines.push(line) },
    });
    const client = await h.client('legacy');
    for (const name of ['chat', 'multi_file_chat'] as const) {
      const args = name === 'chat' ? { prompt: 'tell me' } : { prompt: 'tell me', files: ['a.txt'] };
      const result = await client.callTool({ name, arguments: args });
      const answered = structured(result);
      expect(answered.ok, name).toBe(true);
      expect(answered.content, name).toEqual(expect.any(String));
      expect(answered.content.length, name).toBeGreaterThan(0);
      expect(answered.continuation_id, name).toBeUndefined();
      expect(answered.not_kept, name).toBe(
        'no conversation kept: the conversation store failed (the answer is whole)',
      );
      expect(text(result), name).toContain(answered.content);
      expect(text(result), name).toContain('[no conversation kept: the conversation store failed');
    }
    expect(lines.filter((line) => line.includes('conversation store: OOM command not allowed'))).toHaveLength(
      2,
    );
  });

  // A store that fails to read a continuation (Redis away) ended the call INTERNAL, "Unexpected
  // error: Stream isn't writeable and enableOfflineQueue options is false", saying to report it.
  it('refuses a continued call with BACKEND_UNAVAILABLE, nothing run, when the conversation store fails to read it', async () => {
    const lines: string[] = [];
    const failing = new MemoryConversationStore();
    const offline = () =>
      Promise.reject(new Error("Stream isn't writeable and enableOfflineQueue options is false"));
    failing.load = offline;
    failing.get = offline;
    const dir = tempDir('troupe-store-');
    await writeFile(join(dir, 'a.txt'), 'alpha');
    const h = await start({
      context: { conversationStore: failing, roots: [dir], log: (line) => lines.push(line) },
    });
    const client = await h.client('legacy');
    for (const name of ['chat', 'multi_file_chat'] as const) {
      const args = {
        prompt: 'go on',
        continuation_id: 'c-1',
        ...(name === 'chat' ? {} : { files: ['a.txt'] }),
      };
      const refused = structured(await client.callTool({ name, arguments: args }));
      expect(refused.ok, name).toBe(false);
      expect(refused.error.code, name).toBe('BACKEND_UNAVAILABLE');
      expect(refused.error.message, name).toBe(
        'Expected the conversation store to read `continuation_id`, got a failure (the server log says why); nothing was sent to a model',
      );
    }
    expect(h.mcp.runtime.status({ recent: 10 }).recent).toEqual([]);
    expect(lines.filter((line) => line.includes("conversation store: Stream isn't writeable"))).toHaveLength(
      2,
    );
  });
});

function rawStatus(port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = netConnect(port, '127.0.0.1');
    let data = '';
    socket.on('data', (d) => {
      data += d.toString();
      const match = /^HTTP\/1\.1 (\d{3})/.exec(data);
      if (match) {
        resolve(Number(match[1]));
        socket.destroy();
      }
    });
    socket.on('error', reject);
    const body = JSON.stringify(INIT);
    socket.write(
      `POST /mcp HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
  });
}
