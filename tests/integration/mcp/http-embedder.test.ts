/**
 * `createHttpApp` from `troupe/mcp` with an embedder's tools (docs/embedding.md, "Over HTTP: troupe's
 * front with your tools"): its `setup` registers a `withSession` tool on every server the front
 * builds, beside the troupe tools chosen with `tools`. Real HTTP, the SDK's own client in both eras
 * (2025-11-25, its default, and pinned to 2026-07-28), named tokens.
 */
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import type { McpRequestContext } from '@modelcontextprotocol/server';
import { afterEach, expect, it } from 'vitest';
import * as z from 'zod';
import { createHttpApp, createMcpContext, type HttpAppOptions, withSession } from '../../../src/mcp/index.js';
import { createSimulatedProvider } from '../../../src/providers/simulated.js';
import { createRuntime } from '../../../src/runtime/runtime.js';
import type { SessionHandle } from '../../../src/runtime/types.js';
import { abortableCall } from '../../support/abortable-call.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const TOKENS = [
  { name: 'alice', token: 'alice-token-1234' },
  { name: 'bob', token: 'bob-token-123456' },
];
/** Each caller's shares of the default 64 slots and 10,000 queued, as createHttpApp asks of a runtime serving several named tokens. */
const SHARES = { maxRunningPerCaller: 48, maxQueuedPerCaller: 2_500 };
const ERAS = [undefined, '2026-07-28'] as const;
type Pin = (typeof ERAS)[number];

const structured = (result: unknown) =>
  (result as { structuredContent: Record<string, unknown> }).structuredContent;

/** A front whose `setup` adds `ask` (a `withSession` tool making one 600 ms model call) to troupe's `chat` and `sessions`. */
async function serve(extra: Partial<HttpAppOptions> = {}) {
  const runtime = createRuntime({
    providers: [createSimulatedProvider({ latencyMs: { min: 600, max: 600 } })],
    defaults: { model: 'sim-fast' },
    limits: SHARES,
  });
  const mcp = createMcpContext({ runtime, log: () => {}, sessionFilter: 'owner' });
  const built: McpRequestContext[] = [];
  const started: SessionHandle[] = [];
  const waiters: (() => void)[] = [];
  /** How each `ask` handler settled, in the order they were called. */
  const settled: Promise<unknown>[] = [];
  const app = createHttpApp({
    mcp,
    port: 0,
    tokens: TOKENS,
    tools: ['chat', 'sessions', 'cancel_session'],
    setup: (server, context) => {
      built.push(context);
      server.registerTool(
        'ask',
        { description: 'Asks the model.', inputSchema: z.object({ text: z.string() }) },
        withSession(
          runtime,
          async ({ text }, session) => {
            const reply = (async () => {
              const handle = session.submit({ messages: [{ role: 'user', content: text }] });
              started.push(handle);
              for (const w of waiters.splice(0)) w();
              const answer = await handle.result;
              // As docs/embedding.md says: a model call that failed because the tool call ended
              // (its signal aborted) is not answered as a success text; the handler throws the reason.
              if (!answer.ok && session.signal.aborted) throw session.signal.reason;
              return {
                content: [{ type: 'text' as const, text: answer.ok ? answer.content : answer.error.code }],
              };
            })();
            settled.push(
              reply.then(
                () => 'answered',
                (error) => (error === session.signal.reason ? 'threw its signal’s reason' : error),
              ),
            );
            return reply;
          },
          { lane: 'asks' },
        ),
      );
    },
    ...extra,
  });
  const { url } = await app.listen();
  cleanups.push(async () => {
    await runtime.shutdown({ deadlineMs: 0 });
    await app.close();
    mcp.close();
  });
  const connect = async (token: string, pin?: Pin) => {
    const client = new Client(
      { name: 'embedder-test', version: '1' },
      pin === undefined ? undefined : { versionNegotiation: { mode: { pin } } },
    );
    await client.connect(
      new StreamableHTTPClientTransport(new URL(url), {
        requestInit: { headers: { authorization: `Bearer ${token}` } },
      }),
    );
    cleanups.push(() => client.close());
    return client;
  };
  /** The model calls `ask` started so far, once there are `n`. */
  const sessions = async (n: number) => {
    while (started.length < n) await new Promise<void>((resolve) => waiters.push(resolve));
    return started.slice(0, n);
  };
  return { app, built, connect, sessions, settled, runtime, mcp };
}

