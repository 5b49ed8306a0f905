/**
 * `TROUPE_REDIS_URL` gives `troupe serve` its Redis as `--redis` does, so a URL with a password
 * stays out of `ps` (until 2026-12-04 the flag was the only way, and every local user could read
 * the password in the process list). The flag wins when both are set; a bad value in the variable
 * is refused by its name. The BUILT CLI (`npm run build` first), on a real redis-server.
 */
import { type ChildProcess, execFile } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { type RedisServer, startRedis } from '../support/redis.js';
import { startServeCli } from '../support/serve-cli.js';

const CLI = 'dist/src/cli/main.js';
let redis: RedisServer;
let child: ChildProcess | undefined;

beforeAll(async () => {
  expect(existsSync(CLI), `build first: ${CLI} is missing`).toBe(true);
  redis = await startRedis();
});
afterEach(async () => {
  if (child?.exitCode === null) {
    child.kill('SIGTERM');
    await once(child, 'exit');
  }
  child = undefined;
});
afterAll(async () => {
  await redis?.stop();
});

/** Starts `troupe serve` and answers its /readyz body. */
async function readiness(
  args: string[],
  env: Record<string, string>,
): Promise<{ ready: unknown; args: string }> {
  const started = await startServeCli(env, ['--drain-ms', '100', ...args]);
  child = started.child;
  const ready = await (await fetch(new URL('/readyz', started.base))).json();
  return { ready, args: child.spawnargs.join(' ') };
}

it('takes its Redis from TROUPE_REDIS_URL, with nothing of it on the command line', async () => {
  const { ready, args } = await readiness([], { TROUPE_REDIS_URL: redis.url });
  expect(ready).toMatchObject({ redis: 'ok' });
  expect(args).not.toContain(redis.url);
});

it('lets --redis win over TROUPE_REDIS_URL', async () => {
  const { ready } = await readiness(['--redis', redis.url], { TROUPE_REDIS_URL: 'http://not-redis.example' });
  expect(ready).toMatchObject({ redis: 'ok' });
});

it('refuses a bad TROUPE_REDIS_URL by name, exit code 2, the password not shown', async () => {
  const { code, stderr } = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      [CLI, 'serve', '--port', '0'],
      {
        env: { PATH: process.env.PATH ?? '', TROUPE_REDIS_URL: 'http://:pw-SECRET-123@host:6379' },
        timeout: 15_000,
      },
      (error, _stdout, err) =>
        resolve({ code: error === null ? 0 : ((error as { code?: number }).code ?? 1), stderr: err }),
    );
  });
  expect(code).toBe(2);
  expect(stderr).toMatch(/^troupe serve: TROUPE_REDIS_URL: Expected a Redis URL such as redis:\/\//m);
  expect(stderr).not.toContain('pw-SECRET-123');
});
