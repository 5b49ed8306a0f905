/**
 * The owners index of the MCP front (`src/mcp/session-owners.ts`): who started each live session,
 * so a caller's listing tells its own sessions apart without building a summary for each. An entry
 * lives until its session ends; past its bound (20,000) the owner holding the most gives its own
 * oldest. Until 2026-12-07 it was one list for every caller, entries kept after their end: one
 * token's burst pushed out every other token's entries. What an entry decides, the runtime's summary
 * decides too, so a caller whose entry went still sees and cancels its own session, and nobody
 * else's. SDK client over Streamable HTTP.
 */
import type { Client } from '@modelcontextprotocol/client';
import { afterEach, expect, it, vi } from 'vitest';
import { createSimulatedProvider } from '../../../src/providers/simulated.js';
import { clientWith, type Harness, startHarness, structured } from '../mcp/harness.js';

const harnesses: Harness[] = [];
afterEach(async () => {
  vi.restoreAllMocks();
  await Promise.allSettled(harnesses.splice(0).map((h) => h.close()));
});

/** The bound of the index (`SessionOwners`' default). */
const BOUND = 20_000;

async function start(): Promise<{ h: Harness; alice: Client; bob: Client }> {
  const h = await startHarness({
    providers: [
      createSimulatedProvider({ name: 'fast', latencyMs: { min: 1, max: 5 } }),
      createSimulatedProvider({ name: 'slow', latencyMs: { min: 60_000, max: 60_000 } }),
    ],
    http: {
      tokens: [
        { name: 'alice', token: 'alice-token-1' },
        { name: 'bob', token: 'bob-token-22' },
      ],
    },
  });
  harnesses.push(h);
  return { h, alice: await clientWith(h, 'alice-token-1'), bob: await clientWith(h, 'bob-token-22') };
}

const running = async (client: Client): Promise<string[]> =>
  (
    structured(await client.callTool({ name: 'sessions', arguments: {} })).live_by_state.running as {
      sessionId: string;
    }[]
  ).map((s) => s.sessionId);

/** Alice's call on `slow` (a minute here), running, and its session's id. */
async function aliceRunning(alice: Client) {
  const call = alice.callTool({ name: 'chat', arguments: { provider: 'slow', prompt: 'wait' } });
  let id: string | undefined;
  await expect.poll(async () => (id = (await running(alice))[0])).toBeDefined();
  return { call, id: id as string };
}

it('a caller whose entry was pushed out still sees and cancels its own session, and another caller neither', async () => {
  const { h, alice, bob } = await start();
  const { call, id } = await aliceRunning(alice);
  // As many callers again, each holding one: all hold as many as Alice, who came first, so hers goes.
  for (let i = 0; i < BOUND; i++) h.mcp.owners.record(`other-${i}`, `token:other-${i}`);
  expect(h.mcp.owners.size).toBe(BOUND);
  const summaries = vi.spyOn(h.mcp.runtime, 'session');

  expect(await running(bob)).toEqual([]);
  // Bob's listing read her owner from the session's summary: her entry was gone.
  expect(summaries).toHaveBeenCalledWith(id);
  const refused = await bob.callTool({ name: 'cancel_session', arguments: { session_id: id } });
  expect(refused.isError).toBe(true);
  expect(structured(refused).error.code).toBe('UNKNOWN_SESSION');
  expect(h.mcp.runtime.session(id)?.state).toBe('running');

  expect(await running(alice)).toEqual([id]);
  const cancelled = await alice.callTool({ name: 'cancel_session', arguments: { session_id: id } });
  expect(cancelled.isError).toBeFalsy();
  expect(structured(await call).error.code).toBe('CANCELLED');
  expect(h.mcp.runtime.session(id)?.state).toBe('cancelled');
});

it('one token’s burst pushes out its own entries, not another token’s', async () => {
  const { h, alice, bob } = await start();
  const { id } = await aliceRunning(alice);
  // Bob's live sessions by the bound's worth, straight into the index.
  for (let i = 0; i < BOUND; i++) h.mcp.owners.record(`bob-${i}`, 'token:bob');
  expect(h.mcp.owners.size).toBe(BOUND);
  expect(h.mcp.owners.ownerOf('bob-0')).toBeUndefined();
  const summaries = vi.spyOn(h.mcp.runtime, 'session');

  expect(await running(bob)).toEqual([]);
  // Her entry was still there: no summary of her session was built for Bob's listing.
  expect(summaries).not.toHaveBeenCalledWith(id);
  expect(await running(alice)).toEqual([id]);
});

it('holds no entry for a session that ended', async () => {
  const { h, alice } = await start();
  for (let i = 0; i < 3; i++) {
    const r = structured(
      await alice.callTool({ name: 'chat', arguments: { provider: 'fast', prompt: 'hi' } }),
    );
    expect(r.ok).toBe(true);
    expect(h.mcp.owners.ownerOf(r.session.sessionId)).toBe('token:alice');
  }
  expect(h.mcp.owners.size).toBe(0);
});