/** Starts an `ask` call that `cancel()` aborts on the client (which sends `notifications/cancelled`). */
function ask(client: Client, text = 'hi') {
  return abortableCall(client, 'ask', { text });
}

it('lists and calls the embedder’s tool beside the troupe tools chosen, and no other, in both eras', async () => {
  const { built, connect } = await serve();
  for (const pin of ERAS) {
    const client = await connect(TOKENS[0]!.token, pin);
    expect(client.getNegotiatedProtocolVersion()).toBe(pin ?? '2025-11-25');
    const names = (await client.listTools()).tools.map((tool) => tool.name);
    expect(names.sort()).toEqual(['ask', 'cancel_session', 'chat', 'sessions']);
    // A prompt comes with its tool: `second_opinion` asks for `chat`, `review` for `consensus`.
    expect((await client.listPrompts()).prompts.map((p) => p.name)).toEqual(['second_opinion']);
    expect(client.getInstructions()).toContain("troupe's tools here: chat, sessions, cancel_session.");
    const result = await client.callTool({ name: 'ask', arguments: { text: 'hello' } });
    expect(result.isError).toBeFalsy();
    expect(structured(result).session).toMatchObject({
      state: 'done',
      provider: 'asks',
      caller: { owner: 'token:alice' },
    });
    const chat = await client.callTool({ name: 'chat', arguments: { prompt: 'hi' } });
    expect(structured(chat).session).toMatchObject({ state: 'done', caller: { owner: 'token:alice' } });
  }
  // One server for the 2025-era session (its caller named), one per 2026-07-28 request.
  const legacy = built.filter((c) => c.era === 'legacy');
  expect(legacy).toHaveLength(1);
  expect(legacy[0]?.authInfo?.clientId).toBe('alice');
  const modern = built.filter((c) => c.era === 'modern');
  expect(modern.length).toBeGreaterThanOrEqual(4);
  expect(modern.every((c) => c.authInfo?.clientId === 'alice')).toBe(true);
});

it('ends a call’s session `cancelled` when the client aborts it, in both eras, with no `withCancellations`', async () => {
  const { connect, sessions, settled } = await serve();
  for (const [i, pin] of ERAS.entries()) {
    const client = await connect(TOKENS[0]!.token, pin);
    const call = ask(client);
    const session = (await sessions(i + 1))[i] as SessionHandle;
    call.cancel();
    expect(await call.result).toBe('rejected');
    expect((await session.result).metadata.state).toBe('cancelled');
    expect(await settled[i]).toBe('threw its signal’s reason');
  }
});

it('lets go of an embedder’s call that never settles once the client cancels it, on a 2025-era session', async () => {
  // A plain tool (no `withSession`, so no deadline of troupe's) that ignores its signal.
  const { connect, mcp } = await serve({
    setup: (server) => {
      server.registerTool('hang', { inputSchema: z.object({}) }, () => new Promise(() => {}));
    },
  });
  const client = await connect(TOKENS[0]!.token);
  const call = abortableCall(client, 'hang', {});
  await expect.poll(() => mcp.calls.size, { timeout: 5000 }).toBe(1);
  call.cancel();
  expect(await call.result).toBe('rejected');
  // Until 2026-12-07 it was kept until the handler settled: here, for the life of the process.
  await expect.poll(() => mcp.calls.size, { timeout: 5000 }).toBe(0);
});

it('scopes the embedder’s sessions by named token as troupe’s own: another caller neither lists nor cancels them', async () => {
  const { connect, sessions } = await serve();
  for (const pin of ERAS) {
    const [alice, bob] = [await connect(TOKENS[0]!.token, pin), await connect(TOKENS[1]!.token, pin)];
    const before = (await sessions(0)).length;
    const call = ask(alice, 'mine');
    await sessions(before + 1);
    const running = async (client: Client) =>
      (
        structured(await client.callTool({ name: 'sessions', arguments: {} })).live_by_state as {
          running: { sessionId: string; provider: string }[];
        }
      ).running;
    const mine = (await running(alice)).find((s) => s.provider === 'asks');
    expect(mine).toBeDefined();
    expect(await running(bob)).toEqual([]);
    const refused = await bob.callTool({
      name: 'cancel_session',
      arguments: { session_id: mine?.sessionId },
    });
    expect(refused.isError).toBe(true);
    expect(await call.result).toBe('answered');
  }
});

