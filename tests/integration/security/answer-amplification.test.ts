/**
 * What one small request can make the server build is bounded. A JSON-RPC batch (the SDK takes up
 * to 100 messages in one 2025-era POST) of `sessions` calls each asking `recent_limit` 1000 made
 * the server build every session asked for, 100 times over: an audit (2026-12-05) had `troupe
 * serve` build a 30 MB answer from an 11 KB request (0.9 s of its CPU, 90 MB more at its peak).
 * One answer now lists at most 100 sessions and 32 KiB of them (`src/mcp/sessions-page.ts`), the
 * rest by `cursor`. The same batch could ask for one task's stored result 100 times: one result a
 * request now (`src/mcp/tasks/task-handlers.ts`).
 */
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { CreateTaskResultV1Schema } from '@modelcontextprotocol/ext-tasks/core/v1';
import { afterEach, expect, it } from 'vitest';
import { ANSWER_BUDGET_BYTES } from '../../../src/mcp/answer-budget.js';
import { createSimulatedProvider } from '../../../src/providers/simulated.js';
import { defaultProviders, type Harness, startHarness } from '../mcp/harness.js';
import { HEADERS, openSession } from './raw-http.js';

const harnesses: Harness[] = [];
afterEach(async () => {
  await Promise.allSettled(harnesses.splice(0).map((h) => h.close()));
});

interface Message {
  readonly result?: { readonly structuredContent?: unknown; readonly contents?: { text: string }[] };
  readonly error?: { readonly code: number; readonly message: string };
}

/** The JSON-RPC answers in an SSE stream. */
function answersIn(stream: string): Message[] {
  return stream
    .split('\n')
    .filter((line) => line.startsWith('data: {'))
    .map((line) => JSON.parse(line.slice(6)) as Message);
}

/** One batch of `count` tool calls of `name` with `args` in MCP session `sid`; the SSE answer's text. */
async function batch(h: Harness, sid: string, count: number, name: string, args: object): Promise<string> {
  const body = JSON.stringify(
    Array.from({ length: count }, (_, i) => ({
      jsonrpc: '2.0',
      id: i + 10,
      method: 'tools/call',
      params: { name, arguments: args },
    })),
  );
  const answer = await fetch(h.url, { method: 'POST', headers: { ...HEADERS, 'mcp-session-id': sid }, body });
  expect(answer.status).toBe(200);
  return answer.text();
}

it('builds at most 100 sessions an answer for a batch of `sessions` calls asking 1000 each', async () => {
  const h = await startHarness();
  harnesses.push(h);
  const sid = await openSession(h);
  // 300 ended sessions of this client's (as its `chat` calls would leave them, without the wait).
  const owner = { metadata: { owner: `mcp:${sid}` }, label: 'chat' };
  const ends = Array.from(
    { length: 300 },
    (_, i) => h.mcp.runtime.submit({ messages: [{ role: 'user', content: `q${i}` }] }, owner).result,
  );
  await Promise.all(ends);
  const stream = await batch(h, sid, 100, 'sessions', { recent_limit: 1000 });
  const messages = answersIn(stream);
  expect(messages).toHaveLength(100);
  const answered = messages.filter((m) => m.result !== undefined);
  for (const answer of answered.map((m) => m.result?.structuredContent as Record<string, unknown>)) {
    expect(answer.recent).toHaveLength(100);
    expect(typeof answer.recent_next_cursor).toBe('string');
  }
  // About 30 KB each: the first 30-odd fill the request's 1 MiB answer budget; the rest are
  // refused, each saying to send it on its own (100 answers of 100 sessions were 3.1 MB).
  expect(answered.length).toBeGreaterThan(20);
  expect(answered.length).toBeLessThan(40);
  const refused = messages.filter((m) => m.error !== undefined);
  expect(refused).toHaveLength(100 - answered.length);
  expect(refused[0]?.error?.code).toBe(-32600);
  expect(refused[0]?.error?.message).toContain('send this message in a request of its own');
  expect(Buffer.byteLength(stream)).toBeLessThan(ANSWER_BUDGET_BYTES * 1.3);
  // Nothing lost: the same call alone is answered whole.
  const alone = answersIn(await batch(h, sid, 1, 'sessions', { recent_limit: 1000 }));
  const whole = alone[0]?.result?.structuredContent as { recent: unknown[] } | undefined;
  expect(whole?.recent).toHaveLength(100);
});

