/**
 * The one warning when the sessions of several callers are in flight at once on a runtime that
 * gives each caller no share of its slots and queue (`callerShareWatch`, src/mcp/caller-shares.ts;
 * docs/embedding.md, "Each caller's share"), on the fronts `createHttpApp` cannot refuse at
 * construction: the SDK's `createMcpHandler` with users an embedder's authentication names, and
 * troupe's front with no token or one shared token (its clients told apart by MCP session). Until
 * 2026-12-07 nothing told them, and one user's slow calls could take every slot.
 */
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { createMcpHandler, McpServer } from '@modelcontextprotocol/server';
import { afterEach, describe, expect, it } from 'vitest';
import { createHttpApp, createMcpContext, type HttpAppOptions } from '../../../src/mcp/index.js';
import { callerShares } from '../../../src/runtime/options.js';
import { createRuntime } from '../../../src/runtime/runtime.js';
import type { Limits, Runtime } from '../../../src/runtime/types.js';
import { registerWait } from '../../support/wait-tool.js';

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** The process warnings with troupe's code for it, from now until the test's end. */
function shareWarnings(): string[] {
  const warnings: string[] = [];
  const listen = (warning: Error & { code?: string }) => {
    if (warning.code === 'TROUPE_NO_CALLER_SHARE') warnings.push(warning.message);
  };
  process.on('warning', listen);
  cleanups.push(() => process.off('warning', listen));
  return warnings;
}

function runtimeWith(limits: Limits): Runtime {
  const runtime = createRuntime({ providers: [], limits });
  cleanups.push(() => runtime.shutdown({ deadlineMs: 0 }));
  return runtime;
}

/** A `wait` call left running (cancelled by the runtime's shutdown at the end of the test). */
function waitCall(client: Client): void {
  client.callTool({ name: 'wait', arguments: {} }).catch(() => {});
}

/** The SDK's stateless handler serving `wait`, and a client for each user its authentication names. */
async function sdkHandler(limits: Limits) {
  const runtime = runtimeWith(limits);
  const handler = createMcpHandler(() => {
    const server = new McpServer({ name: 'saas', version: '1' });
    registerWait(server, runtime);
    return server;
  });
  const user = async (name: string) => {
    const authInfo = {
      token: `tok-${name}`,
      clientId: 'saas-app',
      scopes: [],
      extra: { troupeCaller: name },
    };
    const client = new Client({ name, version: '1' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL('http://saas.local/mcp'), {
        fetch: (url, init) => handler.fetch(new Request(url, init), { authInfo }),
      }),
    );
    cleanups.push(() => client.close());
    return client;
  };
  return { runtime, user };
}

const running = (runtime: Runtime, n: number) =>
  expect.poll(() => runtime.status({ recent: 0 }).running, { timeout: 10_000 }).toBe(n);

/** Lets a warning emitted meanwhile arrive (process warnings are emitted on the next tick). */
const settle = () => new Promise((resolve) => setTimeout(resolve, 50));

describe('behind createMcpHandler, with users named by authInfo.extra.troupeCaller', () => {
  it('warns once when a second user’s session is in flight beside another’s, naming the limits, the values and no user', async () => {
    const warnings = shareWarnings();
    const { runtime, user } = await sdkHandler({ maxConcurrent: 8 });
    const [alice, bob, carol] = [await user('alice'), await user('bob'), await user('carol')];
    waitCall(alice);
    waitCall(alice);
    await running(runtime, 2);
    await settle();
    expect(warnings).toEqual([]); // one user is no one to share with
    waitCall(bob);
    await expect.poll(() => warnings.length).toBe(1);
    expect(warnings).toEqual([
      "troupe: sessions of several callers (user:…) are in flight at once on a runtime that gives each caller no share of its slots and queue, got limits.maxRunningPerCaller 8 of maxConcurrent 8 and limits.maxQueuedPerCaller 10000 of maxQueued 10000: one caller's calls can take them all while the others' wait out their deadlines; set createRuntime({ limits: { maxRunningPerCaller: 6, maxQueuedPerCaller: 2500 } }) (troupe serve's: three quarters of maxConcurrent, a quarter of maxQueued). Told once per runtime",
    ]);
    waitCall(carol);
    await running(runtime, 4);
    await settle();
    expect(warnings).toHaveLength(1);
  });

  it('says nothing on a runtime with each caller’s share', async () => {
    const warnings = shareWarnings();
    const { runtime, user } = await sdkHandler({
      maxConcurrent: 8,
      ...callerShares({ maxConcurrent: 8, maxQueued: 10_000 }),
    });
    waitCall(await user('alice'));
    waitCall(await user('bob'));
    await running(runtime, 2);
    await settle();
    expect(warnings).toEqual([]);
  });
});

describe('troupe’s front with no token or one shared token (clients told apart by MCP session)', () => {
  async function front(options: Partial<HttpAppOptions>) {
    const runtime = runtimeWith({ maxConcurrent: 4 });
    const mcp = createMcpContext({ runtime, log: () => {}, sessionFilter: 'owner' });
    const app = createHttpApp({
      mcp,
      port: 0,
      tools: [],
      ...options,
      setup: (server) => registerWait(server, runtime),
    });
    const { url } = await app.listen();
    cleanups.push(async () => {
      await runtime.shutdown({ deadlineMs: 0 });
      await app.close();
      mcp.close();
    });
    const client = async () => {
      const connected = new Client({ name: 'caller', version: '1.0.0' });
      const transport = new StreamableHTTPClientTransport(
        new URL(url),
        options.token === undefined
          ? {}
          : { requestInit: { headers: { authorization: `Bearer ${options.token}` } } },
      );
      await connected.connect(transport);
      cleanups.push(() => connected.close());
      return { connected, sessionId: transport.sessionId as string };
    };
    return { runtime, client };
  }

  for (const [what, options] of [
    ['no token', {}],
    ['one shared token', { token: 'shared-token-1' }],
  ] as const) {
    it(`warns once with ${what} when two clients’ sessions are in flight, showing no session id`, async () => {
      const warnings = shareWarnings();
      const { runtime, client } = await front(options);
      const [first, second] = [await client(), await client()];
      waitCall(first.connected);
      await running(runtime, 1);
      waitCall(second.connected);
      await expect.poll(() => warnings.length).toBe(1);
      expect(warnings[0]).toMatch(
        /^troupe: sessions of several callers \(mcp:…\) are in flight at once .* got limits\.maxRunningPerCaller 4 of maxConcurrent 4 and limits\.maxQueuedPerCaller 10000 of maxQueued 10000: .*maxRunningPerCaller: 3, maxQueuedPerCaller: 2500 /,
      );
      for (const { sessionId } of [first, second]) {
        expect(sessionId.length).toBeGreaterThan(8);
        expect(warnings[0]).not.toContain(sessionId);
      }
    });
  }

  it('says nothing with allowNoCallerShare: the embedder chose to have its clients share', async () => {
    const warnings = shareWarnings();
    const { runtime, client } = await front({ allowNoCallerShare: true });
    waitCall((await client()).connected);
    waitCall((await client()).connected);
    await running(runtime, 2);
    await settle();
    expect(warnings).toEqual([]);
  });
});
