/**
 * `examples/dashboard-proxy.mjs`, the proxy observability.md gives for the dashboard of a server
 * with tokens, run as a user runs it in front of the BUILT `troupe serve` (`npm run build` first):
 * a real Chromium opens the page through it and goes live (its `/events` stream passes through),
 * while the server itself answers the browser 401. The proxy keeps the admin token to the
 * dashboard's paths: no `/mcp`, no other method, no other site's `Host`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { launchChromium } from '../support/chromium.js';
import { startServeCli } from '../support/serve-cli.js';

const ADMIN = 'Zq9-admin-proxy-token';
const children: ChildProcess[] = [];
let browser: Browser | undefined;
let serve: URL;
let proxy: string;

/** The example, as its comment says to run it; resolves with the address it prints. */
async function startProxy(env: Record<string, string>): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ['examples/dashboard-proxy.mjs'], {
    env: { PATH: process.env.PATH ?? '', PROXY_PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let err = '';
  const url = await new Promise<string>((resolve, reject) => {
    child.stderr?.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /open (http:\/\/127\.0\.0\.1:\d+\/)/.exec(err);
      if (m) resolve(m[1] as string);
    });
    child.once('exit', (code) => reject(new Error(`proxy exited ${code}: ${err}`)));
  });
  return { child, url };
}

beforeAll(async () => {
  const started = await startServeCli({ TROUPE_ADMIN_TOKEN: ADMIN, TROUPE_TOKENS: 'alice:Zq9-alice-token' });
  children.push(started.child);
  serve = started.base;
  proxy = (await startProxy({ TROUPE_ADMIN_TOKEN: ADMIN, TROUPE_URL: serve.origin })).url;
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  for (const child of children) child.kill('SIGKILL');
});

it('a browser gets the live dashboard through it, and 401 from the server itself', async () => {
  const page = await browser!.newPage();
  expect((await page.goto(`${serve.origin}/`))?.status()).toBe(401);
  expect((await page.goto(proxy))?.status()).toBe(200);
  // Live: the page's `/events` stream, opened by the page itself, passes through the proxy.
  await page.waitForFunction(() => Number(document.body.getAttribute('data-updates')) > 0, null, {
    timeout: 20_000,
  });
  expect(await page.textContent('#conn')).toBe('live');
  await page.close();
  const status = await fetch(`${proxy}api/status`);
  expect(status.status).toBe(200);
  expect((await status.json()).status.state).toBe('accepting');
  expect((await fetch(`${proxy}metrics`)).headers.get('content-type')).toMatch(/^text\/plain/);
});

it('keeps the token to the dashboard: no /mcp, GET only, a loopback Host only', async () => {
  const mcp = await fetch(`${proxy}mcp`);
  expect(mcp.status).toBe(404);
  expect(await mcp.text()).toBe("only the dashboard's paths: / /events /api/status /metrics\n");
  expect((await fetch(`${proxy}api/status`, { method: 'POST', body: '{}' })).status).toBe(405);
  // DNS rebinding: another site's name resolved to 127.0.0.1 sends its own name as `Host`.
  const rebound = await new Promise<number>((resolve, reject) => {
    const { port } = new URL(proxy);
    import('node:http').then(({ get }) =>
      get({ host: '127.0.0.1', port, path: '/api/status', headers: { host: `evil.test:${port}` } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      }).on('error', reject),
    );
  });
  expect(rebound).toBe(403);
});

it('a named token that is not the admin’s gets the server’s 403, passed on', async () => {
  const alice = await startProxy({ TROUPE_ADMIN_TOKEN: 'Zq9-alice-token', TROUPE_URL: serve.origin });
  const status = await fetch(`${alice.url}api/status`);
  expect(status.status).toBe(403);
  expect(await status.text()).toMatch(/admin/);
});

it('refuses to start without the token, in one line', async () => {
  const child = spawn(process.execPath, ['examples/dashboard-proxy.mjs'], {
    env: { PATH: process.env.PATH ?? '' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  child.stderr?.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const [code] = await new Promise<[number | null]>((resolve) => child.once('exit', (c) => resolve([c])));
  expect(code).toBe(2);
  expect(err).toBe('dashboard-proxy: set TROUPE_ADMIN_TOKEN (the token troupe serve was given)\n');
});
