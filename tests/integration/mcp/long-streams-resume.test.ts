/**
 * A long streaming call whose client goes away, over Streamable HTTP with named tokens: resumed
 * with `Last-Event-ID` (what it missed replayed in order, once, to nobody else), a client process
 * killed mid-answer (cancelled once `disconnectGraceMs` passed, the provider request closed), and a
 * task read from a new HTTP session of the same token, never from another token's. The model is
 * the local OpenAI-compatible server streaming slowly (docs/mcp.md, "Resumable streams", "Tasks").
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { type AddressInfo, connect, createServer, type Socket } from 'node:net';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OpenAIServer } from '../../../src/testing/openai-server.js';
import { v1 } from '../../support/tasks-v1.js';
import { type Harness, structured } from './harness.js';
import { ANSWER, type LocalStreams, readUntil, startLocalStreams, tagged } from './local-streams.js';
import { HEADERS, initializeRequest } from './raw-legacy.js';

const GRACE_MS = 2500;
const ALICE = 'tok-alice-0123456789';
const BOB = 'tok-bob-0123456789';

let local: LocalStreams;
let server: OpenAIServer;
let h: Harness;
beforeAll(async () => {
  local = await startLocalStreams({
    runtime: { defaults: { maxAttempts: 1 } },
    http: {
      disconnectGraceMs: GRACE_MS,
      tokens: [
        { name: 'alice', token: ALICE },
        { name: 'bob', token: BOB },
      ],
    },
    // A heartbeat every 300 ms: a client away for 1.2 s misses several progress events.
    context: { tasks: { pollIntervalMs: 100 }, progressIntervalMs: 300 },
  });
  ({ server, h } = local);
});
afterAll(() => local.close());

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function send(token: string, sid: string | undefined, body: unknown, signal?: AbortSignal) {
  return fetch(h.url, {
    method: 'POST',
    headers: {
      ...HEADERS,
      authorization: `Bearer ${token}`,
      ...(sid === undefined ? {} : { 'Mcp-Session-Id': sid }),
    },
    body: JSON.stringify(body),
    ...(signal === undefined ? {} : { signal }),
  });
}

async function open(token: string): Promise<string> {
  const init = await send(token, undefined, initializeRequest());
  const sid = init.headers.get('mcp-session-id') as string;
  await init.text();
  await (await send(token, sid, { jsonrpc: '2.0', method: 'notifications/initialized' })).text();
  return sid;
}

function resume(token: string, sid: string, lastEventId: string) {
  return fetch(h.url, {
    method: 'GET',
    headers: {
      ...HEADERS,
      Accept: 'text/event-stream',
      authorization: `Bearer ${token}`,
      'Mcp-Session-Id': sid,
      'Last-Event-ID': lastEventId,
    },
  });
}

interface SseEvent {
  readonly id?: string;
  // biome-ignore lint/suspicious/noExplicitAny: assertions read arbitrary JSON-RPC
  readonly data?: any;
}

function events(wire: string): SseEvent[] {
  return wire
    .split('\n\n')
    .filter((block) => block.trim() !== '')
    .map((block) => {
      let id: string | undefined;
      let data: string | undefined;
      for (const line of block.split('\n')) {
        if (line.startsWith('id:')) id = line.slice(3).trim();
        if (line.startsWith('data:') && line.slice(5).trim() !== '') data = line.slice(5).trim();
      }
      return {
        ...(id === undefined ? {} : { id }),
        ...(data === undefined ? {} : { data: JSON.parse(data) }),
      };
    });
}

const call = (id: number, tag: string, chunkMs: number) => ({
  jsonrpc: '2.0',
  id,
  method: 'tools/call',
  params: {
    name: 'chat',
    arguments: { prompt: 'resume me', provider: 'local', model: `fault:ok:chunk-ms=${chunkMs}:tag=${tag}` },
    _meta: { progressToken: `p-${tag}` },
  },
});

describe('a long stream resumed with Last-Event-ID', () => {
  it('replays what the client missed in order, then the one answer; another session or token gets none of it', async () => {
    const sid = await open(ALICE);
    const cut = new AbortController();
    const response = await send(ALICE, sid, call(7, 'resume', 40), cut.signal);
    const progressed = (wire: string) =>
      events(wire).filter((e) => e.data?.method === 'notifications/progress');
    const wire = await readUntil(response, (w) => progressed(w).length > 0 && w.endsWith('\n\n'));
    cut.abort();
    const cutAt = Date.now();
    const first = progressed(wire)[0] as SseEvent;
    expect(first.id).toBeDefined();

    // Nobody else resumes it: bob's session, and alice's other session, know no such event.
    const bobs = await resume(BOB, await open(BOB), first.id as string);
    expect(bobs.status).not.toBe(200);
    await bobs.text();
    const other = await resume(ALICE, await open(ALICE), first.id as string);
    expect(other.status).not.toBe(200);
    await other.text();
    const bobWithAlicesSession = await resume(BOB, sid, first.id as string);
    expect(bobWithAlicesSession.status).not.toBe(200);
    await bobWithAlicesSession.text();
    // The stream goes on while nobody reads it, for 1.2 s (well within the grace).
    await sleep(1200 - (Date.now() - cutAt));

    const resumed = await resume(ALICE, sid, first.id as string);
    expect(resumed.status).toBe(200);
    const replayed = events(await resumed.text()).filter((e) => e.data !== undefined);
    const progress = replayed.filter((e) => e.data.method === 'notifications/progress');
    const answers = replayed.filter((e) => e.data.id === 7);
    expect(progress.length).toBeGreaterThanOrEqual(4);
    const values = [first, ...progress].map((e) => e.data.params.progress as number);
    for (let i = 1; i < values.length; i++) expect(values[i]).toBeGreaterThan(values[i - 1] as number);
    expect(answers).toHaveLength(1);
    expect(replayed.at(-1)).toBe(answers[0]);
    expect(answers[0]?.data.result.structuredContent).toMatchObject({ ok: true, content: ANSWER });
    expect(answers[0]?.data.result.structuredContent.session.owner ?? 'alice').toBe('alice');
    const request = await server.waitForRequest(tagged('resume'));
    await server.waitForClose(request);
    expect(request.completed).toBe(true);
  });
});

/** A TCP proxy in front of the harness whose connections `blink()` cuts, as a network that drops them. */
async function blinkingProxy() {
  const sockets = new Set<Socket>();
  let resumes = 0;
  const proxy = createServer((client) => {
    const upstream = connect(Number(h.url.port), '127.0.0.1');
    const end = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('error', end).on('close', end);
    }
    client.on('data', (chunk: Buffer) => {
      if (/^last-event-id:/im.test(chunk.toString('latin1'))) resumes += 1;
    });
    client.pipe(upstream).pipe(client);
  });
  proxy.listen(0, '127.0.0.1');
  await once(proxy, 'listening');
  const url = new URL(h.url);
  url.port = String((proxy.address() as AddressInfo).port);
  return {
    url,
    blink: () => {
      for (const socket of sockets) socket.destroy();
    },
    /** Requests that came with `Last-Event-ID`. */
    resumes: () => resumes,
    close: () => {
      const closed = new Promise<void>((resolve) => proxy.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      return closed;
    },
  };
}

