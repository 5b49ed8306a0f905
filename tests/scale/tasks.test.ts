/**
 * MCP tasks across instances: two runtimes on one Redis, each with its MCP server over real HTTP
 * and the Redis task store. A task created through one instance is polled, read and cancelled
 * through the other. Tasks are scoped to their caller (docs/security.md): one client reaches its
 * tasks through any instance by the name of its token, so every client here comes with the same
 * named token; a second client with another token sees nothing of the first one's tasks.
 */
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { catalogFromRegistry } from '../../src/mcp/catalog.js';
import { createMcpContext, type McpContext } from '../../src/mcp/context.js';
import { createHttpApp, type HttpApp } from '../../src/mcp/http.js';
import { dashboardHtml } from '../../src/observe/dashboard.js';
import { createObservability } from '../../src/observe/routes.js';
import type { ChatProvider } from '../../src/providers/port.js';
import { createModelRegistry } from '../../src/providers/registry.js';
import { createSimulatedProvider, SIMULATED_MODELS } from '../../src/providers/simulated.js';
import { createRuntime } from '../../src/runtime/runtime.js';
import type { Runtime } from '../../src/runtime/types.js';
import { redisBackend } from '../../src/scale/redis-backend.js';
import { RedisTaskStore } from '../../src/scale/redis-task-store.js';
import { withAbortLog } from '../support/abort-log.js';
import { type RedisServer, startRedis } from '../support/redis.js';
import { v1 } from '../support/tasks-v1.js';

const TOKENS = [
  { name: 'alice', token: 'alice-token-0123456789' },
  { name: 'bob', token: 'bob-token-0123456789' },
];

let redis: RedisServer;
let prefixSeq = 0;
const instances: Instance[] = [];

beforeAll(async () => {
  redis = await startRedis();
});
afterEach(async () => {
  await Promise.allSettled(instances.splice(0).map((i) => i.close()));
});
afterAll(async () => {
  await redis?.stop();
});

interface Instance {
  readonly mcp: McpContext;
  readonly runtime: Runtime;
  /** Abort reasons of this instance's provider requests. */
  readonly aborted: string[];
  /** A client with a named token (the first of `TOKENS` unless given). */
  client(token?: string): Promise<Client>;
  close(): Promise<void>;
}

/** A simulated provider `fast` that records each request's abort. */
const recording = (aborted: string[]): ChatProvider =>
  withAbortLog(createSimulatedProvider({ name: 'fast', latencyMs: { min: 1, max: 5 } }), aborted);

async function instance(prefix: string, work = true): Promise<Instance> {
  const aborted: string[] = [];
  const models = SIMULATED_MODELS.map((m) => ({ id: m.id, contextWindow: m.contextWindow }));
  const registry = createModelRegistry([{ name: 'fast', configured: true, models }], {
    defaultProvider: 'fast',
  });
  const runtime = createRuntime({
    providers: [recording(aborted)],
    router: registry.router,
    // Each caller's shares of the default 64 slots and 10,000 queued (createHttpApp asks for them with several named tokens).
    limits: { maxRunningPerCaller: 48, maxQueuedPerCaller: 2_500 },
    backend: await redisBackend({ url: redis.url, prefix, work }),
  });
  await (runtime as Runtime & { ready: Promise<void> }).ready;
  const store = await RedisTaskStore.connect(redis.url, { prefix });
  const mcp = createMcpContext({
    runtime,
    catalog: catalogFromRegistry(registry, { defaults: { provider: 'fast' } }),
    tasks: { store, pollIntervalMs: 100, sweepIntervalMs: 50 },
    log: () => {},
    sessionFilter: 'owner',
  });
  const app: HttpApp = createHttpApp({ mcp, port: 0, tokens: TOKENS });
  const { url } = await app.listen();
  const clients: Client[] = [];
  const created: Instance = {
    mcp,
    runtime,
    aborted,
    async client(token = TOKENS[0]!.token) {
      const client = new Client({ name: 'troupe-test', version: '1.0.0' });
      await client.connect(
        new StreamableHTTPClientTransport(new URL(url), {
          requestInit: { headers: { authorization: `Bearer ${token}` } },
        }),
      );
      clients.push(client);
      return client;
    },
    async close() {
      await Promise.allSettled(clients.map((c) => c.close()));
      mcp.close();
      await runtime.shutdown({ deadlineMs: 0 });
      await app.close();
      await store.close();
    },
  };
  instances.push(created);
  return created;
}

