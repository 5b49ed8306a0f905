/**
 * What a client can make the resumable-stream store keep is bounded in bytes, not only in events:
 * a `review` prompt echoes its `content`, so each 1 MB request left 1 MB in the store (20 of them
 * left 20 MB; at the 10,000-event bound and the 4 MiB body cap, 40 GB). And one caller's large
 * answers evict its own events, not another's: before, the store dropped the oldest events of
 * anyone, so one token's burst of large answers made another token's `Last-Event-ID` fail.
 * SDK client over HTTP, and raw HTTP for the resuming client (the SSE ids).
 */
import { expect, it } from 'vitest';
import { MemoryEventStore } from '../../../src/mcp/event-store.js';
import { LEGACY_HEADERS, openLegacySession, postMcp } from '../../support/raw-session.js';
import { clientWith, startHarness } from '../mcp/harness.js';

it('keeps at most maxBytes of events however large the answers a client asks for', async () => {
  const store = new MemoryEventStore({ maxBytes: 3 * 1024 * 1024 });
  const h = await startHarness({ http: { eventStore: store } });
  try {
    const client = await h.client('legacy');
    for (let i = 0; i < 8; i++) {
      const prompt = await client.getPrompt({
        name: 'review',
        arguments: { content: `${i}`.repeat(1_000_000) },
      });
      expect(JSON.stringify(prompt)).toContain(`${i}`.repeat(1000));
    }
    expect(store.bytes).toBeGreaterThan(2_000_000);
    expect(store.bytes).toBeLessThanOrEqual(3 * 1024 * 1024);
    // Small events still flow and are kept.
    expect((await client.callTool({ name: 'list_models', arguments: {} })).isError).not.toBe(true);
    expect(store.size).toBeGreaterThan(0);
  } finally {
    await h.close();
  }
});

/**
 * A raw 2025-era session (with `auth`'s headers) that made one `list_models` call: its id, the SSE
 * ids of that call's priming event and result, and how to resume after an event id.
 */
async function sessionWithOneCall(url: URL, auth: Record<string, string>) {
  const sid = await openLegacySession(url, auth);
  const call = await postMcp(
    url,
    sid,
    { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'list_models', arguments: {} } },
    auth,
  );
  const ids = [...(await call.text()).matchAll(/^id: (.+)$/gm)].map((m) => m[1] as string);
  expect(ids.length).toBe(2); // the priming event and the result
  const resume = (after: string) =>
    fetch(url, {
      method: 'GET',
      headers: {
        ...LEGACY_HEADERS,
        ...auth,
        Accept: 'text/event-stream',
        'Mcp-Session-Id': sid,
        'Last-Event-ID': after,
      },
    });
  return { sid, ids: ids as [string, string], resume };
}

/** The session resumed from its priming event and got its call's result again. */
async function expectResumed(session: Awaited<ReturnType<typeof sessionWithOneCall>>) {
  const resumed = await session.resume(session.ids[0]);
  expect(resumed.status).toBe(200);
  const body = await resumed.text();
  expect(body).toContain(`id: ${session.ids[1]}`);
  expect(body).toContain('"id":2');
}

it("without tokens, one session's burst of large answers does not evict another session's events", async () => {
  const store = new MemoryEventStore({ maxBytes: 3 * 1024 * 1024 });
  const h = await startHarness({ http: { eventStore: store } });
  try {
    const session = await sessionWithOneCall(h.url, {});
    const flood = await h.client('legacy');
    for (let i = 0; i < 8; i++) {
      await flood.getPrompt({ name: 'review', arguments: { content: `${i}`.repeat(1_000_000) } });
    }
    expect(store.bytes).toBeLessThanOrEqual(3 * 1024 * 1024);
    // Each session is an owner of its own; the flood's holds most of the store.
    const owners = [...store.usage()];
    expect(owners.map(([owner]) => owner.startsWith('session:'))).toEqual([true, true]);
    expect(store.usage().get(`session:${session.sid}`)?.bytes).toBeLessThan(10_000);
    await expectResumed(session);
  } finally {
    await h.close();
  }
});

it("one token's burst of large answers does not evict another token's events: it still resumes", async () => {
  const store = new MemoryEventStore({ maxBytes: 3 * 1024 * 1024 });
  const h = await startHarness({
    http: {
      eventStore: store,
      tokens: [
        { name: 'alice', token: 'alice-token-1' },
        { name: 'mallory', token: 'mallory-token-2' },
      ],
    },
  });
  try {
    const alice = await sessionWithOneCall(h.url, { authorization: 'Bearer alice-token-1' });

    const mallory = await clientWith(h, 'mallory-token-2');
    try {
      for (let i = 0; i < 8; i++) {
        await mallory.getPrompt({ name: 'review', arguments: { content: `${i}`.repeat(1_000_000) } });
      }
    } finally {
      await mallory.close();
    }
    expect(store.bytes).toBeLessThanOrEqual(3 * 1024 * 1024);
    expect(store.usage().get('mallory')?.bytes).toBeGreaterThan(2_000_000);

    // Alice resumes from her priming event and gets her result again.
    await expectResumed(alice);
  } finally {
    await h.close();
  }
});
