/**
 * The `sessions` tool's pages after a `cursor` (`src/mcp/tools/sessions.ts`), the same on every
 * backend: a page reads on from the cursor's entry in the history (`status({ after })`), what it
 * lists and one more, and answers as paging through the whole list did. Until 2026-12-06 a page
 * with a cursor read the caller's newest 1,000 and looked for the cursor among them: 250 of
 * Alice's here, for a page of 20. Reads are counted where both stores and the local runtime keep
 * their history (`History`, `EndedSessions`).
 */
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import type { Caller } from '../../../src/mcp/caller.js';
import { createMcpContext, type McpContext } from '../../../src/mcp/context.js';
import { sessionsTool } from '../../../src/mcp/tools/sessions.js';
import { EndedSessions, History } from '../../../src/runtime/history.js';
import type { Runtime } from '../../../src/runtime/types.js';

type Answer = {
  ok: boolean;
  recent?: { sessionId: string }[];
  recent_next_cursor?: string;
  error?: { code: string; message: string };
};

const ALICE: Caller = { key: 'token:alice', admin: false };
const BOB: Caller = { key: 'token:bob', admin: false };
const ADMIN: Caller = { key: 'token:root', admin: true };

/** Ends `count` sessions of `owner`, one after another; their ids, oldest first. */
async function ended(runtime: Runtime, owner: string, count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const handle = runtime.submit(
      { messages: [{ role: 'user', content: `q${i}` }] },
      { metadata: { owner } },
    );
    ids.push(handle.id);
    await handle.result;
  }
  return ids;
}

/**
 * The contract, on runtimes `make` builds (a simulated provider answering at once, a history of
 * 1,000); `settled` waits until a runtime lists what ended (a cluster hears ends on its bus).
 */
export function sessionsCursorContract(
  make: () => Promise<Runtime>,
  settled: (runtime: Runtime, newest: string) => Promise<void> = async () => {},
): void {
  let runtime: Runtime;
  let mcp: McpContext;
  let read: number[];

  beforeEach(async () => {
    runtime = await make();
    mcp = createMcpContext({ runtime });
    read = [];
    const count = (entries: unknown[]) => {
      read.push(entries.length);
      return entries;
    };
    for (const kind of [History.prototype, EndedSessions.prototype] as {
      recent(...a: unknown[]): unknown[];
    }[]) {
      const recent = kind.recent;
      vi.spyOn(kind, 'recent').mockImplementation(function (this: unknown, ...args: unknown[]) {
        return count(recent.apply(this, args));
      });
    }
  });
  afterEach(async () => {
    vi.restoreAllMocks();
    mcp.close();
    await runtime.shutdown({ deadlineMs: 0 });
  });

  const ask = async (caller: Caller, args: { recent_limit?: number; cursor?: string }) => {
    read.length = 0;
    const outcome = await sessionsTool.run(args, mcp, { signal: new AbortController().signal, caller });
    return { answer: outcome.structured as Answer, read: read.reduce((a, b) => a + b, 0) };
  };

  it('reads a page after a cursor and one more, however many sessions the caller has', async () => {
    const alices = await ended(runtime, ALICE.key, 250);
    await ended(runtime, BOB.key, 10);
    await settled(runtime, alices.at(-1) as string);
    const newest = [...alices].reverse();
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const { answer, read } = await ask(ALICE, { recent_limit: 20, ...(cursor ? { cursor } : {}) });
      // The page, one more (whether older ones remain) and the cursor's own lookup: 21 at most.
      expect(read).toBeLessThanOrEqual(21);
      seen.push(...(answer.recent ?? []).map((s) => s.sessionId));
      cursor = answer.recent_next_cursor;
    } while (cursor !== undefined);
    expect(seen).toEqual(newest);
    // The largest page reads 101: until 2026-12-06, 250 (the caller's newest 1,000).
    expect((await ask(ALICE, { recent_limit: 1000, cursor: newest[9] })).read).toBe(101);
  });

  it('goes on after its cursor when sessions end between pages, and lists only the caller’s own', async () => {
    const alices = await ended(runtime, ALICE.key, 30);
    const bobs = await ended(runtime, BOB.key, 5);
    await settled(runtime, bobs.at(-1) as string);
    const first = (await ask(ALICE, { recent_limit: 10 })).answer;
    expect(first.recent?.map((s) => s.sessionId)).toEqual([...alices].reverse().slice(0, 10));
    const later = await ended(runtime, ALICE.key, 3);
    await settled(runtime, later.at(-1) as string);
    const second = (await ask(ALICE, { recent_limit: 10, cursor: first.recent_next_cursor })).answer;
    expect(second.recent?.map((s) => s.sessionId)).toEqual([...alices].reverse().slice(10, 20));
    // One who sees every caller's pages through all of them, in the order they ended.
    const all = [...bobs].reverse().concat([...alices].reverse());
    const admin = (await ask(ADMIN, { recent_limit: 4, cursor: bobs[2] })).answer;
    expect(admin.recent?.map((s) => s.sessionId)).toEqual(all.slice(3, 7));
  });

  it('refuses a cursor of another caller’s session, or of none, saying how to start again', async () => {
    const [alice] = await ended(runtime, ALICE.key, 1);
    const [bob] = await ended(runtime, BOB.key, 1);
    await settled(runtime, bob as string);
    for (const cursor of [bob as string, 'no-such-session']) {
      const { answer } = await ask(ALICE, { cursor });
      expect(answer.ok).toBe(false);
      expect(answer.error?.code).toBe('INVALID_REQUEST');
      expect(answer.error?.message).toContain('call again without `cursor`');
    }
    expect((await ask(BOB, { cursor: bob as string })).answer.recent).toEqual([]);
    expect((await ask(BOB, { cursor: alice as string })).answer.ok).toBe(false);
  });
}
