/**
 * A bad provider setting stops `troupe serve` and `troupe stdio` at once, as every other setting
 * does: one line naming it, exit code 2. Before, the providers were loaded after `--redis`
 * connected: the error came out as `troupe: ...` and the open Redis connections kept the process
 * alive, so it never exited and a supervisor (systemd, Kubernetes) never saw it fail. Run
 * `npm run build` first.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openLegacySession, postMcp } from '../support/raw-session.js';
import { type RedisServer, startRedis } from '../support/redis.js';
import { startServeCli } from '../support/serve-cli.js';

const CLI = 'dist/src/cli/main.js';
let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis.stop();
});

function run(args: string[], env: Record<string, string>): Promise<{ code: number; stderr: string }> {
  expect(existsSync(CLI), `build first: ${CLI} is missing`).toBe(true);
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [CLI, ...args],
      { env: { PATH: process.env.PATH ?? '', ...env }, timeout: 15_000, killSignal: 'SIGKILL' },
      (error, _stdout, stderr) =>
        resolve({
          code: error === null ? 0 : ((error as { code?: number }).code ?? (error.killed ? -1 : 1)),
          stderr,
        }),
    );
    child.stdin?.end();
  });
}

const BAD = {
  MOONSHOT_API_KEY: 'sk-refusaltestkey0123456789',
  KIMI_BASE_URL: 'http://u:Zq9pw@127.0.0.1:9/v1',
};
const LINE =
  'KIMI_BASE_URL: Expected a base URL without a user or password (requests refuse one); send credentials in a header of the providers file, e.g. "headers": { "Authorization": "Basic ..." }, got `"http://***@127.0.0.1:9/v1"` (string)\n';

describe('a bad provider setting at start', () => {
  it('serve --redis: one line, exit code 2, no hang', async () => {
    const started = performance.now();
    const { code, stderr } = await run(['serve', '--port', '0', '--redis', redis.url], BAD);
    expect(stderr).toBe(`troupe serve: ${LINE}`);
    expect(code).toBe(2);
    expect(performance.now() - started).toBeLessThan(10_000);
  });

  it('stdio: the same', async () => {
    const { code, stderr } = await run(['stdio'], BAD);
    expect(stderr).toBe(`troupe stdio: ${LINE}`);
    expect(code).toBe(2);
  });
});

describe('TROUPE_ROOTS naming no folder', () => {
  // Before: taken, and every multi_file_chat call was refused later, far from the typo.
  it.each([
    ['serve', ['serve', '--port', '0']],
    ['stdio', ['stdio']],
  ])('%s: one line naming the root, exit code 2', async (name, args) => {
    const here = process.cwd();
    const { code, stderr } = await run(args, { TROUPE_ROOTS: `${here}:/nonexistent/troupe-root` });
    expect(stderr).toBe(
      `troupe ${name}: Expected TROUPE_ROOTS to name folders that exist (separated by ":"), got \`/nonexistent/troupe-root\`: ENOENT\n`,
    );
    expect(code).toBe(2);
    const file = await run(args, { TROUPE_ROOTS: `${here}/package.json` });
    expect(file.stderr).toMatch(/package\.json`: not a folder\n$/);
    expect(file.code).toBe(2);
  });
});

describe('troupe config refuses what serve would', () => {
  // Before: it printed "TROUPE_ADMIN_TOKEN set" and the roots, and exit code 0, for a setup serve refuses.
  it('a bad token or root: the line serve prints, exit code 2', async () => {
    const tokens = await run(['config'], { TROUPE_TOKENS: 'alice:Zq9aaaaaa,bob:Zq9aaaaaa' });
    expect(tokens.stderr).toBe(
      'troupe config: Expected a different token for each client, got one token for "alice" (TROUPE_TOKENS) and "bob" (TROUPE_TOKENS) (a request with it would be taken for the first only)\n',
    );
    expect(tokens.code).toBe(2);
    const roots = await run(['config'], { TROUPE_ROOTS: '/nonexistent/troupe-root' });
    expect(roots.stderr).toMatch(/^troupe config: Expected TROUPE_ROOTS to name folders that exist/);
    expect(roots.code).toBe(2);
    expect((await run(['config'], { TROUPE_ADMIN_TOKEN: 'Zq9-admin-token' })).code).toBe(0);
  });
});

describe('off loopback, the admin token alone is a token', () => {
  // The refusal named TROUPE_TOKEN and TROUPE_TOKENS alone until 2026-12-07, though serve took the
  // admin token too: an operator with only the admin token read it as not enough.
  it('the refusal names it, and with it alone serve starts', async () => {
    const args = ['serve', '--port', '0', '--host', '0.0.0.0', '--allowed-hosts', 'mcp.test'];
    const refused = await run(args, {});
    expect(refused.stderr).toMatch(
      /^troupe serve: refusing to serve on 0\.0\.0\.0 \(not loopback\) without a token: set TROUPE_TOKEN, TROUPE_TOKENS or TROUPE_ADMIN_TOKEN \(any one is enough/,
    );
    expect(refused.code).toBe(2);
    const { child, base } = await startServeCli({ TROUPE_ADMIN_TOKEN: 'Zq9-admin-token' }, [
      '--host',
      '0.0.0.0',
      '--allowed-hosts',
      '127.0.0.1',
    ]);
    try {
      const url = new URL(`http://127.0.0.1:${base.port}/mcp`);
      expect((await postMcp(url, undefined, { jsonrpc: '2.0', id: 1, method: 'ping' })).status).toBe(401);
      expect(await openLegacySession(url, { authorization: 'Bearer Zq9-admin-token' })).toMatch(/./);
    } finally {
      child.kill('SIGKILL');
    }
  });
});