it('refuses a troupe tool name it does not have and an option it does not take, when built', async () => {
  const runtime = createRuntime({ providers: [createSimulatedProvider()], defaults: { model: 'sim-fast' } });
  const mcp = createMcpContext({ runtime, log: () => {} });
  cleanups.push(async () => {
    mcp.close();
    await runtime.shutdown({ deadlineMs: 0 });
  });
  expect(() => createHttpApp({ mcp, tools: ['chatt' as 'chat'] })).toThrow(
    /Expected tool names from .*"chatt"/,
  );
  expect(() => createHttpApp({ mcp, tools: ['chat', 'chat'] })).toThrow(/got "chat" twice/);
  expect(() => createHttpApp({ mcp, setup: {} } as unknown as HttpAppOptions)).toThrow(
    'Expected `setup` to be a function (server, context) => void | Promise<void>, got object',
  );
  expect(() => createHttpApp({ mcp, setUp: () => {} } as HttpAppOptions)).toThrow(
    /in `createHttpApp options`, got `setUp`/,
  );
});

it('refuses named tokens on a context that does not say who sees which sessions; the shared and admin tokens alone need nothing', async () => {
  const runtime = createRuntime({
    providers: [createSimulatedProvider()],
    defaults: { model: 'sim-fast' },
    limits: SHARES,
  });
  const open = createMcpContext({ runtime, log: () => {} });
  const scoped = createMcpContext({ runtime, log: () => {}, sessionFilter: 'owner' });
  const all = createMcpContext({ runtime, log: () => {}, sessionFilter: () => true });
  cleanups.push(async () => {
    for (const context of [open, scoped, all]) context.close();
    await runtime.shutdown({ deadlineMs: 0 });
  });
  // Until 2026-12-07 this was built, and alice listed bob's sessions in troupe://sessions.
  expect(() => createHttpApp({ mcp: open, tokens: TOKENS })).toThrow(
    /^Expected the context of a createHttpApp with named tokens to set sessionFilter, got none: every client \(2 named\) would see every other's sessions in troupe:\/\/sessions; pass createMcpContext\(\{ sessionFilter: 'owner' \}\)/,
  );
  expect(() => createHttpApp({ mcp: open, token: 'shared-token-1', tokens: [TOKENS[0]!] })).toThrow(
    /every client \(1 named\) would see/,
  );
  const operators = [
    { name: 'default', token: 'shared-token-1', shared: true },
    { name: 'root', token: 'admin-token-1', admin: true },
  ];
  for (const built of [
    createHttpApp({ mcp: open, tokens: operators }),
    createHttpApp({ mcp: open, token: 'shared-token-1' }),
    createHttpApp({ mcp: scoped, tokens: TOKENS }),
    createHttpApp({ mcp: all, tokens: TOKENS }),
  ]) {
    expect(built.sessionCount).toBe(0);
    await built.close();
  }
});