describe('a long stream whose connection drops under the SDK’s client', () => {
  it('is resumed by the client itself: the one answer, progress still counting up, one provider request', async () => {
    const proxy = await blinkingProxy();
    const client = new Client({ name: 'blinking', version: '1' });
    await client.connect(
      new StreamableHTTPClientTransport(proxy.url, {
        requestInit: { headers: { authorization: `Bearer ${ALICE}` } },
      }),
    );
    try {
      const seen: number[] = [];
      let blinked = false;
      const result = await client.callTool(
        {
          name: 'chat',
          arguments: { prompt: 'blink', provider: 'local', model: 'fault:ok:chunk-ms=40:tag=blink' },
        },
        {
          onprogress: (p) => {
            seen.push(p.progress);
            if (!blinked && /[1-9]\d* chars so far/.test(p.message ?? '')) {
              blinked = true;
              proxy.blink();
            }
          },
        },
      );
      expect(blinked).toBe(true);
      expect(proxy.resumes()).toBeGreaterThanOrEqual(1);
      expect(structured(result)).toMatchObject({ ok: true, content: ANSWER, session: { state: 'done' } });
      for (let i = 1; i < seen.length; i++) expect(seen[i]).toBeGreaterThan(seen[i - 1] as number);
      const requests = server.requests.filter(tagged('blink'));
      expect(requests).toHaveLength(1);
      expect(requests[0]?.completed).toBe(true);
    } finally {
      await client.close();
      await proxy.close();
    }
  });
});

