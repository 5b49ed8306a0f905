/**
 * What an MCP client of `troupe serve --redis` sees when the instance serving its call is killed
 * (`kill -9`), in both protocol eras, as scale-out.md ("What a client of a killed instance sees")
 * states it: the SDK's client (`@modelcontextprotocol/client` 2.4) is not told. Its call is not
 * rejected at the kill but waits out the client's own request timeout (`REQUEST_TIMEOUT`); a
 * 2025-era client meanwhile tries twice to resume its streams at the dead address and gives up
 * (`onerror`: "Maximum reconnection attempts (2) exceeded."). Its `onerror` also hears "SSE
 * stream disconnected: TypeError: terminated" at the kill, which fails nothing (checked, with the
 * heartbeat that lets a client notice sooner, in `killed-instance-heartbeat.test.ts`). Meanwhile the survivor ends the call's session (taken
 * over as attempt 2, or run there from the start: either instance leases from the shared queue),
 * readable with `sessions` by the same named token from a new connection; its answer is lost.
 * The BUILT CLI (`npm run build` first), two processes on one redis-server. */
import type { ChildProcess } from 'node:child_process';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type RedisServer, startRedis } from '../support/redis.js';
import { startServeCli } from '../support/serve-cli.js';
import { until } from '../support/until.js';

const TOKEN = 'Zq9-alice-killed';
const TIMEOUT_MS = 6000;
const children: ChildProcess[] = [];
let redis: RedisServer;

beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  await redis?.stop();
});

/** `troupe serve --redis` with the simulated provider and one named token; resolves with its MCP URL. */
async function serve(): Promise<{ child: ChildProcess; url: URL }> {
  const { child, base } = await startServeCli({ TROUPE_TOKENS: `alice:${TOKEN}` }, ['--redis', redis.url]);
  children.push(child);
  return { child, url: base };
}

async function connect(url: URL, options: ConstructorParameters<typeof Client>[1] = {}) {
  const errors: string[] = [];
  const client = new Client({ name: 'killed', version: '1' }, options);
  const transport = new StreamableHTTPClientTransport(url, {
    requestInit: { headers: { authorization: `Bearer ${TOKEN}` } },
  });
  await client.connect(transport);
  // The client's own hook: it hears what the transport reports, in both eras.
  client.onerror = (error) => errors.push(error.message);
  return { client, errors };
}

it('a killed instance’s clients wait out their own timeout in both eras, while the survivor ends their sessions', async () => {
  const a = await serve();
  const b = await serve();
  const eras = {
    '2025-11-25': await connect(a.url),
    '2026-07-28': await connect(a.url, { versionNegotiation: { mode: { pin: '2026-07-28' } } }),
  };
  const running = new Set<string>();
  const started = performance.now();
  const calls = Object.entries(eras).map(([era, { client }]) => {
    return client
      .callTool(
        { name: 'chat', arguments: { prompt: era, extra: { simulateLatencyMs: 3000 } } },
        {
          timeout: TIMEOUT_MS,
          onprogress: (p) => {
            if (p.message?.startsWith('running')) running.add(era);
          },
        },
      )
      .then(
        () => ({ era, outcome: 'answered', afterMs: performance.now() - started }),
        (error: { code?: string }) => ({ era, outcome: error.code, afterMs: performance.now() - started }),
      );
  });
  await until(
    async () => running.size,
    (n) => n === 2,
    'both calls running',
  );
  a.child.kill('SIGKILL');
  // The kill comes well before the clients' timeout.
  expect(performance.now() - started).toBeLessThan(TIMEOUT_MS - 2000);
  // The calls themselves are not told: each ends at its client's own timeout, not at the kill.
  const ended = await Promise.all(calls);
  for (const call of ended) {
    expect(call.outcome, call.era).toBe('REQUEST_TIMEOUT');
    expect(call.afterMs, call.era).toBeGreaterThanOrEqual(TIMEOUT_MS - 5);
  }

  // The 2025-era client tries to resume at the dead address, and gives up after two tries.
  await until(
    async () => eras['2025-11-25'].errors.includes('Maximum reconnection attempts (2) exceeded.'),
    (done) => done,
    'the 2025-era client to give up resuming',
  );
  // The survivor ended both sessions: taken over as a second attempt when A had leased them, or
  // run there from the start (either instance leases from the shared queue), its end sent to A,
  // which held the request and is gone. The same named token reads them from a new connection.
  const reader = await connect(b.url);
  const recent = await until(
    async () => {
      const answer = await reader.client.callTool({ name: 'sessions', arguments: { recent_limit: 10 } });
      return (answer.structuredContent as { recent: { state: string; attempts: number; label: string }[] })
        .recent;
    },
    (list) => list.filter((s) => s.state === 'done').length === 2,
    'both sessions ended on the survivor',
    30_000,
  );
  for (const session of recent) {
    expect(session).toMatchObject({ state: 'done', label: 'chat' });
    expect(session.attempts).toBeLessThanOrEqual(2);
  }
  await reader.client.close();
  for (const { client } of Object.values(eras)) await client.close().catch(() => {});
}, 90_000);