it('holds the tokens given in code to the environment’s rule, naming each by its place and never showing it', async () => {
  const runtime = createRuntime({
    providers: [createSimulatedProvider()],
    defaults: { model: 'sim-fast' },
    limits: SHARES,
  });
  const mcp = createMcpContext({ runtime, log: () => {}, sessionFilter: 'owner' });
  cleanups.push(async () => {
    mcp.close();
    await runtime.shutdown({ deadlineMs: 0 });
  });
  const refusal = (options: Record<string, unknown>) => {
    try {
      createHttpApp({ mcp, ...options } as Parameters<typeof createHttpApp>[0]);
    } catch (error) {
      return error as { code?: string; message: string };
    }
    return undefined;
  };
  const rule = '8 or more printable ASCII characters, none of them whitespace';
  // Until 2026-12-07 each was built, and a request could never match the token (or matched the
  // first client's only).
  const cases: [Record<string, unknown>, string, string][] = [
    [{ token: 'Zq9shar' }, "createHttpApp's `token`", `got a token of 7 characters (not shown)`],
    [
      { tokens: [TOKENS[0], { name: 'bob', token: 'Zq9 bob token' }] },
      'createHttpApp\'s `tokens[1]` (name "bob")',
      'got a token of 13 characters with whitespace in it (not shown)',
    ],
    [
      { tokens: [{ name: 'carol', token: 'Zq9€carol-token' }] },
      'createHttpApp\'s `tokens[0]` (name "carol")',
      'got a token of 15 characters with a character outside printable ASCII in it (not shown)',
    ],
  ];
  for (const [options, which, got] of cases) {
    const error = refusal(options);
    expect(error?.code).toBe('INVALID_REQUEST');
    expect(error?.message).toBe(`Expected ${which} to be ${rule}, ${got}`);
    expect(error?.message).not.toMatch(/Zq9/);
  }
  const twice = refusal({ tokens: [TOKENS[0], TOKENS[1], { name: 'eve', token: TOKENS[1]?.token }] });
  expect(twice?.message).toBe(
    'Expected a different token for each client, got one token for `tokens[1]` and `tokens[2]` (a request with it would be taken for the first only)',
  );
  expect(refusal({ token: TOKENS[0]?.token, tokens: [TOKENS[0]] })?.message).toMatch(
    /one token for `token` and `tokens\[0\]`/,
  );
  expect(refusal({ tokens: [{ token: 'Zq9-no-name' }] })?.message).toBe(
    "Expected createHttpApp's `tokens[0].name` to be a non-empty string (the caller's name), got undefined",
  );
  expect(refusal({ tokens: 'Zq9-not-a-list' })?.message).toMatch(
    /`tokens` to be an array of \{ name, token \}, got string/,
  );
  // One name for tokens of two kinds would be two callers in one 2025-era session (the session
  // takes its opener's token name): until 2026-12-07 each could cancel the other's calls there.
  const shared = refusal({ token: 'shared-token-1', tokens: [{ name: 'default', token: 'named-token-1' }] });
  expect(shared?.code).toBe('INVALID_REQUEST');
  expect(shared?.message).toBe(
    'Expected each name to be given to tokens of one kind, got name "default" for `token` (shared) and `tokens[0]` (named): a session opened with one would take the other\'s requests; give them different names',
  );
  const admin = refusal({
    tokens: [
      { name: 'bob', token: 'bob-token-22' },
      { name: 'ops', token: 'ops-admin-token', admin: true },
      { name: 'ops', token: 'ops-client-token' },
    ],
  });
  expect(admin?.message).toMatch(/got name "ops" for `tokens\[1\]` \(admin\) and `tokens\[2\]` \(named\)/);
  // One client's old and new token: one name, one kind.
  const rotated = createHttpApp({
    mcp,
    tokens: [
      { name: 'ops', token: 'ops-old-token' },
      { name: 'ops', token: 'ops-new-token' },
    ],
  });
  await rotated.close();
});

it('ends the embedder’s call whose client went away, in both eras, once `disconnectGraceMs` passes on a 2025-era session, with troupe’s tools or none', async () => {
  for (const tools of [undefined, []] as const) {
    const { connect, sessions, settled } = await serve({
      disconnectGraceMs: 0,
      ...(tools === undefined ? {} : { tools }),
    });
    for (const [i, pin] of ERAS.entries()) {
      const client = await connect(TOKENS[0]!.token, pin);
      const call = ask(client);
      const session = (await sessions(i + 1))[i] as SessionHandle;
      await client.close();
      expect(await call.result).toBe('rejected');
      expect((await session.result).metadata.state).toBe('cancelled');
      expect(await settled[i]).toBe('threw its signal’s reason');
    }
  }
});

it('serves the embedder’s tools alone with `tools: []`: none of troupe’s tools, prompts or their names in the instructions', async () => {
  const { connect } = await serve({ tools: [] });
  for (const pin of ERAS) {
    const client = await connect(TOKENS[0]!.token, pin);
    expect((await client.listTools()).tools.map((tool) => tool.name)).toEqual(['ask']);
    expect((await client.listPrompts()).prompts).toEqual([]);
    expect(client.getInstructions()).not.toMatch(/chat|tools here/);
    expect((await client.listResources()).resources.map((r) => r.uri)).toContain('troupe://sessions');
    const result = await client.callTool({ name: 'ask', arguments: { text: 'alone' } });
    expect(structured(result).session).toMatchObject({ state: 'done', caller: { owner: 'token:alice' } });
  }
});

it('waits for a `setup` returning any thenable, not only a Promise, before it serves, in both eras', async () => {
  // A thenable from another promise library (or realm) was taken for done: the server was
  // connected before the setup had registered its tools.
  const { connect } = await serve({
    setup: (server) =>
      ({
        // biome-ignore lint/suspicious/noThenProperty: a thenable of another library is what this test needs
        then(resolve: () => void) {
          setTimeout(() => {
            server.registerTool('late', { inputSchema: z.object({}) }, async () => ({ content: [] }));
            resolve();
          }, 20);
        },
      }) as unknown as Promise<void>,
  });
  for (const pin of ERAS) {
    const client = await connect(TOKENS[0]!.token, pin);
    expect((await client.listTools()).tools.map((tool) => tool.name)).toContain('late');
  }
});

