/**
 * MCP tasks over Streamable HTTP with the SDK's real client: 2025-11-25 (`params.task`,
 * `tasks/get|result|list|cancel`) through `client.request()` with ext-tasks' schemas and through
 * ext-tasks' own requester; 2026-07-28 (the tasks extension) through ext-tasks' requester over raw
 * HTTP, since the SDK client does not frame the extension's requests itself.
 */

import type { Client } from '@modelcontextprotocol/client';
import {
  createTaskSessionFromClient,
  type JsonRpcResponse,
  resultFromTaskOutcome,
  toolDeclarationFromMcpTool,
} from '@modelcontextprotocol/ext-tasks/client';
import { CreateTaskResultV1Schema } from '@modelcontextprotocol/ext-tasks/core/v1';
import { CreateTaskResultV2Schema, GetTaskResultV2Schema } from '@modelcontextprotocol/ext-tasks/core/v2';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryTaskStore } from '../../../src/mcp/tasks/memory-task-store.js';
import type { ChatProvider } from '../../../src/providers/port.js';
import { createSimulatedProvider } from '../../../src/providers/simulated.js';
import { withAbortLog } from '../../support/abort-log.js';
import { v1 } from '../../support/tasks-v1.js';
import { type Harness, type HarnessOptions, startHarness } from './harness.js';

const harnesses: Harness[] = [];
afterEach(async () => {
  await Promise.allSettled(harnesses.splice(0).map((h) => h.close()));
});

async function start(options: HarnessOptions = {}): Promise<Harness> {
  const h = await startHarness(options);
  harnesses.push(h);
  return h;
}

// biome-ignore lint/suspicious/noExplicitAny: assertions read arbitrary tool JSON
const sc = (result: unknown) => (result as { structuredContent: Record<string, any> }).structuredContent;

