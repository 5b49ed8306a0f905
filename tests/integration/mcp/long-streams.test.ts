/**
 * Long streaming calls over Streamable HTTP, as an MCP host makes them: the SDK's real client (or
 * the raw 2025-era wire where a cut must be exact) against `createHttpApp`, the model served by the
 * local OpenAI-compatible server streaming slowly (many chunks, a stall mid-answer, a malformed
 * chunk, a reset). Progress while it streams, a client that goes away mid-answer, a cancellation,
 * and the errors a broken stream ends in (docs/mcp.md, "Progress, cancellation, errors").
 */
import type { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import type { McpServer, Transport } from '@modelcontextprotocol/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OpenAIServer } from '../../../src/testing/openai-server.js';
import { v1 } from '../../support/tasks-v1.js';
import { type Harness, structured, text } from './harness.js';
import { ANSWER, type LocalStreams, readUntil, startLocalStreams, tagged } from './local-streams.js';
import { openSession, post } from './raw-legacy.js';

// Well above the 25 ms between chunks: 600 ms was crossed by a busy machine's pauses in a healthy stream.
const IDLE_MS = 2000;

interface Sent {
  readonly at: number;
  readonly progress: number;
  readonly message: string;
}

/**
 * Every progress notification the servers send, timed as they hand it to their transport: in the
 * same synchronous call as the progress reporter's own clock read that spaced it, so a late
 * delivery to the client moves none of these times (measured on arrival, one did).
 */
const sent: Sent[] = [];
function timeProgress(mcpServer: McpServer): void {
  const connect = mcpServer.connect.bind(mcpServer);
  mcpServer.connect = (transport: Transport) => {
    const send = transport.send.bind(transport);
    transport.send = (message, options) => {
      if ('method' in message && message.method === 'notifications/progress') {
        const params = message.params as { progress: number; message?: string };
        sent.push({ at: performance.now(), progress: params.progress, message: params.message ?? '' });
      }
      return send(message, options);
    };
    return connect(transport);
  };
}

let local: LocalStreams;
let server: OpenAIServer;
let h: Harness;
beforeAll(async () => {
  local = await startLocalStreams({
    runtime: { defaults: { idleTimeoutMs: IDLE_MS } },
    http: { disconnectGraceMs: 0, setup: timeProgress },
    // A heartbeat a second, so one sent after the result would come while the test waits.
    context: { progressIntervalMs: 1000 },
  });
  ({ server, h } = local);
});
afterAll(() => local.close());

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const chat = (model: string, prompt = 'stream it') => ({
  name: 'chat',
  arguments: { prompt, provider: 'local', model },
});

interface Seen {
  readonly at: number;
  readonly progress: number;
  readonly message: string;
}

/** A client that records every notification the SDK could not route and every error it met. */
async function watchedClient(era: 'legacy' | 'modern') {
  const client: Client = await h.client(era);
  const stray: unknown[] = [];
  const errors: Error[] = [];
  client.fallbackNotificationHandler = async (notification) => {
    stray.push(notification);
  };
  client.onerror = (error) => errors.push(error);
  return { client, stray, errors };
}

const chars = (message: string) => Number(/(\d+) chars so far/.exec(message)?.[1] ?? Number.NaN);

describe.each(['legacy', 'modern'] as const)('progress of a long stream (%s era)', (era) => {
  it('counts up, at most one a second for characters alone, and none after the result', async () => {
    const { client, stray, errors } = await watchedClient(era);
    const seen: Seen[] = [];
    sent.length = 0;
    const started = Date.now();
    const result = await client.callTool(chat(`fault:ok:chunk-ms=25:tag=progress-${era}`), {
      onprogress: (p) => seen.push({ at: Date.now(), progress: p.progress, message: p.message ?? '' }),
    });
    const answeredAt = Date.now();
    expect(structured(result)).toMatchObject({ ok: true, content: ANSWER, session: { state: 'done' } });
    const request = await server.waitForRequest(tagged(`progress-${era}`));
    expect(request.body).toMatchObject({ stream: true });
    // Streams about 2.5 s: "running" at the start, then the character counts.
    expect(answeredAt - started).toBeGreaterThan(2000);
    expect(seen.length).toBeGreaterThanOrEqual(3);
    for (const [i, s] of seen.entries()) {
      if (i > 0) expect(s.progress).toBeGreaterThan((seen[i - 1] as Seen).progress);
    }
    const counts = seen.map((s) => chars(s.message)).filter((n) => !Number.isNaN(n));
    expect(counts).toEqual([...counts].sort((a, b) => a - b));
    expect(counts.at(-1)).toBeGreaterThan(0);
    expect(counts.at(-1)).toBeLessThanOrEqual(ANSWER.length);
    // Rate: one on the start, then streamed characters (or the heartbeat) at most once a second,
    // on the server's side: a count goes out 1000 ms after the notification before it, a heartbeat
    // 995 ms (both on the reporter's whole-millisecond clock; 990 leaves its rounding and the
    // microseconds between its read and the transport's). The client saw what was sent, in order.
    expect(seen.map((s) => [s.progress, s.message])).toEqual(sent.map((s) => [s.progress, s.message]));
    for (const [i, s] of sent.entries()) {
      const before = sent[i - 1];
      if (before !== undefined && chars(s.message) > chars(before.message))
        expect(s.at - before.at).toBeGreaterThanOrEqual(990);
    }
    expect(seen.length).toBeLessThanOrEqual(2 + Math.ceil((answeredAt - started) / 1000));
    // None after the result: one would reach no handler, and the SDK says so on `onerror`.
    await sleep(1200);
    expect(seen.every((s) => s.at <= answeredAt)).toBe(true);
    expect(stray).toEqual([]);
    expect(errors).toEqual([]);
  });

  it('sends no progress to a call without a progressToken, which takes its answer whole', async () => {
    const { client, stray, errors } = await watchedClient(era);
    const result = await client.callTool(chat(`fault:ok:chunk-ms=5:tag=quiet-${era}`));
    expect(structured(result)).toMatchObject({ ok: true, content: ANSWER });
    const request = await server.waitForRequest(tagged(`quiet-${era}`));
    expect((request.body as { stream?: boolean }).stream).not.toBe(true);
    await sleep(200);
    expect(stray).toEqual([]);
    expect(errors).toEqual([]);
  });
});

describe.each(['legacy', 'modern'] as const)('a long stream the client leaves (%s era)', (era) => {
  it('an aborted call is cancelled and its provider request closed mid-stream, nothing kept', async () => {
    const { client } = await watchedClient(era);
    const before = h.mcp.runtime.metrics().ended.cancelled;
    const controller = new AbortController();
    let progressed = 0;
    const call = client.callTool(chat(`fault:ok:chunk-ms=50:tag=abort-${era}`), {
      signal: controller.signal,
      onprogress: () => {
        progressed += 1;
      },
    });
    const request = await server.waitForRequest(tagged(`abort-${era}`));
    await expect.poll(() => progressed, { timeout: 3000 }).toBeGreaterThanOrEqual(2);
    const abortedAt = Date.now();
    controller.abort('user pressed stop');
    await expect(call).rejects.toThrow();
    const closedAt = await server.waitForClose(request);
    expect(request.completed).toBe(false);
    expect(closedAt - abortedAt).toBeLessThan(1000);
    await expect.poll(() => h.mcp.runtime.status().running).toBe(0);
    // One end, cancelled, with its metadata; nothing after it.
    await sleep(300);
    expect(h.mcp.runtime.metrics().ended.cancelled).toBe(before + 1);
    expect(h.mcp.runtime.status({ recent: 1 }).recent[0]).toMatchObject({
      state: 'cancelled',
      provider: 'local',
    });
  });
});

describe('a 2025-era POST stream the client closes mid-answer', () => {
  it('cancels the call at once with disconnectGraceMs 0, closing the provider request', async () => {
    const sid = await openSession(h.url);
    const cut = new AbortController();
    const before = h.mcp.runtime.metrics().ended.cancelled;
    const response = await post(
      h.url,
      sid,
      {
        jsonrpc: '2.0',
        id: 3,
        method: 'tools/call',
        params: { ...chat('fault:ok:chunk-ms=50:tag=cut'), _meta: { progressToken: 'p' } },
      },
      cut.signal,
    );
    await readUntil(response, (wire) => wire.includes('chars so far'));
    const request = await server.waitForRequest(tagged('cut'));
    const cutAt = Date.now();
    cut.abort();
    const closedAt = await server.waitForClose(request);
    expect(request.completed).toBe(false);
    expect(closedAt - cutAt).toBeLessThan(1000);
    await expect.poll(() => h.mcp.runtime.metrics().ended.cancelled).toBe(before + 1);
    expect(h.mcp.runtime.status().running).toBe(0);
  });
});

describe('notifications/cancelled POSTed on its own for a 2025-era call mid-stream', () => {
  it('closes the provider request, ends the call’s stream with no answer, and ends the session once', async () => {
    const sid = await openSession(h.url);
    const before = h.mcp.runtime.metrics().ended.cancelled;
    const response = await post(h.url, sid, {
      jsonrpc: '2.0',
      id: 4,
      method: 'tools/call',
      params: { ...chat('fault:ok:chunk-ms=50:tag=notified'), _meta: { progressToken: 'n' } },
    });
    const reader = response.body!.getReader();
    let wire = '';
    while (!wire.includes('chars so far')) wire += new TextDecoder().decode((await reader.read()).value);
    const request = await server.waitForRequest(tagged('notified'));
    const cancelledAt = Date.now();
    const cancel = await post(h.url, sid, {
      jsonrpc: '2.0',
      method: 'notifications/cancelled',
      params: { requestId: 4, reason: 'enough' },
    });
    expect(cancel.status).toBe(202);
    for (;;) {
      const next = await reader.read();
      if (next.done) break;
      wire += new TextDecoder().decode(next.value);
    }
    expect(wire).not.toMatch(/"id":4/);
    const closedAt = await server.waitForClose(request);
    expect(request.completed).toBe(false);
    expect(closedAt - cancelledAt).toBeLessThan(1000);
    await sleep(200);
    expect(h.mcp.runtime.metrics().ended.cancelled).toBe(before + 1);
    expect(h.mcp.runtime.status({ recent: 1 }).recent[0]).toMatchObject({
      state: 'cancelled',
      provider: 'local',
      requestId: '4',
    });
  });
});

describe('cancel_session on a call mid-stream', () => {
  it('ends it once, CANCELLED with what was written and the session metadata', async () => {
    const { client } = await watchedClient('legacy');
    const call = client.callTool(chat('fault:ok:chunk-ms=50:tag=cancel-session'), {
      onprogress: () => {},
    });
    const request = await server.waitForRequest(tagged('cancel-session'));
    await sleep(600);
    const running = structured(await client.callTool({ name: 'sessions', arguments: {} })).live_by_state
      .running;
    expect(running).toHaveLength(1);
    const cancelledAt = Date.now();
    await client.callTool({ name: 'cancel_session', arguments: { session_id: running[0].sessionId } });
    const result = await call;
    const closedAt = await server.waitForClose(request);
    expect(request.completed).toBe(false);
    expect(closedAt - cancelledAt).toBeLessThan(1000);
    const body = structured(result);
    expect(result.isError).toBe(true);
    expect(body.error.code).toBe('CANCELLED');
    expect(body.session).toMatchObject({
      sessionId: running[0].sessionId,
      state: 'cancelled',
      provider: 'local',
    });
    expect(body.partial_answer.content.length).toBeGreaterThan(0);
    expect(ANSWER.startsWith(body.partial_answer.content)).toBe(true);
    expect(text(result)).toContain(body.partial_answer.content);
    const ends = h.mcp.runtime
      .status({ recent: 20 })
      .recent.filter((s) => s.sessionId === running[0].sessionId);
    expect(ends).toHaveLength(1);
  });
});

describe('a stream that breaks mid-answer', () => {
  it('stalled past the idle timeout: TIMED_OUT (idle), what came before in partial_answer', async () => {
    const { client } = await watchedClient('legacy');
    const started = Date.now();
    const result = await client.callTool(chat('fault:stall:after=11:tag=stall'), { onprogress: () => {} });
    expect(Date.now() - started).toBeGreaterThanOrEqual(IDLE_MS);
    const body = structured(result);
    expect(result.isError).toBe(true);
    expect(body.error).toMatchObject({ code: 'TIMED_OUT', timeout: 'idle' });
    // The role chunk, then ten pieces of four characters.
    expect(body.partial_answer).toEqual({ content: ANSWER.slice(0, 40) });
    expect(body.session).toMatchObject({ state: 'timedOut', provider: 'local' });
    const request = await server.waitForRequest(tagged('stall'));
    await server.waitForClose(request);
    expect(request.completed).toBe(false);
  });

  it('a malformed chunk: BAD_RESPONSE, what came before in partial_answer', async () => {
    const { client } = await watchedClient('legacy');
    const result = await client.callTool(chat('fault:bad-sse:after=6:chunk-ms=20:tag=bad'), {
      onprogress: () => {},
    });
    const body = structured(result);
    expect(result.isError).toBe(true);
    expect(body.error).toMatchObject({ code: 'BAD_RESPONSE' });
    expect(body.partial_answer).toEqual({ content: ANSWER.slice(0, 20) });
    expect(body.session).toMatchObject({ state: 'failed', attempts: 1 });
    expect(server.requests.filter(tagged('bad'))).toHaveLength(1);
  });

  it('a reset mid-answer: NETWORK, what came before in partial_answer, no retry', async () => {
    const { client } = await watchedClient('legacy');
    const result = await client.callTool(chat('fault:reset-mid:after=4:tag=reset'), { onprogress: () => {} });
    const body = structured(result);
    expect(result.isError).toBe(true);
    expect(body.error).toMatchObject({ code: 'NETWORK' });
    expect(body.partial_answer).toEqual({ content: ANSWER.slice(0, 12) });
    expect(server.requests.filter(tagged('reset'))).toHaveLength(1);
    expect(body.session.attempts).toBe(1);
  });

  // Until 2026-12-07 it waited for the run deadline: a whole answer had no idle bound.
  it('a stall without a progress token (taken whole) ends on the idle bound between body bytes, long before its run deadline: nothing partial', async () => {
    const { client } = await watchedClient('legacy');
    const started = Date.now();
    const result = await client.callTool({
      name: 'chat',
      arguments: {
        prompt: 'whole',
        provider: 'local',
        model: 'fault:stall:tag=stall-whole',
        timeout_ms: 20_000,
      },
    });
    expect(Date.now() - started).toBeGreaterThanOrEqual(IDLE_MS);
    expect(Date.now() - started).toBeLessThan(10_000);
    const body = structured(result);
    expect(result.isError).toBe(true);
    expect(body.error).toMatchObject({ code: 'TIMED_OUT', timeout: 'idle' });
    expect(body.partial_answer).toBeUndefined();
    const request = await server.waitForRequest(tagged('stall-whole'));
    expect((request.body as { stream?: boolean }).stream).not.toBe(true);
  });
});

describe('a long task of an MCP session without a named token', () => {
  it('is cancelled when its session ends (DELETE), its provider request closed, and no other session reads it', async () => {
    const { client } = await watchedClient('legacy');
    const { task } = await v1(client).create(chat('fault:ok:chunk-ms=50:tag=session-task').arguments);
    const request = await server.waitForRequest(tagged('session-task'));
    await sleep(300);
    const endedAt = Date.now();
    await (client.transport as StreamableHTTPClientTransport).terminateSession();
    const closedAt = await server.waitForClose(request);
    expect(request.completed).toBe(false);
    expect(closedAt - endedAt).toBeLessThan(1000);
    await expect.poll(async () => (await h.mcp.tasks.get(task.taskId))?.status).toBe('cancelled');
    expect((await h.mcp.tasks.get(task.taskId))?.statusMessage).toBe(
      'cancelled by the end of its MCP session',
    );
    const other = await h.client('legacy');
    await expect(v1(other).get(task.taskId)).rejects.toMatchObject({ code: -32602 });
  });
});
