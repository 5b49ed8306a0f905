/**
 * `troupe serve`'s start line names where sessions are kept (memory, or Redis at its URL with the
 * password hidden) and the providers that answer, as `troupe stdio`'s names the providers. Until
 * 2026-12-07 it named neither: an operator had no word that `--redis` or TROUPE_REDIS_URL was
 * taken but /readyz. The BUILT CLI (`npm run build` first) on a local redis-server.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RedisServer, startRedis } from '../support/redis.js';

const PASSWORD = 'Start-Line-Pw-7';
let redis: RedisServer;

beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});

/** The start line of `troupe serve` with `env` and `args`, once it is serving; the process is then stopped. */
async function firstLine(env: Record<string, string>, args: readonly string[] = []): Promise<string> {
  const { spawn } = await import('node:child_process');
  const { CLI } = await import('../support/stdio-cli.js');
  const child = spawn(process.execPath, [CLI, 'serve', '--port', '0', ...args], {
    env: { PATH: process.env.PATH ?? '', TROUPE_LOG_FORMAT: 'json', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  try {
    let err = '';
    return await new Promise<string>((resolve, reject) => {
      child.stderr?.on('data', (d: Buffer) => {
        err += d.toString();
        const line = err.split('\n').find((l) => l.includes('serving MCP at'));
        if (line !== undefined) resolve(line);
      });
      child.once('exit', () => reject(new Error(`serve exited: ${err}`)));
    });
  } finally {
    child.kill('SIGKILL');
  }
}

describe('troupe serve’s start line', () => {
  it('in memory: says so, and names the simulated provider with no key', async () => {
    const line = JSON.parse(await firstLine({}));
    expect(line.msg).toMatch(/; backend: memory; no provider key set \(.*\): using the simulated provider$/);
    expect(line).toMatchObject({ backend: 'memory', providers: ['simulated'], simulated: true });
  });

  it('with keys: names the configured providers', async () => {
    const line = JSON.parse(await firstLine({ MOONSHOT_API_KEY: 'sk-start-line-0123456789' }));
    expect(line.msg).toMatch(/; backend: memory; providers: kimi$/);
    expect(line.providers).toEqual(['kimi']);
  });

  it('on Redis: names it with its URL, the password hidden everywhere in the line', async () => {
    const { Redis } = await import('ioredis');
    const admin = new Redis(redis.url, { lazyConnect: true });
    await admin.connect();
    await admin.config('SET', 'requirepass', PASSWORD);
    try {
      const url = redis.url.replace('//', `//:${PASSWORD}@`);
      const raw = await firstLine({ TROUPE_REDIS_URL: url });
      expect(raw).not.toContain(PASSWORD);
      const line = JSON.parse(raw);
      // serve hides it (redactUrl's `***`); the logger's scrubber then writes its own mark over that.
      expect(line.msg).toContain(
        `; backend: Redis at redis://[REDACTED]@127.0.0.1:${redis.port}; no provider key set`,
      );
      expect(line.backend).toBe(`Redis at redis://[REDACTED]@127.0.0.1:${redis.port}`);
      // The password as a query parameter, which ioredis reads too: serve hides it, and the
      // logger's scrubber (which covers `?password=` since 2026-12-07) writes its mark over that.
      const query = JSON.parse(await firstLine({ TROUPE_REDIS_URL: `${redis.url}/0?password=${PASSWORD}` }));
      expect(JSON.stringify(query)).not.toContain(PASSWORD);
      expect(query.backend).toBe(`Redis at ${redis.url}/0?password=[REDACTED]`);
    } finally {
      await admin.auth(PASSWORD);
      await admin.config('SET', 'requirepass', '');
      admin.disconnect();
    }
  });
});