async function until<T>(read: () => Promise<T>, ok: (value: T) => boolean, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (ok(value) || Date.now() > deadline) return value;
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A simulated provider that records each request's abort. */
function recording(name: string): { provider: ChatProvider; aborted: string[] } {
  const aborted: string[] = [];
  const inner = createSimulatedProvider({ name, latencyMs: { min: 1, max: 5 } });
  return { aborted, provider: withAbortLog(inner, aborted) };
}

describe('MCP tasks, 2025-11-25 clients', () => {
  it('advertises the tasks capability and taskSupport on model-calling tools', async () => {
    const h = await start();
    const client = await h.client('legacy');
    expect(client.getServerCapabilities()?.tasks).toEqual({
      list: {},
      cancel: {},
      requests: { tools: { call: {} } },
    });
    const { tools } = await client.listTools();
    const support = Object.fromEntries(tools.map((t) => [t.name, t.execution?.taskSupport]));
    expect(support).toEqual({
      chat: 'optional',
      multi_file_chat: 'optional',
      consensus: 'optional',
      list_models: undefined,
      sessions: undefined,
      cancel_session: undefined,
    });
  });

  it('grants the default ttl to a ttl of 0 or less, so the task outlives the next sweep and its result can be read', async () => {
    const h = await start();
    const tasks = v1(await h.client('legacy'));
    const zero = await tasks.create({ prompt: 'zero', extra: { simulateLatencyMs: 1500 } }, { ttl: 0 });
    const negative = await tasks.create(
      { prompt: 'negative', extra: { simulateLatencyMs: 1500 } },
      { ttl: -1 },
    );
    expect(zero.task.ttl).toBe(3_600_000);
    expect(negative.task.ttl).toBe(3_600_000);
    // Past a sweep (every second): granted 1 ms, both were gone and their calls cancelled by now.
    for (const task of [zero, negative]) {
      expect(sc(await tasks.result(task.task.taskId))).toMatchObject({
        ok: true,
        session: { state: 'done' },
      });
    }
  });

  it('creates a task at once; working while queued and running; completed with the result and metadata', async () => {
    const h = await start({ limits: { maxConcurrent: 1 } });
    const tasks = v1(await h.client('legacy'));
    // Long enough for the polls below to see it running and the second queued, even on a loaded machine.
    const first = await tasks.create({ prompt: 'one', extra: { simulateLatencyMs: 2500 } }, { ttl: 60_000 });
    const second = await tasks.create({ prompt: 'two', extra: { simulateLatencyMs: 50 } });
    // At once: creating a task does not wait for its session (the second is queued behind the first).
    expect(second.task.status).toBe('working');
    expect(first.task).toMatchObject({ status: 'working', ttl: 60_000, pollInterval: 1000 });
    expect(second.task.ttl).toBe(3_600_000);

    const running = await until(
      () => tasks.get(first.task.taskId),
      (t) => /running/.test(t.statusMessage ?? ''),
    );
    expect(running.status).toBe('working');
    const queued = await until(
      () => tasks.get(second.task.taskId),
      (t) => /queued/.test(t.statusMessage ?? ''),
    );
    expect(queued).toMatchObject({
      status: 'working',
      statusMessage: expect.stringMatching(/^queued, \d+ ahead when it joined$/),
    });
    // tasks/list says what tasks/get says (until 2026-12-04 it said "starting" for every working task).
    const page = (await tasks.list()).tasks;
    expect(page.find((t) => t.taskId === first.task.taskId)?.statusMessage).toMatch(/^running/);
    expect(page.find((t) => t.taskId === second.task.taskId)?.statusMessage).toMatch(/^queued, \d+ ahead/);

    // tasks/result blocks until the task ends, then returns the tool's own result.
    const result = await tasks.result(second.task.taskId);
    expect(sc(result)).toMatchObject({ ok: true, session: { state: 'done', provider: 'fast' } });
    expect(result._meta).toMatchObject({
      'io.modelcontextprotocol/related-task': { taskId: second.task.taskId },
    });
    expect(sc(result).content).toEqual(expect.any(String));
    expect(sc(result).session.queuedMs).toBeGreaterThan(100);
    expect(await tasks.get(second.task.taskId)).toMatchObject({ status: 'completed' });
    expect(await tasks.get(first.task.taskId)).toMatchObject({ status: 'completed', statusMessage: 'done' });

    const listed = await tasks.list();
    expect(listed.tasks.map((t) => t.taskId)).toEqual([first.task.taskId, second.task.taskId]);
  });

  it('ends failed for a provider failure and for a timeout; tasks/result carries the error', async () => {
    const h = await start();
    const tasks = v1(await h.client('legacy'));
    const auth = await tasks.create({ prompt: 'x', extra: { simulate: 'auth_failed' } });
    const slow = await tasks.create({ prompt: 'x', timeout_ms: 100, extra: { simulate: 'hang' } });

    const authResult = await tasks.result(auth.task.taskId);
    expect(authResult.isError).toBe(true);
    expect(sc(authResult)).toMatchObject({
      ok: false,
      error: { code: 'AUTH_FAILED' },
      session: { state: 'failed' },
    });
    expect(await tasks.get(auth.task.taskId)).toMatchObject({
      status: 'failed',
      statusMessage: expect.stringMatching(/^AUTH_FAILED/),
    });

    const slowResult = await tasks.result(slow.task.taskId);
    expect(sc(slowResult)).toMatchObject({ error: { code: 'TIMED_OUT' }, session: { state: 'timedOut' } });
    expect(await tasks.get(slow.task.taskId)).toMatchObject({ status: 'failed' });
  });

  it('streams a task’s call: its status counts the characters, and a timeout mid-answer keeps them in partial_answer', async () => {
    // Until 2026-12-04 a task's calls took their answer whole: "running" with no count, and a
    // timeout lost what the model had written.
    const h = await start({ providers: [createSimulatedProvider({ name: 'slowish', tokensPerSec: 40 })] });
    const tasks = v1(await h.client('legacy'));
    const cut = await tasks.create({
      prompt: 'long enough',
      model: 'sim-fast',
      timeout_ms: 1500,
      extra: { simulate: 'stall' },
    });
    const counting = await until(
      () => tasks.get(cut.task.taskId),
      (t) => /chars so far/.test(t.statusMessage ?? ''),
    );
    expect(counting.statusMessage).toMatch(/^running, \d+ chars so far$/);
    const result = await tasks.result(cut.task.taskId);
    expect(result.isError).toBe(true);
    expect(sc(result)).toMatchObject({ error: { code: 'TIMED_OUT' }, session: { state: 'timedOut' } });
    expect(sc(result).partial_answer.content).toMatch(/^On "long enough": \S/);
  });

  it('keeps a result only within the caller’s bytes: one too large fails its task saying so, the answer not kept', async () => {
    // 300 words a answer: about 2 KB of text, twice in a result with its metadata.
    const wordy = createSimulatedProvider({
      name: 'fast',
      latencyMs: { min: 1, max: 1 },
      answerWords: { min: 300, max: 300 },
    });
    const h = await start({
      providers: [wordy],
      context: { tasks: { maxResultBytes: 1_000_000, maxResultBytesPerOwner: 3_000 } },
    });
    const tasks = v1(await h.client('legacy'));
    const big = await tasks.create({ prompt: 'say a lot' });
    const result = await tasks.result(big.task.taskId);
    expect(result.isError).toBe(true);
    // The session's metadata stays (what the call did and cost); its answer does not.
    expect(sc(result)).toMatchObject({
      ok: false,
      error: { code: 'INVALID_REQUEST' },
      session: { state: 'done', provider: 'fast' },
    });
    expect(JSON.stringify(result).length).toBeLessThan(3_000);
    const message = `${sc(result).error.message}`;
    expect(message).toMatch(
      /^Expected a task result of at most 3000 bytes \(maxResultBytesPerOwner\), got \d{4,} bytes: the answer was not kept; ask for a shorter one \(max_tokens\) or call the tool without a task$/,
    );
    expect(await tasks.get(big.task.taskId)).toMatchObject({ status: 'failed', statusMessage: message });
    // The same call without a task answers whole: only what the server keeps is bounded.
    const client = await h.client('legacy');
    const plain = await client.callTool({ name: 'chat', arguments: { prompt: 'say a lot' } });
    expect(sc(plain)).toMatchObject({ ok: true, session: { state: 'done' } });
    expect(`${sc(plain).content}`.split(' ').length).toBeGreaterThanOrEqual(300);
  });

  it('tasks/cancel cancels the session and aborts the provider request; a second cancel is refused', async () => {
    const fast = recording('fast');
    const h = await start({ providers: [fast.provider] });
    const tasks = v1(await h.client('legacy'));
    const { task } = await tasks.create({ prompt: 'x', extra: { simulate: 'hang' } });
    const running = await until(
      () => tasks.get(task.taskId),
      (t) => /running/.test(t.statusMessage ?? ''),
    );
    expect(running.status).toBe('working');

    const cancelled = await tasks.cancel(task.taskId);
    expect(cancelled).toMatchObject({ taskId: task.taskId, status: 'cancelled' });
    expect(fast.aborted).toEqual([expect.stringMatching(/cancelled by tasks\/cancel/)]);
    const result = await tasks.result(task.taskId);
    expect(sc(result)).toMatchObject({
      ok: false,
      error: { code: 'CANCELLED' },
      session: { state: 'cancelled' },
    });
    expect(h.mcp.runtime.session(sc(result).session.sessionId)?.state).toBe('cancelled');

    await expect(tasks.cancel(task.taskId)).rejects.toMatchObject({ code: -32602 });
    await expect(tasks.get('no-such-task')).rejects.toMatchObject({ code: -32602 });
  });

  it('a consensus task keeps each model’s part once its session ended, saying how it ended', async () => {
    const h = await start({
      providers: [
        createSimulatedProvider({ name: 'fast', latencyMs: { min: 1, max: 5 } }),
        createSimulatedProvider({ name: 'broken', failureRate: 1, failureModes: ['auth_failed'] }),
        createSimulatedProvider({ name: 'slow', latencyMs: { min: 60_000, max: 60_000 } }),
      ],
    });
    const client = await h.client('legacy');
    const tasks = v1(client);
    const models = ['fast', 'broken', 'slow'].map((provider) => ({ provider, model: 'sim-fast' }));
    const { task } = await client.request(
      {
        method: 'tools/call',
        params: { name: 'consensus', arguments: { prompt: 'x', models }, task: {} },
      } as Parameters<Client['request']>[0],
      CreateTaskResultV1Schema,
    );
    // Until 2026-12-07 the two ended models' parts were left out: "running", of no model named.
    const expected = 'fast/sim-fast: done; broken/sim-fast: failed (AUTH_FAILED); slow/sim-fast: running';
    const working = await until(
      () => tasks.get(task.taskId),
      (t) => t.statusMessage === expected,
    );
    expect(working).toMatchObject({ status: 'working', statusMessage: expected });
    const [listed] = (await tasks.list()).tasks;
    expect(listed).toMatchObject({ taskId: task.taskId, statusMessage: expected });
    await tasks.cancel(task.taskId);
  });

  it('a consensus task gives a part to a model refused before its session existed', async () => {
    const h = await start({
      providers: [
        createSimulatedProvider({ name: 'fast', latencyMs: { min: 1, max: 5 } }),
        createSimulatedProvider({ name: 'slow', latencyMs: { min: 60_000, max: 60_000 } }),
      ],
    });
    const client = await h.client('legacy');
    const tasks = v1(client);
    const models = [
      { provider: 'fast', model: 'sim-fast' },
      { provider: 'slow', model: 'no-such-model' },
      { provider: 'slow', model: 'sim-fast' },
    ];
    const { task } = await client.request(
      {
        method: 'tools/call',
        params: { name: 'consensus', arguments: { prompt: 'x', models }, task: {} },
      } as Parameters<Client['request']>[0],
      CreateTaskResultV1Schema,
    );
    // Until 2026-12-07 the refused model had no part: two parts for three models.
    const expected =
      'fast/sim-fast: done; slow/no-such-model: refused (MODEL_NOT_FOUND); slow/sim-fast: running';
    const working = await until(
      () => tasks.get(task.taskId),
      (t) => t.statusMessage === expected,
    );
    expect(working).toMatchObject({ status: 'working', statusMessage: expected });
    const [listed] = (await tasks.list()).tasks;
    expect(listed).toMatchObject({ taskId: task.taskId, statusMessage: expected });
    await tasks.cancel(task.taskId);
  });

  it('a cancelled consensus task says it was cancelled, not that every model failed', async () => {
    const h = await start();
    const client = await h.client('legacy');
    const tasks = v1(client);
    const { task } = await client.request(
      {
        method: 'tools/call',
        params: {
          name: 'consensus',
          arguments: {
            prompt: 'x',
            models: [{ provider: 'fast' }, { provider: 'slow' }],
            extra: { simulate: 'hang' },
          },
          task: {},
        },
      } as Parameters<Client['request']>[0],
      CreateTaskResultV1Schema,
    );
    // One part per model, each led by its provider and model.
    const running = await until(
      () => tasks.get(task.taskId),
      (t) => /^fast\/.*: running; slow\/.*: running$/.test(t.statusMessage ?? ''),
    );
    expect(running.statusMessage).toMatch(/^fast\/sim-[a-z]+: running; slow\/sim-[a-z]+: running$/);
    await tasks.cancel(task.taskId);
    const result = sc(await tasks.result(task.taskId));
    expect(result.error).toMatchObject({ code: 'CANCELLED' });
    expect(result.error.message).toMatch(/^Cancelled before any model answered\. First: /);
    expect(result.answers.map((a: { error: { code: string } }) => a.error.code)).toEqual([
      'CANCELLED',
      'CANCELLED',
    ]);
  });

  it('forgets a task after its TTL and cancels its call', async () => {
    const fast = recording('fast');
    const h = await start({ providers: [fast.provider], context: { tasks: { sweepIntervalMs: 20 } } });
    const tasks = v1(await h.client('legacy'));
    // A TTL long enough for the result to be read on a loaded machine; then polled until both are
    // forgotten (a TTL never applied still fails, at 10 s).
    const done = await tasks.create({ prompt: 'x' }, { ttl: 1000 });
    const hung = await tasks.create({ prompt: 'x', extra: { simulate: 'hang' } }, { ttl: 1000 });
    expect(sc(await tasks.result(done.task.taskId)).ok).toBe(true);
    const gone = async (id: string) =>
      tasks.get(id).then(
        () => false,
        () => true,
      );
    // The hung call is aborted at the sweep after its expiry, which may come after a poll found it gone.
    const expiredCall = () => fast.aborted.some((r) => /task expired \(ttl\)/.test(r));
    const deadline = Date.now() + 10_000;
    while (
      !((await gone(done.task.taskId)) && (await gone(hung.task.taskId)) && expiredCall()) &&
      Date.now() < deadline
    )
      await new Promise((r) => setTimeout(r, 50));
    await expect(tasks.get(done.task.taskId)).rejects.toMatchObject({
      code: -32602,
      message: expect.stringMatching(/not found/),
    });
    await expect(tasks.result(hung.task.taskId)).rejects.toMatchObject({ code: -32602 });
    expect((await tasks.list()).tasks).toEqual([]);
    expect(fast.aborted.filter((r) => /task expired \(ttl\)/.test(r))).toHaveLength(1);
  });

  it('pages tasks/list and refuses a foreign cursor', async () => {
    const h = await start({ context: { tasks: { pageSize: 2 } } });
    const tasks = v1(await h.client('legacy'));
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await tasks.create({ prompt: `p${i}` })).task.taskId);
    const page1 = await tasks.list();
    expect(page1.tasks.map((t) => t.taskId)).toEqual(ids.slice(0, 2));
    expect(page1.nextCursor).toEqual(expect.any(String));
    const page2 = await tasks.list(page1.nextCursor);
    expect(page2.tasks.map((t) => t.taskId)).toEqual(ids.slice(2));
    expect(page2.nextCursor).toBeUndefined();
    await expect(tasks.list('bogus')).rejects.toMatchObject({ code: -32602 });
    // Another MCP session does not see these tasks.
    expect((await v1(await h.client('legacy')).list()).tasks).toEqual([]);
  });

  it('works with the ext-tasks requester, and plain calls stay plain', async () => {
    const h = await start({ context: { tasks: { pollIntervalMs: 50 } } });
    const client = await h.client('legacy');
    const { tools } = await client.listTools();
    const chat = tools.find((t) => t.name === 'chat')!;
    const session = createTaskSessionFromClient(client, { endpointId: 'troupe-test' });
    try {
      const execution = await session.callTool(
        'chat',
        { prompt: 'hello', extra: { simulateLatencyMs: 50 } },
        {
          declaration: toolDeclarationFromMcpTool(chat),
          task: { preference: 'require', retentionMs: 30_000 },
        },
      );
      const { outcome } = await execution.settle();
      expect(outcome.status).toBe('completed');
      expect(sc(resultFromTaskOutcome(outcome))).toMatchObject({ ok: true, session: { state: 'done' } });
    } finally {
      await session.close();
    }
    const plain = await client.callTool({ name: 'chat', arguments: { prompt: 'hi' } });
    expect(sc(plain)).toMatchObject({ ok: true });
    expect((await v1(client).list()).tasks).toHaveLength(1);
  });
});

