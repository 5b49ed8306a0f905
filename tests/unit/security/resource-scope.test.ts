/**
 * `sessionFilter: 'owner'` (what `troupe serve` sets) scopes the session resources by the tools'
 * rule: a caller sees the sessions it started, stdio's one `local` caller and an admin see all.
 */
import type { ServerContext } from '@modelcontextprotocol/server';
import { afterEach, describe, expect, it } from 'vitest';
import { ADMIN_SCOPE } from '../../../src/mcp/caller.js';
import { createMcpContext, type McpContext } from '../../../src/mcp/context.js';
import { createSimulatedProvider } from '../../../src/providers/simulated.js';
import { createRuntime } from '../../../src/runtime/runtime.js';

const contexts: McpContext[] = [];
afterEach(async () => {
  for (const mcp of contexts.splice(0)) {
    mcp.close();
    await mcp.runtime.shutdown({ deadlineMs: 0 });
  }
});

function context(sessionFilter?: 'owner'): McpContext {
  const runtime = createRuntime({ providers: [createSimulatedProvider()], defaults: { model: 'sim-fast' } });
  const mcp = createMcpContext({
    runtime,
    catalog: { list: () => [] } as never,
    log: () => {},
    ...(sessionFilter === undefined ? {} : { sessionFilter }),
  });
  contexts.push(mcp);
  return mcp;
}

const http = (sessionId: string, admin = false) =>
  ({
    sessionId,
    http: {
      // As troupe's HTTP front attaches it without a named token (`authInfoFor`): told apart by MCP session.
      authInfo: {
        token: '',
        clientId: 'x',
        scopes: admin ? [ADMIN_SCOPE] : [],
        extra: { troupeScope: 'session' },
      },
    },
  }) as unknown as ServerContext;

describe("sessionFilter: 'owner'", () => {
  it('shows a session to the caller that started it, an admin and stdio, and to nobody else', () => {
    const mcp = context('owner');
    mcp.owners.record('s1', 'mcp:alice');
    const visible = mcp.sessionFilter!;
    expect(visible('s1', http('alice'))).toBe(true);
    expect(visible('s1', http('bob'))).toBe(false);
    expect(visible('s1', http('bob', true))).toBe(true);
    expect(visible('s1', {} as ServerContext)).toBe(true);
    // A session whose owner is unknown here shows to admins only.
    expect(visible('s2', http('alice'))).toBe(false);
  });

  it("keeps no entry for `local`'s sessions, which still show to stdio and admins only", () => {
    const mcp = context('owner');
    mcp.owners.record('s3', 'local');
    expect(mcp.owners.size, 'a stdio process holds nothing per session').toBe(0);
    const visible = mcp.sessionFilter!;
    expect(visible('s3', {} as ServerContext)).toBe(true);
    expect(visible('s3', http('bob', true))).toBe(true);
    expect(visible('s3', http('bob'))).toBe(false);
  });

  it('reads a caller’s own ended sessions for the resources, however many other callers ended since', async () => {
    const mcp = context('owner');
    const ask = (owner: string) =>
      mcp.runtime.submit({ messages: [{ role: 'user', content: 'hi' }] }, { metadata: { owner } });
    const mine = ask('mcp:alice');
    await mine.result;
    for (let i = 0; i < 25; i++) await ask('mcp:bob').result;
    expect(mcp.recentFor(http('alice'), 20).map((s) => s.sessionId)).toEqual([mine.id]);
    expect(mcp.recentFor(http('bob'), 20)).toHaveLength(20);
    expect(mcp.recentFor(http('carol'), 20)).toEqual([]);
  });

  it('is off unless asked for (a library embedding the front decides)', () => {
    expect(context().sessionFilter).toBeUndefined();
  });
});
