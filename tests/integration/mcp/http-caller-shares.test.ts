/**
 * Each caller's share on troupe's HTTP front (docs/embedding.md, "Each caller's share"): a runtime
 * serving several clients told apart by token gives each a share of its slots and queue, or
 * `createHttpApp` refuses it. Until 2026-12-07 it was built without, and one client's slow calls
 * took every slot while another's call timed out in the queue. Over real HTTP, with two tokens.
 */
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { afterEach, expect, it } from 'vitest';
import * as z from 'zod';
import { createHttpApp, createMcpContext, type HttpAppOptions, withSession } from '../../../src/mcp/index.js';
import { callerShares } from '../../../src/runtime/options.js';
import { createRuntime } from '../../../src/runtime/runtime.js';
import type { Limits, Runtime } from '../../../src/runtime/types.js';
import { registerWait } from '../../support/wait-tool.js';

const ALICE = { name: 'alice', token: 'alice-token-1234' };
const BOB = { name: 'bob', token: 'bob-token-123456' };

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function runtimeWith(limits: Limits): Runtime {
  const runtime = createRuntime({ providers: [], limits });
  cleanups.push(() => runtime.shutdown({ deadlineMs: 0 }).then(() => {}));
  return runtime;
}

/** `createHttpApp` on a runtime of `limits` with `options`, closed after the test; or its throw. */
function build(limits: Limits, options: Partial<HttpAppOptions>) {
  const mcp = createMcpContext({ runtime: runtimeWith(limits), log: () => {}, sessionFilter: 'owner' });
  cleanups.push(async () => mcp.close());
  const app = createHttpApp({ mcp, port: 0, ...options });
  cleanups.push(() => app.close());
  return app;
}

it('refuses several clients told apart by token on a runtime without shares, naming the limits and troupe serve’s values', () => {
  expect(() => build({ maxConcurrent: 8 }, { tokens: [ALICE, BOB] })).toThrow(
    "Expected the runtime of a createHttpApp with 2 clients told apart by token to give each caller a share of its slots and queue, got limits.maxRunningPerCaller 8 of maxConcurrent 8 and limits.maxQueuedPerCaller 10000 of maxQueued 10000: one client's calls could take them all while the others' waited out their deadlines; set createRuntime({ limits: { maxRunningPerCaller: 6, maxQueuedPerCaller: 2500 } }) (troupe serve's: three quarters of maxConcurrent, a quarter of maxQueued), or pass allowNoCallerShare: true",
  );
  // A named client beside the shared token's holders: two kinds of client.
  expect(() => build({ maxConcurrent: 8 }, { token: 'shared-token-1', tokens: [ALICE] })).toThrow(
    /^Expected the runtime of a createHttpApp with 2 clients told apart by token/,
  );
  // One share set is not both.
  expect(() => build({ maxConcurrent: 8, maxRunningPerCaller: 6 }, { tokens: [ALICE, BOB] })).toThrow(
    /, got limits\.maxQueuedPerCaller 10000 of maxQueued 10000: /,
  );
  expect(() => build({ maxConcurrent: 8, maxQueuedPerCaller: 100 }, { tokens: [ALICE, BOB] })).toThrow(
    /, got limits\.maxRunningPerCaller 8 of maxConcurrent 8: /,
  );
  expect(() => build({ maxConcurrent: 4, maxQueued: 40 }, { tokens: [ALICE, BOB] })).toThrow(
    /maxRunningPerCaller: 3, maxQueuedPerCaller: 10 \}/,
  );
});