describe('a resumed stream the client closes again', () => {
  it('is watched as the first was: its call cancelled once disconnectGraceMs passed', async () => {
    const sid = await open(ALICE);
    const cut = new AbortController();
    const response = await send(ALICE, sid, call(8, 'again', 60), cut.signal);
    const wire = await readUntil(response, (w) => /^id: ?\S+$/m.test(w));
    cut.abort();
    const lastEventId = (/^id: ?(\S+)$/m.exec(wire) as RegExpExecArray)[1] as string;
    await sleep(200); // the network blinks
    const again = new AbortController();
    const resumed = await fetch(h.url, {
      method: 'GET',
      signal: again.signal,
      headers: {
        ...HEADERS,
        Accept: 'text/event-stream',
        authorization: `Bearer ${ALICE}`,
        'Mcp-Session-Id': sid,
        'Last-Event-ID': lastEventId,
      },
    });
    expect(resumed.status).toBe(200);
    await resumed.body!.getReader().read();
    const request = await server.waitForRequest(tagged('again'));
    const closedAgainAt = Date.now();
    again.abort(); // and blinks for good
    const closedAt = await server.waitForClose(request);
    expect(request.completed).toBe(false);
    expect(closedAt - closedAgainAt).toBeGreaterThanOrEqual(GRACE_MS - 100);
    expect(closedAt - closedAgainAt).toBeLessThan(GRACE_MS + 1500);
    expect(h.mcp.runtime.status({ recent: 10 }).recent.find((s) => s.requestId === '8')?.state).toBe(
      'cancelled',
    );
  });
});

describe('a client process killed mid-stream', () => {
  it('has its call cancelled once disconnectGraceMs passed, and the provider request closed', async () => {
    const sid = await open(ALICE);
    const script = `
      const res = await fetch(process.argv[1], { method: 'POST', headers: JSON.parse(process.argv[2]), body: process.argv[3] });
      for await (const chunk of res.body) process.stdout.write(chunk);
    `;
    const headers = { ...HEADERS, authorization: `Bearer ${ALICE}`, 'Mcp-Session-Id': sid };
    const child = spawn(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        script,
        h.url.href,
        JSON.stringify(headers),
        JSON.stringify(call(9, 'killed', 60)),
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    await new Promise<void>((resolve) => {
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        if (out.includes('chars so far')) resolve();
      });
    });
    const request = await server.waitForRequest(tagged('killed'));
    const killedAt = Date.now();
    child.kill('SIGKILL');
    const closedAt = await server.waitForClose(request);
    expect(request.completed).toBe(false);
    // Not at once (a resume may come within the grace), and not long after it.
    expect(closedAt - killedAt).toBeGreaterThanOrEqual(GRACE_MS - 100);
    expect(closedAt - killedAt).toBeLessThan(GRACE_MS + 1500);
    const ended = h.mcp.runtime.status({ recent: 10 }).recent.find((s) => s.requestId === '9');
    expect(ended?.state).toBe('cancelled');
  });
});

describe('a long call run as a task', () => {
  it('is read from a new HTTP session of the same token, while it streams and once done; never by another token', async () => {
    const first = await h.client('legacy', { authorization: `Bearer ${ALICE}` });
    const { task } = await v1(first).create({
      prompt: 'a task',
      provider: 'local',
      model: 'fault:ok:chunk-ms=20:tag=task',
    });
    await server.waitForRequest(tagged('task'));
    await first.close(); // the client goes away; its named token's task does not
    await sleep(300);

    const again = await h.client('legacy', { authorization: `Bearer ${ALICE}` });
    const bob = await h.client('legacy', { authorization: `Bearer ${BOB}` });
    const working = await v1(again).get(task.taskId);
    expect(working.status).toBe('working');
    expect(working.statusMessage).toMatch(/running, \d+ chars so far/);
    await expect(v1(bob).get(task.taskId)).rejects.toMatchObject({ code: -32602 });
    await expect(v1(bob).result(task.taskId)).rejects.toMatchObject({ code: -32602 });
    expect((await v1(bob).list()).tasks.map((t) => t.taskId)).not.toContain(task.taskId);
    await expect(v1(bob).cancel(task.taskId)).rejects.toMatchObject({ code: -32602 });

    const result = await v1(again).result(task.taskId);
    expect(structured(result)).toMatchObject({ ok: true, content: ANSWER, session: { state: 'done' } });
    expect(
      (result._meta as Record<string, unknown> | undefined)?.['io.modelcontextprotocol/related-task'],
    ).toMatchObject({ taskId: task.taskId });
    expect((await v1(again).get(task.taskId)).status).toBe('completed');
    await expect(v1(bob).get(task.taskId)).rejects.toMatchObject({ code: -32602 });
    expect(server.requests.filter(tagged('task'))).toHaveLength(1);
  });
});