it('fails only the request whose `setup` throws, in both eras, and serves the next', async () => {
  let fail = true;
  const { connect } = await serve({
    setup: (server) => {
      if (fail) throw new Error('the tenant’s config is missing');
      server.registerTool('late', { inputSchema: z.object({}) }, async () => ({ content: [] }));
    },
  });
  for (const pin of ERAS) {
    fail = true;
    await expect(connect(TOKENS[0]!.token, pin).then((c) => c.listTools())).rejects.toThrow(
      /Internal error|500/,
    );
    fail = false;
    const client = await connect(TOKENS[0]!.token, pin);
    expect((await client.listTools()).tools.map((tool) => tool.name)).toContain('late');
  }
});

it('introduces every server by the embedder’s `serverInfo` and `instructions`, in both eras, troupe’s own by default', async () => {
  const { connect } = await serve({
    serverInfo: { name: 'lexicon', title: 'Lexicon', version: '2.1.0' },
    instructions: (troupe) => `Use ask for words. ${troupe}`,
  });
  const plain = await serve({ instructions: 'Only ask.' });
  const defaults = await serve();
  for (const pin of ERAS) {
    const client = await connect(TOKENS[0]!.token, pin);
    expect(client.getServerVersion()).toMatchObject({ name: 'lexicon', title: 'Lexicon', version: '2.1.0' });
    const told = client.getInstructions() ?? '';
    expect(told.startsWith('Use ask for words. troupe runs every model call as a session')).toBe(true);
    expect(told).toContain("troupe's tools here: chat, sessions, cancel_session.");
    const replaced = await plain.connect(TOKENS[0]!.token, pin);
    expect(replaced.getInstructions()).toBe('Only ask.');
    expect(replaced.getServerVersion()).toMatchObject({ name: 'troupe', version: '0.1.0' });
    const troupe = await defaults.connect(TOKENS[0]!.token, pin);
    expect(troupe.getServerVersion()).toMatchObject({ name: 'troupe', version: '0.1.0' });
    expect(troupe.getInstructions()).toMatch(/^troupe runs every model call/);
  }
});

it('refuses a `serverInfo` the spec refuses and `instructions` that are no string, when built', async () => {
  const runtime = createRuntime({ providers: [createSimulatedProvider()], defaults: { model: 'sim-fast' } });
  const mcp = createMcpContext({ runtime, log: () => {} });
  cleanups.push(async () => {
    mcp.close();
    await runtime.shutdown({ deadlineMs: 0 });
  });
  const build = (extra: Record<string, unknown>) => () =>
    createHttpApp({ mcp, ...extra } as unknown as HttpAppOptions);
  expect(build({ serverInfo: { name: 'x', title: 5 } })).toThrow(
    /Expected `serverInfo` to be an MCP Implementation .*got title: /,
  );
  expect(build({ serverInfo: { name: 7 } })).toThrow(/got name: /);
  expect(build({ serverInfo: 'lexicon' })).toThrow(/Expected `serverInfo` to be an object, got lexicon/);
  expect(build({ instructions: 42 })).toThrow(
    /Expected `instructions` to be a string or a function returning one, got number/,
  );
  expect(build({ instructions: () => undefined })).toThrow(/got undefined/);
});