/** A 2026-07-28 request over raw HTTP, framed as the extension asks; what ext-tasks' `rawDispatch` needs. */
function modernDispatch(url: URL, declareTasks = true) {
  let id = 0;
  return async (request: unknown): Promise<JsonRpcResponse> => {
    const { method, params = {} } = request as { method: string; params?: Record<string, unknown> };
    const meta = (params._meta ?? {}) as Record<string, unknown>;
    const body = {
      jsonrpc: '2.0',
      id: ++id,
      method,
      params: {
        ...params,
        _meta: {
          'io.modelcontextprotocol/protocolVersion': '2026-07-28',
          'io.modelcontextprotocol/clientInfo': { name: 'troupe-test', version: '1' },
          'io.modelcontextprotocol/clientCapabilities': declareTasks
            ? { extensions: { 'io.modelcontextprotocol/tasks': {} } }
            : {},
          ...meta,
        },
      },
    };
    const name = (params.name ?? params.taskId) as string | undefined;
    const response = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-protocol-version': '2026-07-28',
        'mcp-method': method,
        ...(name === undefined ? {} : { 'mcp-name': name }),
      },
      body: JSON.stringify(body),
    });
    const text = await response.text();
    const json = text.startsWith('{')
      ? JSON.parse(text)
      : JSON.parse(
          text
            .split('\n')
            .filter((l) => l.startsWith('data:'))
            .map((l) => l.slice(5))
            .at(-1) ?? '{}',
        );
    return json.error === undefined
      ? { kind: 'result', result: json.result }
      : { kind: 'error', error: json.error };
  };
}

