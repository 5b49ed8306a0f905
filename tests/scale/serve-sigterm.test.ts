/**
 * `troupe serve --redis` on SIGTERM, as an MCP client sees it: calls still running or queued at the
 * drain deadline end with `SHUTTING_DOWN`, whose hint says to retry elsewhere, and they are
 * cancelled across the cluster. Until 2026-12-03 they were left to the cluster: the running call
 * went back to the queue and the queued one stayed there, another instance ran both for nobody
 * (an MCP client cannot read a call's end from another instance), and the client's retry paid for
 * each twice. The BUILT CLI (`npm run build` first), two processes on one redis-server.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createOpenAIServer, type OpenAIServer } from '../../src/testing/openai-server.js';
import { openLegacySession, postMcp } from '../support/raw-session.js';
import { type RedisServer, startRedis } from '../support/redis.js';
import { tempDir } from '../support/temp-dir.js';

const CLI = 'dist/src/cli/main.js';
const children: ChildProcess[] = [];
let redis: RedisServer;
let provider: OpenAIServer;
let file: string;

beforeAll(async () => {
  expect(existsSync(CLI), `build first: ${CLI} is missing`).toBe(true);
  redis = await startRedis();
  provider = createOpenAIServer();
  await provider.start();
  file = join(tempDir('troupe-sigterm-'), 'providers.json');
  // Every call hangs at the provider until its request is aborted.
  const providers = [
    { name: 'p', baseURL: provider.baseURL, apiKeyEnv: 'P_KEY', defaultModel: 'fault:hang' },
  ];
  writeFileSync(file, JSON.stringify({ providers, defaults: { provider: 'p', model: 'fault:hang' } }));
});
afterAll(async () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  await provider?.close();
  await redis?.stop();
});

/** Starts `troupe serve --redis` running one session at a time; resolves with its MCP URL. */
async function serve(): Promise<{ child: ChildProcess; url: URL }> {
  const child = spawn(
    process.execPath,
    [CLI, 'serve', '--port', '0', '--redis', redis.url, '--drain-ms', '300', '--max-concurrent', '1'],
    {
      env: { PATH: process.env.PATH ?? '', TROUPE_PROVIDERS_FILE: file, P_KEY: 'sk-test-sigterm' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  children.push(child);
  let err = '';
  const url = await new Promise<URL>((resolve, reject) => {
    child.stderr?.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /serving MCP at (\S+?)[;\s]/.exec(err);
      if (m) resolve(new URL(m[1] as string));
    });
    child.once('exit', () => reject(new Error(`serve exited: ${err}`)));
  });
  return { child, url };
}

const chat = (id: number, prompt: string) => ({
  jsonrpc: '2.0',
  id,
  method: 'tools/call',
  params: { name: 'chat', arguments: { prompt, timeout_ms: 60_000 } },
});

it('cancels its running and queued calls across the cluster at the drain deadline: no other instance runs them', async () => {
  const a = await serve();
  const sid = await openLegacySession(a.url);
  const running = postMcp(a.url, sid, chat(2, 'running')).then((r) => r.text());
  await provider.waitForRequest(() => true);
  const queued = postMcp(a.url, sid, chat(3, 'queued')).then((r) => r.text());
  await new Promise((r) => setTimeout(r, 300));
  expect(provider.requests).toHaveLength(1);

  a.child.kill('SIGTERM');
  const [code] = (await once(a.child, 'exit')) as [number | null];
  expect(code).toBe(0);
  for (const body of await Promise.all([running, queued])) {
    expect(body).toContain('SHUTTING_DOWN');
    expect(body).toContain('cancelled across the cluster');
  }
  // The running call's provider request was aborted with it.
  expect(provider.requests[0]?.completed).toBe(false);

  // Another instance, past the time it would take up a handed-back or queued session.
  const b = await serve();
  await new Promise((r) => setTimeout(r, 3000));
  const asked = provider.requests.map(
    (r) => (r.body as { messages: { content: string }[] }).messages.at(-1)?.content,
  );
  expect(asked).toEqual(['running']);
  b.child.kill('SIGTERM');
  await once(b.child, 'exit');
}, 60_000);