it('counts an embedder’s call’s arguments against `maxQueuedBytes` while it waits, as a chat request’s, in both eras', async () => {
  // One token's calls of large arguments behind a lane limit: until 2026-12-06 they counted 0, and
  // each of its open requests (thousands on the front) held its 4 MiB in the queue unbounded.
  const runtime = createRuntime({
    providers: [createSimulatedProvider()],
    defaults: { model: 'sim-fast' },
    limits: { perProvider: { held: 1 }, maxQueuedBytes: 1_000_000, ...SHARES },
  });
  const mcp = createMcpContext({ runtime, log: () => {}, sessionFilter: 'owner' });
  const gates: (() => void)[] = [];
  const app = createHttpApp({
    mcp,
    port: 0,
    tokens: TOKENS,
    tools: [],
    setup: (server) => {
      server.registerTool(
        'held',
        { inputSchema: z.object({ text: z.string() }) },
        withSession(
          runtime,
          async ({ text }) => {
            await new Promise<void>((resolve) => gates.push(resolve));
            return { content: [{ type: 'text', text: String(text.length) }] };
          },
          { lane: 'held' },
        ),
      );
    },
  });
  const { url } = await app.listen();
  const open = () => {
    for (const gate of gates.splice(0)) gate();
  };
  cleanups.push(async () => {
    await runtime.shutdown({ deadlineMs: 0 });
    await app.close();
    mcp.close();
  });
  const status = () => runtime.status({ recent: 0 });
  const until = async (done: () => boolean) => {
    while (!done()) await new Promise((resolve) => setTimeout(resolve, 5));
  };
  for (const pin of ERAS) {
    const client = new Client(
      { name: 'embedder-test', version: '1' },
      pin === undefined ? undefined : { versionNegotiation: { mode: { pin } } },
    );
    await client.connect(
      new StreamableHTTPClientTransport(new URL(url), {
        requestInit: { headers: { authorization: `Bearer ${TOKENS[0]!.token}` } },
      }),
    );
    cleanups.push(() => client.close());
    const call = (text: string) => client.callTool({ name: 'held', arguments: { text } });
    const running = call('x');
    await until(() => gates.length === 1);
    const waiting = call('a'.repeat(600_000));
    await until(() => status().queued === 1);
    expect(status().queuedBytes).toBeGreaterThan(600_000);
    const refused = await call('b'.repeat(600_000));
    expect(refused.isError).toBe(true);
    expect(structured(refused).error).toMatchObject({ code: 'QUEUE_FULL' });
    open();
    await until(() => gates.length === 1);
    open();
    expect(structured(await waiting).session).toMatchObject({ state: 'done' });
    expect((await running).isError).toBeFalsy();
  }
});

it('keeps troupe’s token from the embedder’s handlers and `setup`, in both eras, and leaves a header that carried none of its tokens', async () => {
  // security.md: a token never reaches handlers, only its name. A tool's `ctx.http.req` and a
  // 2026-07-28 `setup`'s `requestInfo` carried the bearer token in full until 2026-12-06.
  const seen: string[] = [];
  const headersOf = (value: unknown) => {
    const headers = (value as { headers?: Headers } | undefined)?.headers;
    const pairs: string[][] = [];
    headers?.forEach((v, k) => {
      pairs.push([k, v]);
    });
    return JSON.stringify(pairs);
  };
  for (const tokens of [TOKENS, undefined]) {
    const runtime = createRuntime({
      providers: [createSimulatedProvider()],
      defaults: { model: 'sim-fast' },
      limits: SHARES,
    });
    const mcp = createMcpContext({ runtime, log: () => {}, sessionFilter: 'owner' });
    const app = createHttpApp({
      mcp,
      port: 0,
      ...(tokens === undefined ? {} : { tokens }),
      tools: [],
      setup: (server, context) => {
        seen.push(`setup ${context.era} ${headersOf(context.requestInfo)}`);
        server.registerTool('look', { inputSchema: z.object({}) }, async (_args, ctx) => {
          seen.push(`tool ${ctx.http?.authInfo?.clientId} ${headersOf(ctx.http?.req)}`);
          return { content: [] };
        });
      },
    });
    const { url } = await app.listen();
    cleanups.push(async () => {
      await runtime.shutdown({ deadlineMs: 0 });
      await app.close();
      mcp.close();
    });
    // Without troupe's tokens, the header is the client's own (a credential for another service).
    const sent = tokens === undefined ? 'another-service-credential' : TOKENS[0]!.token;
    for (const pin of ERAS) {
      seen.length = 0;
      const client = new Client(
        { name: 'embedder-test', version: '1' },
        pin === undefined ? undefined : { versionNegotiation: { mode: { pin } } },
      );
      await client.connect(
        new StreamableHTTPClientTransport(new URL(url), {
          requestInit: { headers: { authorization: `Bearer ${sent}` } },
        }),
      );
      cleanups.push(() => client.close());
      await client.callTool({ name: 'look', arguments: {} });
      const tool = seen.filter((line) => line.startsWith('tool '));
      expect(tool).toHaveLength(1);
      expect(tool[0]).toContain(tokens === undefined ? 'tool anonymous' : 'tool alice');
      if (pin !== undefined) expect(seen.some((line) => line.startsWith('setup modern [['))).toBe(true);
      for (const line of seen) {
        if (tokens === undefined) expect(line.startsWith('setup legacy') || line.includes(sent)).toBe(true);
        else expect(line).not.toContain(sent);
      }
    }
  }
});
