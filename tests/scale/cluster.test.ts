/**
 * Several troupe instances as separate processes on one Redis, against the local
 * OpenAI-compatible server: limits, priorities, kill -9 and cancellation across instances.
 * Needs the build (`npx tsc -p tsconfig.build.json`).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createOpenAIServer, type OpenAIServer } from '../../src/testing/openai-server.js';
import { type RedisServer, startRedis } from '../support/redis.js';

const SCRIPT = fileURLToPath(new URL('./fixtures/instance.mjs', import.meta.url));

interface Line {
  readonly event: string;
  readonly tag?: string;
  readonly id?: string;
  readonly ok?: boolean;
  readonly code?: string;
  readonly attempts?: number;
}

interface Instance {
  readonly child: ChildProcess;
  readonly lines: Line[];
  send(command: Record<string, unknown>): void;
  waitFor(match: (line: Line) => boolean, timeoutMs?: number): Promise<Line>;
}

let redis: RedisServer;
let server: OpenAIServer;
let prefixSeq = 0;
const children: ChildProcess[] = [];

beforeAll(async () => {
  redis = await startRedis();
  server = createOpenAIServer();
  await server.start();
});
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
  server.reset();
});
afterAll(async () => {
  await server?.close();
  await redis?.stop();
});

async function cluster(count: number, limit: number, frontOnly = false): Promise<Instance[]> {
  const prefix = `c${++prefixSeq}`;
  return Promise.all(
    Array.from({ length: count }, (_, index) => start(prefix, limit, index, !(frontOnly && index === 0))),
  );
}

async function start(prefix: string, limit: number, index: number, work: boolean): Promise<Instance> {
  const child = spawn(
    process.execPath,
    [SCRIPT, redis.url, prefix, server.baseURL, String(limit), String(index), work ? '1' : '0'],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  children.push(child);
  const lines: Line[] = [];
  const waiters = new Set<() => void>();
  createInterface({ input: child.stdout! }).on('line', (text) => {
    lines.push(JSON.parse(text) as Line);
    for (const wake of waiters) wake();
  });
  const instance: Instance = {
    child,
    lines,
    send: (command) => child.stdin!.write(`${JSON.stringify(command)}\n`),
    waitFor: (match, timeoutMs = 20_000) =>
      new Promise((resolve, reject) => {
        const check = () => {
          const found = lines.find(match);
          if (found === undefined) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(found);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`instance ${index}: no matching line in ${JSON.stringify(lines)}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      }),
  };
  await instance.waitFor((l) => l.event === 'ready');
  return instance;
}

const contentOf = (body: unknown) =>
  String((body as { messages?: { content: string }[] }).messages?.at(-1)?.content ?? '');

describe('a cluster of troupe instances on Redis', () => {
  it('holds the provider limit across instances and ends every session once', async () => {
    const instances = await cluster(3, 2);
    const tags = Array.from({ length: 12 }, (_, i) => `s${i}`);
    tags.forEach((tag, i) => {
      instances[i % 3]!.send({ op: 'submit', tag, model: 'fault:ok:latency=150' });
    });
    const results = await Promise.all(
      tags.map((tag, i) => instances[i % 3]!.waitFor((l) => l.event === 'result' && l.tag === tag)),
    );
    expect(results.every((r) => r.ok)).toBe(true);
    expect(server.maxInFlight).toBeLessThanOrEqual(2);
    expect(server.maxInFlight).toBeGreaterThan(0);
    for (const [i, instance] of instances.entries())
      expect(instance.lines.filter((l) => l.event === 'result').length).toBe(
        tags.filter((_, j) => j % 3 === i).length,
      );
  });

  it('admits by priority across instances', async () => {
    const instances = await cluster(2, 1);
    instances[0]!.send({ op: 'submit', tag: 'blocker', model: 'fault:ok:latency=800' });
    await server.waitForRequest((r) => contentOf(r.body) === 'blocker');
    for (let i = 0; i < 3; i++)
      instances[0]!.send({ op: 'submit', tag: `low${i}`, priority: 1, model: 'fault:ok' });
    for (let i = 0; i < 3; i++)
      instances[1]!.send({ op: 'submit', tag: `high${i}`, priority: 9, model: 'fault:ok' });
    await Promise.all(
      [0, 1, 2].map((i) => instances[0]!.waitFor((l) => l.event === 'result' && l.tag === `low${i}`)),
    );
    const order = server.requests.map((r) => contentOf(r.body)).filter((c) => c !== 'blocker');
    expect(order.slice(0, 3).sort()).toEqual(['high0', 'high1', 'high2']);
    expect(order.slice(3)).toEqual(['low0', 'low1', 'low2']);
  });

  it('takes over the sessions of a killed instance, each ending once', async () => {
    const instances = await cluster(3, 2, true);
    const tags = Array.from({ length: 6 }, (_, i) => `k${i}`);
    for (const tag of tags) instances[0]!.send({ op: 'submit', tag, model: 'fault:ok:latency=1200' });
    const first = await server.waitForRequest((r) => r.headers['x-instance'] !== undefined);
    const victim = Number(first.headers['x-instance']);
    instances[victim]!.child.kill('SIGKILL');
    const results = await Promise.all(
      tags.map((tag) => instances[0]!.waitFor((l) => l.event === 'result' && l.tag === tag, 30_000)),
    );
    expect(results.every((r) => r.ok)).toBe(true);
    expect(instances[0]!.lines.filter((l) => l.event === 'result').length).toBe(tags.length);
    // A session cut off by the kill ran again once, counted as a further attempt.
    const retaken = results.filter((r) => (r.attempts ?? 0) > 1);
    expect(retaken.length).toBeGreaterThan(0);
    for (const tag of tags) {
      const calls = server.requests.filter((r) => contentOf(r.body) === tag).length;
      expect(calls).toBeLessThanOrEqual(2);
    }
  });

  it('cancels from another instance and closes the provider connection', async () => {
    const instances = await cluster(2, 2, true);
    instances[0]!.send({ op: 'submit', tag: 'long', model: 'fault:ok:latency=15000' });
    const submitted = await instances[0]!.waitFor((l) => l.event === 'submitted' && l.tag === 'long');
    const request = await server.waitForRequest((r) => contentOf(r.body) === 'long');
    instances[0]!.send({ op: 'cancel', id: submitted.id });
    const result = await instances[0]!.waitFor((l) => l.event === 'result' && l.tag === 'long');
    expect(result).toMatchObject({ ok: false, code: 'CANCELLED' });
    await server.waitForClose(request);
    expect(request.completed).toBe(false);
  });
});
