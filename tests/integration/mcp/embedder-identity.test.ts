/**
 * An embedding server's own authentication scopes its users. A multi-tenant server that mounts
 * troupe's tools behind its own auth passes each request's identity as the SDK's `authInfo`, naming
 * the user in `extra.troupeCaller` (not `clientId`: OAuth gives that to the app, the same for all
 * its users); the tools then scope `sessions` and `cancel_session` by it. Before, only identities
 * troupe's HTTP front marked counted: with a stateless handler every user was `anonymous`, so bob
 * listed alice's running chat and cancelled it (library audit).
 */
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { createMcpHandler, McpServer } from '@modelcontextprotocol/server';
import { afterEach, describe, expect, it } from 'vitest';
import { createMcpContext } from '../../../src/mcp/context.js';
import { registerTools } from '../../../src/mcp/register.js';
import { createSimulatedProvider } from '../../../src/providers/simulated.js';
import { createRuntime } from '../../../src/runtime/runtime.js';
import { v1 } from '../../support/tasks-v1.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function embedder() {
  const runtime = createRuntime({
    providers: [createSimulatedProvider({ latencyMs: { min: 800, max: 800 } })],
    defaults: { model: 'sim-fast' },
  });
  const context = createMcpContext({ runtime, log: () => {} });
  const handler = createMcpHandler(() => {
    const server = new McpServer({ name: 'saas', version: '1' });
    registerTools(server, runtime, { context });
    return server;
  });
  cleanups.push(async () => {
    context.close();
    await runtime.shutdown({ deadlineMs: 0 });
  });
  /** A user's client; `undefined`: one the server's authentication let through unnamed (no `authInfo`). */
  return async (clientId: string | undefined, scopes: string[] = []) => {
    // One OAuth app (its clientId) for every user; the server names the user in troupeCaller.
    const authInfo =
      clientId === undefined
        ? undefined
        : { token: `tok-${clientId}`, clientId: 'saas-app', scopes, extra: { troupeCaller: clientId } };
    const client = new Client({ name: clientId ?? 'unnamed', version: '1' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL('http://saas.local/mcp'), {
        fetch: (url, init) =>
          handler.fetch(new Request(url, init), authInfo === undefined ? {} : { authInfo }),
      }),
    );
    cleanups.push(() => client.close());
    return client;
  };
}

const structured = (result: unknown) =>
  (result as { structuredContent: Record<string, unknown> }).structuredContent;

describe('an embedding server’s own identities', () => {
  it('scope the sessions tool and cancel_session by the user it names (troupeCaller); an admin scope sees all', async () => {
    const connect = embedder();
    const [alice, bob, ops] = [
      await connect('alice'),
      await connect('bob'),
      await connect('ops', ['troupe:admin']),
    ];
    const call = alice.callTool({ name: 'chat', arguments: { prompt: 'alice’s plan' } });
    await new Promise((resolve) => setTimeout(resolve, 200));

    const seenByOps = JSON.stringify(structured(await ops.callTool({ name: 'sessions', arguments: {} })));
    const id = seenByOps.match(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/)?.[0];
    expect(id).toBeDefined();
    const seenByBob = JSON.stringify(structured(await bob.callTool({ name: 'sessions', arguments: {} })));
    expect(seenByBob).not.toContain(id);
    const cancel = await bob.callTool({ name: 'cancel_session', arguments: { session_id: id } });
    expect(cancel.isError).toBe(true);
    expect(JSON.stringify(structured(cancel))).toMatch(/UNKNOWN_SESSION/);

    const answer = structured(await call);
    expect(answer.ok).toBe(true);
    expect((answer.session as { caller: unknown }).caller).toEqual({ owner: 'user:alice' });
    const seenByAlice = JSON.stringify(structured(await alice.callTool({ name: 'sessions', arguments: {} })));
    expect(seenByAlice).toContain(id);
  });

  // Before 2026-12-05 only named tokens' conversations were their own: a user's were keyed by the
  // bare id, so bob, given alice's continuation_id, continued her conversation (the model read her
  // turns back to him), and all users were one owner of the store's bounds (the attacker audit).
  it('keep each user’s conversations its own: another user’s continuation_id is unknown to it', async () => {
    const connect = embedder();
    const [alice, bob] = [await connect('alice'), await connect('bob')];
    const first = structured(
      await alice.callTool({ name: 'chat', arguments: { prompt: 'alice’s secret plan' } }),
    );
    const id = first.continuation_id as string;
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    const stolen = await bob.callTool({ name: 'chat', arguments: { prompt: 'and?', continuation_id: id } });
    expect(stolen.isError).toBe(true);
    expect(JSON.stringify(structured(stolen))).toMatch(/unknown or expired/);
    const own = await alice.callTool({ name: 'chat', arguments: { prompt: 'and?', continuation_id: id } });
    expect(structured(own).continuation_id).toBe(id);
  });

  it('keep a user’s conversations from one whose name its own begins with: no id with a / names one', async () => {
    const connect = embedder();
    const [victim, attacker] = [await connect('team/alice'), await connect('team')];
    const id = structured(await victim.callTool({ name: 'chat', arguments: { prompt: 'plan' } }))
      .continuation_id as string;
    const stolen = await attacker.callTool({
      name: 'chat',
      arguments: { prompt: 'and?', continuation_id: `alice/${id}` },
    });
    expect(JSON.stringify(structured(stolen))).toMatch(/unknown or expired/);
  });

  // Until 2026-12-07 a request over HTTP with no `authInfo` was `local`, the caller stdio's one client
  // is, which sees everything: an unnamed client listed and cancelled every user's sessions and tasks.
  it('keep a user’s sessions and tasks from a client the server’s authentication let through unnamed', async () => {
    const connect = embedder();
    const [alice, stranger, ops] = [
      await connect('alice'),
      await connect(undefined),
      await connect('ops', ['troupe:admin']),
    ];
    const call = alice.callTool({ name: 'chat', arguments: { prompt: 'alice’s plan' } });
    const task = (await v1(alice).create({ prompt: 'alice’s task' })).task.taskId;
    await new Promise((resolve) => setTimeout(resolve, 200));
    const seenByOps = JSON.stringify(structured(await ops.callTool({ name: 'sessions', arguments: {} })));
    const ids = seenByOps.match(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g) ?? [];
    expect(ids.length).toBeGreaterThan(0);

    const seen = JSON.stringify(structured(await stranger.callTool({ name: 'sessions', arguments: {} })));
    for (const id of ids) {
      expect(seen).not.toContain(id);
      const cancel = await stranger.callTool({ name: 'cancel_session', arguments: { session_id: id } });
      expect(JSON.stringify(structured(cancel))).toMatch(/UNKNOWN_SESSION/);
    }
    expect((await v1(stranger).list()).tasks).toEqual([]);
    await expect(v1(stranger).get(task)).rejects.toThrow(/not found/);
    await expect(v1(stranger).cancel(task)).rejects.toThrow(/not found/);

    const answer = structured(await call);
    expect(answer.ok).toBe(true);
    expect((await v1(alice).get(task)).status).not.toBe('cancelled');
    // Its own call is the shared `anonymous` caller's, which alice does not see.
    const own = structured(await stranger.callTool({ name: 'chat', arguments: { prompt: 'mine' } }));
    expect((own.session as { caller: unknown }).caller).toEqual({ owner: 'anonymous' });
  });
});