// biome-ignore lint/suspicious/noExplicitAny: assertions read arbitrary tool JSON
const sc = (result: unknown) => (result as { structuredContent: Record<string, any> }).structuredContent;

async function until<T>(read: () => Promise<T>, ok: (value: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (ok(value) || Date.now() > deadline) return value;
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('MCP tasks across instances (Redis task store)', () => {
  it('a task created through A is polled to completed through B and its result read there', async () => {
    const prefix = `mt${++prefixSeq}`;
    const a = await instance(prefix);
    const b = await instance(prefix);
    const onA = v1(await a.client());
    const onB = v1(await b.client());

    const { task } = await onA.create({ prompt: 'hello', extra: { simulateLatencyMs: 300 } });
    expect(task.status).toBe('working');
    expect((await onB.get(task.taskId)).status).toBe('working');
    // Another caller, on either instance, does not see it.
    await expect(v1(await b.client(TOKENS[1]!.token)).get(task.taskId)).rejects.toThrow();
    const done = await until(
      () => onB.get(task.taskId),
      (t) => t.status === 'completed',
    );
    expect(done).toMatchObject({ status: 'completed', statusMessage: 'done' });
    const result = await onB.result(task.taskId);
    expect(sc(result)).toMatchObject({ ok: true, session: { state: 'done', provider: 'fast' } });
    expect(result._meta).toMatchObject({ 'io.modelcontextprotocol/related-task': { taskId: task.taskId } });
  });

  it('tasks/result through B waits for a task still running through A', async () => {
    const prefix = `mt${++prefixSeq}`;
    const a = await instance(prefix);
    const b = await instance(prefix);
    const { task } = await v1(await a.client()).create({ prompt: 'x', extra: { simulateLatencyMs: 400 } });
    const result = await v1(await b.client()).result(task.taskId);
    expect(sc(result)).toMatchObject({ ok: true, session: { state: 'done' } });
  });

  it('a task created through A is cancelled through B: its provider call on A is aborted', async () => {
    const prefix = `mt${++prefixSeq}`;
    const a = await instance(prefix);
    // B only takes MCP calls, so the session runs on A.
    const b = await instance(prefix, false);
    const onA = v1(await a.client());
    const onB = v1(await b.client());

    const { task } = await onA.create({ prompt: 'x', extra: { simulate: 'hang' } });
    const running = await until(
      () => onB.get(task.taskId),
      (t) => /running/.test(t.statusMessage ?? ''),
    );
    expect(running.status).toBe('working');

    const cancelled = await onB.cancel(task.taskId);
    expect(cancelled).toMatchObject({ taskId: task.taskId, status: 'cancelled' });
    await until(
      async () => a.aborted.length,
      (n) => n > 0,
    );
    expect(a.aborted).toEqual([expect.stringMatching(/cancelled by tasks\/cancel/)]);
    const result = await onB.result(task.taskId);
    expect(sc(result)).toMatchObject({
      ok: false,
      error: { code: 'CANCELLED' },
      session: { state: 'cancelled' },
    });
    const sessionId = sc(result).session.sessionId as string;
    expect(b.runtime.session(sessionId)?.state).toBe('cancelled');
    expect((await onA.get(task.taskId)).status).toBe('cancelled');
    await expect(onA.cancel(task.taskId)).rejects.toMatchObject({ code: -32602 });
  });

  it('a consensus task’s model refused before its session existed shows through the other instance too', async () => {
    const prefix = `mt${++prefixSeq}`;
    const a = await instance(prefix);
    const b = await instance(prefix);
    const onA = v1(await a.client());
    const onB = v1(await b.client());
    const { task } = await onA.consensus({
      prompt: 'x',
      models: [
        { provider: 'fast', model: 'sim-fast' },
        { provider: 'fast', model: 'no-such-model' },
      ],
      extra: { simulate: 'hang' },
    });
    // Until 2026-12-07 the refusal lived with the instance running the task: B read "running" alone.
    const expected = 'fast/sim-fast: running; fast/no-such-model: refused (MODEL_NOT_FOUND)';
    for (const on of [onB, onA]) {
      const working = await until(
        () => on.get(task.taskId),
        (t) => t.statusMessage === expected,
      );
      expect(working).toMatchObject({ status: 'working', statusMessage: expected });
    }
    await onB.cancel(task.taskId);
  });

  it('forgets a task on every instance after its TTL; Redis drops the record', async () => {
    const prefix = `mt${++prefixSeq}`;
    const a = await instance(prefix);
    const b = await instance(prefix);
    const onA = v1(await a.client());
    const onB = v1(await b.client());
    // A TTL long enough for B to read the task while it lives, even on a loaded machine.
    const hung = await onA.create({ prompt: 'x', extra: { simulate: 'hang' } }, { ttl: 2000 });
    expect((await onB.get(hung.task.taskId)).status).toBe('working');
    await until(
      async () => a.aborted.length + b.aborted.length,
      (n) => n > 0,
    );
    // The call behind an expired task is cancelled (its signal aborts): nobody can read its result.
    expect([...a.aborted, ...b.aborted]).toEqual([expect.stringMatching(/signal aborted|task expired/)]);
    await expect(onB.get(hung.task.taskId)).rejects.toMatchObject({ code: -32602 });
    await expect(onA.get(hung.task.taskId)).rejects.toMatchObject({ code: -32602 });
    const raw = new Redis(redis.url);
    try {
      const key = `${prefix}:mcptasks:r:${hung.task.taskId}`;
      expect(
        await until(
          () => raw.exists(key),
          (n) => n === 0,
        ),
      ).toBe(0);
    } finally {
      raw.disconnect();
    }
  });
});

describe('what the dashboard, /api/status and /metrics cover', () => {
  it('says cluster with the Redis backend and counts sessions running on another instance', async () => {
    const prefix = `mt${++prefixSeq}`;
    const a = await instance(prefix);
    const b = await instance(prefix, false);
    const observe = createObservability(b.runtime, { scope: { kind: 'cluster', instanceId: 'b-1' } });
    try {
      const { task } = await v1(await b.client()).create({ prompt: 'x', extra: { simulate: 'hang' } });
      const snapshot = await until(
        async () => observe.monitor.snapshot(),
        (s) => s.status.running === 1,
      );
      expect(snapshot.scope).toEqual({ kind: 'cluster', instanceId: 'b-1' });
      expect(snapshot.status.running).toBe(1);
      expect(await observe.metrics.scrape()).toMatch(/troupe_info\{scope="cluster",instance="b-1"\} 1/);
      expect(await dashboardHtml()).toContain('id="scope"');
      await b.mcp.tasks.cancel(task.taskId);
      // The cancel reaches the instance running the call over Redis pub/sub: it aborts soon, not at once.
      expect(
        await until(
          async () => a.aborted.length,
          (n) => n > 0,
        ),
      ).toBe(1);
    } finally {
      observe.close();
    }
  });

  it('says instance without it', async () => {
    const prefix = `mt${++prefixSeq}`;
    const a = await instance(prefix);
    const observe = createObservability(a.runtime);
    try {
      expect(observe.monitor.snapshot().scope).toEqual({ kind: 'instance' });
      expect(await observe.metrics.scrape()).toMatch(/troupe_info\{scope="instance",instance=""\} 1/);
    } finally {
      observe.close();
    }
  });
});
