/**
 * The dashboard, its event stream and `/api/status` show every client's sessions, so under
 * `troupe serve` a named token that is not the admin gets 403 for them (it reads its own work with
 * the `sessions` tool); the admin token gets them, and `/metrics` (aggregates only) stays open to
 * every token. The BUILT CLI (`npm run build` first), raw HTTP.
 */
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startServeCli } from '../support/serve-cli.js';

let child: ChildProcess | undefined;
let base: URL;

beforeAll(async () => {
  ({ child, base } = await startServeCli({
    TROUPE_TOKENS: 'alice:alice-token-1',
    TROUPE_ADMIN_TOKEN: 'admin-token-333',
    TROUPE_TOKEN: 'shared-token-22',
  }));
});
afterAll(() => {
  child?.kill('SIGKILL');
});

const get = (path: string, token: string) =>
  fetch(new URL(path, base), { headers: { authorization: `Bearer ${token}` } });

it("refuses the dashboard, /events and /api/status to a client's named token, naming the fix", async () => {
  for (const path of ['/', '/events', '/api/status']) {
    const res = await get(path, 'alice-token-1');
    expect(res.status, path).toBe(403);
    const { error } = (await res.json()) as { error: string };
    expect(error).toContain('needs the admin token (TROUPE_ADMIN_TOKEN), got the token of `alice`');
    expect(error).not.toContain('alice-token-1');
  }
  const metrics = await get('/metrics', 'alice-token-1');
  expect(metrics.status).toBe(200);
  // The HTTP front's figures, from `troupe serve` itself: nothing is held, nothing waits but this.
  const text = await metrics.text();
  expect(text).toMatch(/^troupe_http_held_bytes 0$/m);
  expect(text).toMatch(/^troupe_http_unsent_bytes \d+$/m);
  expect(text).toMatch(/^troupe_mcp_sessions 0$/m);
});

it('serves them to the admin token', async () => {
  const status = await get('/api/status', 'admin-token-333');
  expect(status.status).toBe(200);
  expect(((await status.json()) as { status: { state: string } }).status.state).toBe('accepting');
  expect((await get('/', 'admin-token-333')).status).toBe(200);
  const events = await get('/events', 'admin-token-333');
  expect(events.status).toBe(200);
  expect(events.headers.get('content-type')).toMatch(/^text\/event-stream/);
  await events.body?.cancel();
});

it('keeps four of the 32 /events places for the admin token: the shared token’s tabs cannot take them', async () => {
  const aborts: AbortController[] = [];
  const open = (token: string) => {
    const abort = new AbortController();
    aborts.push(abort);
    return fetch(new URL('/events', base), {
      signal: abort.signal,
      headers: { authorization: `Bearer ${token}` },
    });
  };
  try {
    const shared = await Promise.all(Array.from({ length: 28 }, () => open('shared-token-22')));
    expect(shared.map((r) => r.status)).toEqual(Array(28).fill(200));
    const refused = await open('shared-token-22');
    expect(refused.status).toBe(503);
    expect(await refused.text()).toContain(
      "at most 28 /events streams open at once for tokens other than the admin's (4 of 32 kept for it)",
    );
    expect((await open('admin-token-333')).status).toBe(200);
  } finally {
    for (const abort of aborts) abort.abort();
  }
});
