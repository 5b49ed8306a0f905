/**
 * The dashboard, its event stream, `/api/status` and `/metrics` show every client's work (session
 * ids, model ids), so under `troupe serve` with named tokens they answer the admin token alone: a
 * client's named token gets 403 for them (it reads its own work with the `sessions` tool), and so
 * does the shared `TROUPE_TOKEN` beside named tokens (until 2026-12-08 it read them), which still
 * serves `/mcp`. With the shared token alone its holders are the operator and read them. Named
 * tokens without an admin token: `troupe serve` says at its start that nobody can read them.
 * The BUILT CLI (`npm run build` first), raw HTTP.
 */
import type { ChildProcess } from 'node:child_process';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startServeCli } from '../support/serve-cli.js';

const PATHS = ['/', '/events', '/api/status', '/metrics'];
const UNREAD =
  'the dashboard (/, /events), /api/status and /metrics answer only TROUPE_ADMIN_TOKEN beside TROUPE_TOKENS, and it is not set: set it to read them';

type Serve = Awaited<ReturnType<typeof startServeCli>>;
const children: ChildProcess[] = [];
/** Named, shared and admin tokens. */
let mixed: Serve;
/** The shared and admin tokens, no named one. */
let sharedOnly: Serve;
/** Named and shared tokens, no admin. */
let noAdmin: Serve;

beforeAll(async () => {
  [mixed, sharedOnly, noAdmin] = await Promise.all([
    startServeCli({
      TROUPE_TOKENS: 'alice:alice-token-1',
      TROUPE_ADMIN_TOKEN: 'admin-token-333',
      TROUPE_TOKEN: 'shared-token-22',
    }),
    startServeCli({ TROUPE_ADMIN_TOKEN: 'admin-token-333', TROUPE_TOKEN: 'shared-token-22' }),
    startServeCli({ TROUPE_TOKENS: 'alice:alice-token-1', TROUPE_TOKEN: 'shared-token-22' }),
  ]);
  children.push(mixed.child, sharedOnly.child, noAdmin.child);
});
afterAll(() => {
  for (const child of children) child.kill('SIGKILL');
});

const get = (server: Serve, path: string, token: string) =>
  fetch(new URL(path, server.base), { headers: { authorization: `Bearer ${token}` } });

it("refuses the dashboard, /events, /api/status and /metrics to a client's named token, naming the fix", async () => {
  for (const path of PATHS) {
    const res = await get(mixed, path, 'alice-token-1');
    expect(res.status, path).toBe(403);
    const { error } = (await res.json()) as { error: string };
    expect(error).toContain('needs the admin token (TROUPE_ADMIN_TOKEN), got the token of `alice`');
    expect(error).not.toContain('alice-token-1');
  }
});

it('refuses them to the shared token beside named tokens, which still serves /mcp', async () => {
  // Before 2026-12-08 it got all four, and read the named callers' session and model ids there.
  for (const path of PATHS) {
    const res = await get(mixed, path, 'shared-token-22');
    expect(res.status, path).toBe(403);
    const { error } = (await res.json()) as { error: string };
    expect(error).toContain(
      'on a server with named tokens (TROUPE_TOKENS) it needs the admin token (TROUPE_ADMIN_TOKEN), got the shared token (TROUPE_TOKEN), which serves /mcp only',
    );
    expect(error).not.toContain('shared-token-22');
  }
  const client = new Client({ name: 'shared', version: '1' });
  await client.connect(
    new StreamableHTTPClientTransport(mixed.base, {
      requestInit: { headers: { authorization: 'Bearer shared-token-22' } },
    }),
  );
  try {
    expect((await client.listTools()).tools.map((t) => t.name)).toContain('chat');
  } finally {
    await client.close();
  }
});

it('serves them to the admin token', async () => {
  const status = await get(mixed, '/api/status', 'admin-token-333');
  expect(status.status).toBe(200);
  expect(((await status.json()) as { status: { state: string } }).status.state).toBe('accepting');
  expect((await get(mixed, '/', 'admin-token-333')).status).toBe(200);
  const events = await fetch(new URL('/events', mixed.base), {
    headers: { authorization: 'Bearer admin-token-333' },
  });
  expect(events.status).toBe(200);
  expect(events.headers.get('content-type')).toMatch(/^text\/event-stream/);
  await events.body?.cancel();
  expect((await get(mixed, '/metrics', 'admin-token-333')).status).toBe(200);
  expect(mixed.stderr()).not.toContain('answer only TROUPE_ADMIN_TOKEN');
});

it('serves them to the shared token when no named token is set: its holders are the operator', async () => {
  // `/events` too: the test below opens 28 of them with it.
  for (const path of ['/', '/api/status', '/metrics'])
    expect((await get(sharedOnly, path, 'shared-token-22')).status, path).toBe(200);
  // The HTTP front's figures, from `troupe serve` itself: nothing is held, nothing waits but this.
  const text = await (await get(sharedOnly, '/metrics', 'shared-token-22')).text();
  expect(text).toMatch(/^troupe_http_held_bytes 0$/m);
  expect(text).toMatch(/^troupe_http_unsent_bytes \d+$/m);
  expect(text).toMatch(/^troupe_mcp_sessions 0$/m);
  expect(sharedOnly.stderr()).not.toContain('answer only TROUPE_ADMIN_TOKEN');
});

it('says at the start that nobody can read them with named tokens and no admin token', async () => {
  // One line, after the start line, naming the variable and no token.
  await expect.poll(() => noAdmin.stderr(), { timeout: 10_000 }).toContain(UNREAD);
  const line = noAdmin
    .stderr()
    .split('\n')
    .find((l) => l.includes(UNREAD)) as string;
  expect(line).not.toMatch(/alice-token-1|shared-token-22/);
  expect(noAdmin.stderr().split(UNREAD)).toHaveLength(2);
  for (const path of PATHS) {
    expect((await get(noAdmin, path, 'shared-token-22')).status, path).toBe(403);
    expect((await get(noAdmin, path, 'alice-token-1')).status, path).toBe(403);
  }
});

it('keeps four of the 32 /events places for the admin token: the shared token’s tabs cannot take them', async () => {
  const aborts: AbortController[] = [];
  const open = (token: string) => {
    const abort = new AbortController();
    aborts.push(abort);
    return fetch(new URL('/events', sharedOnly.base), {
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
