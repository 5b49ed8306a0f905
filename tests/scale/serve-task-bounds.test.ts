/**
 * `troupe serve --redis --max-tasks N`: the operator's task bound reaches the Redis task store (a
 * caller's share a quarter of it, cluster-wide), as it reaches the in-memory one without `--redis`.
 * The BUILT CLI (`npm run build` first), one process on a real redis-server.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { openLegacySession, postMcp } from '../support/raw-session.js';
import { type RedisServer, startRedis } from '../support/redis.js';

const CLI = 'dist/src/cli/main.js';
let redis: RedisServer;
let child: ChildProcess | undefined;

beforeAll(async () => {
  expect(existsSync(CLI), `build first: ${CLI} is missing`).toBe(true);
  redis = await startRedis();
});
afterAll(async () => {
  if (child?.exitCode === null) child.kill('SIGKILL');
  await redis?.stop();
});

const task = (id: number) => ({
  jsonrpc: '2.0',
  id,
  method: 'tools/call',
  params: { name: 'chat', arguments: { prompt: 'wait', extra: { simulateLatencyMs: 20_000 } }, task: {} },
});

it('holds a caller to a quarter of --max-tasks in the Redis store', async () => {
  child = spawn(
    process.execPath,
    [CLI, 'serve', '--port', '0', '--redis', redis.url, '--max-tasks', '4', '--drain-ms', '100'],
    {
      env: { PATH: process.env.PATH ?? '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let err = '';
  const url = await new Promise<URL>((resolve, reject) => {
    child?.stderr?.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /serving MCP at (\S+?)[;\s]/.exec(err);
      if (m) resolve(new URL(m[1] as string));
    });
    child?.once('exit', () => reject(new Error(`serve exited: ${err}`)));
  });
  const sid = await openLegacySession(url);
  const first = await (await postMcp(url, sid, task(2))).text();
  expect(first).toContain('"status":"working"');
  // The default (1,000 tasks, 250 a caller) would have taken it.
  const second = await (await postMcp(url, sid, task(3))).text();
  expect(second).toContain('Expected at most 1 tasks held by one caller, got 1 unfinished');
  child.kill('SIGTERM');
  await once(child, 'exit');
});
