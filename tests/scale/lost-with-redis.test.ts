/**
 * A running session lost with both its instance and Redis (the instance killed while Redis is
 * down, Redis back empty) ends BACKEND_UNAVAILABLE at its submitter's backstop, saying it was lost.
 * Until 2026-12-04 it ended TIMED_OUT, "Expected the session to finish within 1500 ms of
 * starting", as if it had run out its time (an audit saw it after about 190 s at the defaults, the
 * hint telling the caller to raise `timeout_ms`). A runner that lives through it still ends the
 * session at its run deadline, TIMED_OUT, as before. The runner is a process of its own (the BUILT
 * runtime, `npm run build` first), killed with SIGKILL.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { ChatProvider } from '../../src/providers/port.js';
import { createRuntime } from '../../src/runtime/runtime.js';
import type { Runtime } from '../../src/runtime/types.js';
import { redisBackend } from '../../src/scale/redis-backend.js';
import { type RedisServer, startRedis } from '../support/redis.js';

const RUNNER = 'tests/fixtures/scale/hung-runner.mjs';
let redis: RedisServer;
let runner: ChildProcess | undefined;
let runtime: Runtime | undefined;

beforeAll(async () => {
  expect(existsSync('dist/src/scale/index.js'), 'build first: dist/ is missing').toBe(true);
  redis = await startRedis();
});
afterAll(async () => {
  runner?.kill('SIGKILL');
  await runtime?.shutdown({ deadlineMs: 0 });
  await redis?.stop();
});

/** The submitter's side: it leases no work, so the session can only run in the runner. */
const provider = {
  name: 'p',
  complete: () => Promise.reject(new Error('not run here')),
  stream: () => {
    throw new Error('not used');
  },
} as unknown as ChatProvider;

it.each([
  ['killed', 'BACKEND_UNAVAILABLE', 'Redis lost it'],
  // A runner still there ends it at its run deadline and settles once Redis is back: a real timeout.
  ['alive', 'TIMED_OUT', 'Expected the session to finish within 1500 ms'],
])(
  'its instance %s while Redis is away and back empty: %s',
  async (fate, code, message) => {
    const prefix = `lost-${fate}`;
    runner = spawn(process.execPath, [RUNNER, redis.url, prefix], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    await new Promise<void>((resolve, reject) => {
      runner?.stdout?.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        if (out.includes('ready')) resolve();
      });
      runner?.once('exit', (code) => reject(new Error(`the runner exited (${code})`)));
    });
    runtime = createRuntime({
      providers: [provider],
      defaults: { model: 'm' },
      backend: await redisBackend({ url: redis.url, prefix, work: false }),
    });
    await (runtime as Runtime & { ready: Promise<void> }).ready;
    const handle = runtime.submit(
      { messages: [{ role: 'user', content: 'hang' }] },
      { queueTimeoutMs: 1_000, timeoutMs: 1_500 },
    );
    await expect.poll(() => runtime?.session(handle.id)?.state, { timeout: 5_000 }).toBe('running');
    await redis.stop();
    runner.removeAllListeners('exit');
    if (fate === 'killed') {
      runner.kill('SIGKILL');
      await once(runner, 'exit');
    }
    await redis.restart();
    const result = await handle.result;
    expect(result.ok).toBe(false);
    expect(result.ok || result.error.code).toBe(code);
    expect(result.ok || result.error.message).toContain(message);
    runner.kill('SIGKILL');
    await runtime.shutdown({ deadlineMs: 0 });
    runtime = undefined;
  },
  40_000,
);