describe('MCP tasks, a task store that fails', () => {
  // With `--redis` and Redis away, every tasks request was answered -32603 with Redis's own words
  // ("Stream isn't writeable and enableOfflineQueue options is false"), saying nothing of what failed.
  it('answers each task request -32603 saying the task store failed and to retry, its error in the log', async () => {
    const lines: string[] = [];
    const store = new MemoryTaskStore();
    const offline = () =>
      Promise.reject(new Error("Stream isn't writeable and enableOfflineQueue options is false"));
    store.create = offline;
    store.get = offline;
    store.list = offline;
    const h = await start({ context: { tasks: { store }, log: (line) => lines.push(line) } });
    const tasks = v1(await h.client('legacy'));
    const asks = [
      () => tasks.create({ prompt: 'x' }),
      () => tasks.get('t-1'),
      () => tasks.result('t-1'),
      () => tasks.list(),
      () => tasks.cancel('t-1'),
    ];
    for (const ask of asks) {
      await expect(ask()).rejects.toMatchObject({
        code: -32603,
        message: expect.stringContaining(
          'Expected the task store to answer, got a failure (the server log says why); call again in a few seconds',
        ),
      });
    }
    expect(lines.filter((line) => line.includes("task store: Stream isn't writeable"))).toHaveLength(5);
    expect(h.mcp.runtime.status({ recent: 10 }).recent).toEqual([]);
  });
});