it('builds a front with one client, a share of its own, a share of all of one slot, or allowNoCallerShare', () => {
  const admin = { name: 'root', token: 'admin-token-1', admin: true };
  const built = [
    build({ maxConcurrent: 8 }, { tokens: [ALICE] }),
    build({ maxConcurrent: 8 }, { tokens: [ALICE, admin] }),
    build({ maxConcurrent: 8 }, { token: 'shared-token-1' }),
    build({ maxConcurrent: 8 }, {}),
    build({ maxConcurrent: 8, maxRunningPerCaller: 7, maxQueuedPerCaller: 9_999 }, { tokens: [ALICE, BOB] }),
    build(
      { maxConcurrent: 8, ...callerShares({ maxConcurrent: 8, maxQueued: 10_000 }) },
      { tokens: [ALICE, BOB] },
    ),
    // troupe serve's rule leaves one slot and a queue of one whole: nothing to share.
    build({ maxConcurrent: 1, maxQueued: 1 }, { tokens: [ALICE, BOB] }),
    build({ maxConcurrent: 8 }, { tokens: [ALICE, BOB], allowNoCallerShare: true }),
  ];
  for (const app of built) expect(app.sessionCount).toBe(0);
});

/**
 * A front where `wait` runs until its session ends (a model that never answers) and `hello`
 * answers at once, both `withSession` tools on a runtime of 4 slots; and a client per token.
 */
async function front(limits: Limits, options: Partial<HttpAppOptions> = {}) {
  const runtime = runtimeWith({ maxConcurrent: 4, ...limits });
  const mcp = createMcpContext({ runtime, log: () => {}, sessionFilter: 'owner' });
  const app = createHttpApp({
    mcp,
    port: 0,
    tokens: [ALICE, BOB],
    tools: [],
    ...options,
    setup(server) {
      registerWait(server, runtime);
      server.registerTool(
        'hello',
        { description: 'Says hello.', inputSchema: z.object({}) },
        withSession(runtime, async () => ({ content: [{ type: 'text', text: 'hello' }] }), {
          queueTimeoutMs: 1_500,
        }),
      );
    },
  });
  const { url } = await app.listen();
  cleanups.push(async () => {
    await runtime.shutdown({ deadlineMs: 0 });
    await app.close();
    mcp.close();
  });
  const client = async (token: string) => {
    const connected = new Client({ name: 'caller', version: '1.0.0' });
    await connected.connect(
      new StreamableHTTPClientTransport(new URL(url), {
        requestInit: { headers: { authorization: `Bearer ${token}` } },
      }),
    );
    cleanups.push(() => connected.close());
    return connected;
  };
  return { runtime, alice: await client(ALICE.token), bob: await client(BOB.token) };
}

/** Bob's four `wait` calls, once as many as will run are running (the rest wait). */
async function bobFloods(runtime: Runtime, bob: Client, running: number): Promise<void> {
  for (let i = 0; i < 4; i++) {
    bob.callTool({ name: 'wait', arguments: {} }).catch(() => {
      // Cancelled by the runtime's shutdown at the end of the test.
    });
  }
  await expect.poll(() => runtime.status({ recent: 0 }).running, { timeout: 10_000 }).toBe(running);
  await expect.poll(() => runtime.status({ recent: 0 }).queued, { timeout: 10_000 }).toBe(4 - running);
}

const sessionOf = (result: unknown) =>
  (result as { structuredContent: { session: { state: string; caller: { owner: string } } } })
    .structuredContent.session;

it('answers alice while bob’s calls hold his share of the slots, with the shares the refusal names', async () => {
  const { runtime, alice, bob } = await front(callerShares({ maxConcurrent: 4, maxQueued: 10_000 }));
  await bobFloods(runtime, bob, 3);
  const result = await alice.callTool({ name: 'hello', arguments: {} });
  expect(result.isError).toBeFalsy();
  expect(sessionOf(result)).toMatchObject({ state: 'done', caller: { owner: 'token:alice' } });
});

it('lets bob starve alice on a runtime without shares, as allowNoCallerShare warns', async () => {
  const { runtime, alice, bob } = await front({}, { allowNoCallerShare: true });
  await bobFloods(runtime, bob, 4);
  const result = await alice.callTool({ name: 'hello', arguments: {} });
  expect(result.isError).toBe(true);
  expect(sessionOf(result)).toMatchObject({ state: 'timedOut', caller: { owner: 'token:alice' } });
});
