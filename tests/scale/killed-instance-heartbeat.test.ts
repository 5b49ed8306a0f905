/**
 * What a client of `troupe serve --redis` can rely on when the instance serving its call is killed
 * (`kill -9`), as scale-out.md ("What a client of a killed instance sees") states it. The SDK's
 * client (`@modelcontextprotocol/client` 2.4) fails no pending request when the stream its answer was
 * to come on breaks: it tells `onerror` ("SSE stream disconnected: TypeError: terminated") and
 * nothing more, in both eras (a 2026-07-28 request's stream has no event ids, so nothing is resumed;
 * the call's promise stays pending). What ends the call is the client's own timeout: with
 * `resetTimeoutOnProgress`, troupe's heartbeat (`TROUPE_PROGRESS_MS`, here 1 s) keeps a call on a
 * live instance going past `timeout`, and a killed instance's call rejects `REQUEST_TIMEOUT` about
 * `timeout` after the kill, not after its whole run. The BUILT CLI (`npm run build` first), two
 * processes on one redis-server.
 */
import type { ChildProcess } from 'node:child_process';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type RedisServer, startRedis } from '../support/redis.js';
import { startServeCli } from '../support/serve-cli.js';
import { until } from '../support/until.js';

const TOKEN = 'Zq9-alice-heartbeat';
/** troupe's heartbeat while a call runs. */
const PROGRESS_MS = 1000;
/** The clients' request timeout, reset by each progress notification. */
const TIMEOUT_MS = 4000;
const children: ChildProcess[] = [];
let redis: RedisServer;

beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  await redis?.stop();
});

async function serve(): Promise<{ child: ChildProcess; url: URL }> {
  const { child, base } = await startServeCli(
    { TROUPE_TOKENS: `alice:${TOKEN}`, TROUPE_PROGRESS_MS: String(PROGRESS_MS) },
    ['--redis', redis.url],
  );
  children.push(child);
  return { child, url: base };
}

type Era = '2025-11-25' | '2026-07-28';

/** A client of `url` in `era` with one call of `latencyMs`; what it saw, with times from `started`. */
async function caller(url: URL, era: Era, latencyMs: number, started: number) {
  /** What `onerror` heard, and whether the call was still pending then. */
  const errors: { message: string; pending: boolean }[] = [];
  const seen = { running: false, settledAt: Number.NaN };
  const options = era === '2026-07-28' ? { versionNegotiation: { mode: { pin: era } } } : {};
  const client = new Client({ name: 'heartbeat', version: '1' }, options);
  await client.connect(
    new StreamableHTTPClientTransport(url, {
      requestInit: { headers: { authorization: `Bearer ${TOKEN}` } },
    }),
  );
  client.onerror = (error) => errors.push({ message: error.message, pending: Number.isNaN(seen.settledAt) });
  const sentAt = performance.now() - started;
  const call = client
    .callTool(
      { name: 'chat', arguments: { prompt: era, extra: { simulateLatencyMs: latencyMs } } },
      {
        timeout: TIMEOUT_MS,
        resetTimeoutOnProgress: true,
        maxTotalTimeout: 120_000,
        onprogress: (p) => {
          if (p.message?.startsWith('running')) seen.running = true;
        },
      },
    )
    .then(
      (result) => ({ outcome: result.isError === true ? 'tool error' : 'answered' }),
      (error: { code?: string }) => ({ outcome: String(error.code) }),
    )
    .then((end) => {
      seen.settledAt = performance.now() - started;
      return { ...end, afterMs: seen.settledAt };
    });
  return { client, errors, seen, call, sentAt };
}

it('a call whose timeout resets on troupe’s heartbeat ends about its timeout after its instance is killed, and runs past it on a live one', async () => {
  const [a, b] = await Promise.all([serve(), serve()]);
  const started = performance.now();
  const eras: Era[] = ['2025-11-25', '2026-07-28'];
  // On the instance to be killed, calls that would run for 60 s; on the survivor, calls longer than the timeout.
  const onA = await Promise.all(eras.map((era) => caller(a.url, era, 60_000, started)));
  const onB = await Promise.all(eras.map((era) => caller(b.url, era, TIMEOUT_MS + 2 * PROGRESS_MS, started)));
  await until(
    async () => [...onA, ...onB].every((c) => c.seen.running),
    (all) => all,
    'all four calls running',
    20_000,
  );
  const killedAt = performance.now() - started;
  a.child.kill('SIGKILL');

  for (const [i, c] of onA.entries()) {
    const era = eras[i];
    // The stream's break is told to `onerror` while the call is still pending: it does not fail it.
    await until(
      async () => c.errors.some((e) => e.message === 'SSE stream disconnected: TypeError: terminated'),
      (heard) => heard,
      `${era}: onerror hearing the broken stream`,
    );
    expect(c.errors.find((e) => e.message.startsWith('SSE stream disconnected'))?.pending, era).toBe(true);
    // Its own timeout ends it: at most `timeout` after the last heartbeat before the kill.
    const end = await c.call;
    expect(end.outcome, era).toBe('REQUEST_TIMEOUT');
    expect(end.afterMs - killedAt, era).toBeGreaterThanOrEqual(TIMEOUT_MS - PROGRESS_MS - 50);
    expect(end.afterMs - killedAt, era).toBeLessThan(TIMEOUT_MS + 4000);
  }
  // The survivor's calls ran past `timeout`, kept alive by the heartbeat (either may have been run
  // by the killed instance and taken over: answered later, still answered).
  for (const [i, c] of onB.entries()) {
    const end = await c.call;
    expect(end.outcome, eras[i]).toBe('answered');
    expect(end.afterMs - c.sentAt, eras[i]).toBeGreaterThan(TIMEOUT_MS + PROGRESS_MS);
  }
  for (const c of [...onA, ...onB]) await c.client.close().catch(() => {});
}, 90_000);