describe('MCP tasks, 2026-07-28 clients (tasks extension)', () => {
  it('advertises the extension, not the 2025 capability or taskSupport', async () => {
    const h = await start();
    const client = await h.client('modern');
    const capabilities = client.getServerCapabilities();
    expect(capabilities?.extensions).toEqual({ 'io.modelcontextprotocol/tasks': {} });
    expect(capabilities?.tasks).toBeUndefined();
    const { tools } = await client.listTools();
    expect(tools.every((t) => t.execution === undefined)).toBe(true);
  });

  it('runs a call as a task when the request declares the extension; tasks/get carries status and result', async () => {
    const h = await start();
    const dispatch = modernDispatch(h.url);
    const created = await dispatch({
      method: 'tools/call',
      params: { name: 'chat', arguments: { prompt: 'x', extra: { simulateLatencyMs: 200 } } },
    });
    expect(created.kind).toBe('result');
    const task = CreateTaskResultV2Schema.parse((created as { result: unknown }).result);
    expect(task).toMatchObject({
      resultType: 'task',
      status: 'working',
      ttlMs: 3_600_000,
      pollIntervalMs: 1000,
    });

    const get = async () =>
      GetTaskResultV2Schema.parse(
        ((await dispatch({ method: 'tasks/get', params: { taskId: task.taskId } })) as { result: unknown })
          .result,
      );
    const working = await get();
    expect(working.status).toBe('working');
    const done = await until(get, (t) => t.status !== 'working');
    expect(done.status).toBe('completed');
    expect(sc((done as { result: unknown }).result)).toMatchObject({ ok: true, session: { state: 'done' } });

    // A session failure: `completed` with the tool's error result, as that spec requires.
    const failing = CreateTaskResultV2Schema.parse(
      (
        (await dispatch({
          method: 'tools/call',
          params: { name: 'chat', arguments: { prompt: 'x', extra: { simulate: 'auth_failed' } } },
        })) as { result: unknown }
      ).result,
    );
    const failed = await until(
      async () =>
        GetTaskResultV2Schema.parse(
          (
            (await dispatch({ method: 'tasks/get', params: { taskId: failing.taskId } })) as {
              result: unknown;
            }
          ).result,
        ),
      (t) => t.status !== 'working',
    );
    expect(failed).toMatchObject({
      status: 'completed',
      statusMessage: expect.stringMatching(/^AUTH_FAILED/),
    });
    expect((failed as { result: { isError?: boolean } }).result.isError).toBe(true);

    // Methods the 2026 extension removed, and clients that did not declare it.
    expect(await dispatch({ method: 'tasks/result', params: { taskId: task.taskId } })).toMatchObject({
      kind: 'error',
      error: { code: -32601 },
    });
    expect(
      await modernDispatch(h.url, false)({ method: 'tasks/get', params: { taskId: task.taskId } }),
    ).toMatchObject({
      kind: 'error',
      error: { code: -32021 },
    });
    const plain = await modernDispatch(
      h.url,
      false,
    )({ method: 'tools/call', params: { name: 'chat', arguments: { prompt: 'x' } } });
    expect(sc((plain as { result: unknown }).result)).toMatchObject({ ok: true });
  });

  it('tasks/cancel through the ext-tasks requester cancels the session', async () => {
    const fast = recording('fast');
    const h = await start({ providers: [fast.provider] });
    const client = await h.client('modern');
    const session = createTaskSessionFromClient(client, {
      endpointId: 'troupe-modern',
      rawDispatch: modernDispatch(h.url),
      v2RequestFraming: {
        protocolVersion: '2026-07-28',
        clientInfo: { name: 'troupe-test', version: '1' },
        clientCapabilities: {},
      },
    });
    try {
      const execution = await session.callTool('chat', { prompt: 'x', extra: { simulate: 'hang' } });
      expect(execution.kind).toBe('task');
      const taskId = (execution as { handle: { taskId: string } }).handle.taskId;
      await until(
        () => h.mcp.tasks.get(taskId),
        (t) => /running/.test(t?.statusMessage ?? ''),
      );
      await session.cancelTask(taskId as never);
      expect((await h.mcp.tasks.get(taskId))?.status).toBe('cancelled');
      expect(fast.aborted).toEqual([expect.stringMatching(/cancelled by tasks\/cancel/)]);
      const { outcome } = await execution.settle();
      expect(outcome.status).toBe('cancelled');
    } finally {
      await session.close();
    }
  });
});