it('lists at most 100 live sessions of each state in `troupe://sessions`, counting the rest', async () => {
  // One slot and a provider taking 1.5 s: one of this client's 150 runs, the others wait.
  const h = await startHarness({ limits: { maxConcurrent: 1 } });
  harnesses.push(h);
  const sid = await openSession(h);
  const owner = { metadata: { owner: `mcp:${sid}` } };
  for (let i = 0; i < 150; i++) {
    const request = { provider: 'slow', messages: [{ role: 'user' as const, content: `q${i}` }] };
    h.mcp.runtime.submit(request, owner).result.catch(() => {});
  }
  const read = async () => {
    const answer = await fetch(h.url, {
      method: 'POST',
      headers: { ...HEADERS, 'mcp-session-id': sid },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 2,
        method: 'resources/read',
        params: { uri: 'troupe://sessions' },
      }),
    });
    const data = (await answer.text()).split('\n').find((line) => line.startsWith('data: {')) ?? '';
    return JSON.parse(JSON.parse(data.slice(6)).result.contents[0].text);
  };
  await expect.poll(async () => (await read()).running.length).toBe(1);
  const view = await read();
  expect(view.running).toHaveLength(1);
  expect(view.queued).toHaveLength(100);
  expect(view.live_not_shown).toEqual({ queued: 49, running: 0 });
  // A batch of 100 reads of it: those past the request's answer budget are refused (each answer
  // lists 101 sessions, about 20 KB of them), and a read on its own is answered.
  const body = JSON.stringify(
    Array.from({ length: 100 }, (_, i) => ({
      jsonrpc: '2.0',
      id: i + 10,
      method: 'resources/read',
      params: { uri: 'troupe://sessions' },
    })),
  );
  const reads = answersIn(
    await (
      await fetch(h.url, { method: 'POST', headers: { ...HEADERS, 'mcp-session-id': sid }, body })
    ).text(),
  );
  expect(reads).toHaveLength(100);
  const answered = reads.filter((m) => m.result !== undefined).length;
  expect(answered).toBeGreaterThan(10);
  expect(answered).toBeLessThan(90);
  expect(reads.find((m) => m.error !== undefined)?.error?.code).toBe(-32600);
  expect((await read()).queued).toHaveLength(100);
});

it('answers one task’s result once in a batch, refusing the repeats, and again to a later request', async () => {
  const h = await startHarness();
  harnesses.push(h);
  const transport = new StreamableHTTPClientTransport(h.url);
  const client = new Client({ name: 'reads', version: '1' });
  await client.connect(transport);
  const created = await client.request(
    {
      method: 'tools/call',
      params: { name: 'chat', arguments: { prompt: 'hi' }, task: {} },
    } as Parameters<Client['request']>[0],
    CreateTaskResultV1Schema,
  );
  const params = { taskId: created.task.taskId };
  const sid = transport.sessionId as string;
  const read = async (count: number) => {
    const body = JSON.stringify(
      Array.from({ length: count }, (_, i) => ({
        jsonrpc: '2.0',
        id: i + 10,
        method: 'tasks/result',
        params,
      })),
    );
    const answer = await fetch(h.url, {
      method: 'POST',
      headers: { ...HEADERS, 'mcp-session-id': sid },
      body,
    });
    return (await answer.text())
      .split('\n')
      .filter((line) => line.startsWith('data: {'))
      .map(
        (line) =>
          JSON.parse(line.slice(6)) as { result?: unknown; error?: { code: number; message: string } },
      );
  };
  const answers = await read(10);
  expect(answers.filter((a) => a.result !== undefined)).toHaveLength(1);
  const refused = answers.filter((a) => a.error !== undefined);
  expect(refused).toHaveLength(9);
  expect(refused[0]?.error?.code).toBe(-32600);
  expect(refused[0]?.error?.message).toContain('send a request of its own to read it again');
  // Nothing lost: the result is there for the next request.
  expect((await read(1))[0]?.result).toBeDefined();
  await client.close();
});

it('answers distinct tasks’ results in one batch up to the request’s answer budget, the rest later', async () => {
  // Each answer about 60 KB of words, twice in a result (its text and its structured content).
  const big = createSimulatedProvider({
    name: 'big',
    latencyMs: { min: 1, max: 1 },
    answerWords: { min: 10_000, max: 10_000 },
    tokensPerSec: 1e9,
  });
  const h = await startHarness({ providers: [big, ...defaultProviders()] });
  harnesses.push(h);
  const transport = new StreamableHTTPClientTransport(h.url);
  const client = new Client({ name: 'reads', version: '1' });
  await client.connect(transport);
  const ids: string[] = [];
  for (let i = 0; i < 20; i++) {
    const created = await client.request(
      {
        method: 'tools/call',
        params: {
          name: 'chat',
          arguments: { prompt: `q${i}`, provider: 'big', model: 'sim-fast' },
          task: {},
        },
      } as Parameters<Client['request']>[0],
      CreateTaskResultV1Schema,
    );
    ids.push(created.task.taskId);
  }
  const sid = transport.sessionId as string;
  const read = async (taskIds: readonly string[]) => {
    const body = JSON.stringify(
      taskIds.map((taskId, i) => ({
        jsonrpc: '2.0',
        id: i + 10,
        method: 'tasks/result',
        params: { taskId },
      })),
    );
    const answer = await fetch(h.url, {
      method: 'POST',
      headers: { ...HEADERS, 'mcp-session-id': sid },
      body,
    });
    const text = await answer.text();
    return { messages: answersIn(text), bytes: Buffer.byteLength(text) };
  };
  const { messages, bytes } = await read(ids);
  expect(messages).toHaveLength(20);
  const answered = messages.filter((m) => m.result !== undefined);
  const refused = messages.filter((m) => m.error !== undefined);
  expect(answered.length).toBeGreaterThan(0);
  expect(refused.length).toBeGreaterThan(0);
  expect(refused[0]?.error?.code).toBe(-32600);
  expect(refused[0]?.error?.message).toContain('answer budget of this HTTP request is spent');
  // The stream holds each result's JSON once more, escaped in its SSE line: about twice the budget.
  expect(bytes).toBeLessThan(ANSWER_BUDGET_BYTES * 2.5);
  // Nothing lost: a refused one is read by a request of its own.
  const again = ids[messages.indexOf(refused[0] as Message)] as string;
  expect((await read([again])).messages[0]?.result).toBeDefined();
  await client.close();
});
