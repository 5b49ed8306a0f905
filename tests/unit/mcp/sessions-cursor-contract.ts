/**
 * The `sessions` tool's pages after a `cursor` (`src/mcp/tools/sessions.ts`), the same on every
 * backend: a page reads on from the cursor's entry in the history (`status({ after })`), what it
 * lists and one more, and answers as paging through the whole list did. Until 2026-12-06 a page
 * with a cursor read the caller's newest 1,000 and looked for the cursor among them: 250 of
 * Alice's here, for a page of 20. Reads are counted where both stores and the local runtime keep
 * their history (`History`, `EndedSessions`).
 */
import fc from 'fast-check';
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
 * Ends `count` of `owner`'s sessions and tasks (`run`) interleaved, one after another, each listed
 * (`settled`) before the next ends: their ids, oldest first.
 */
async function endedMixed(
  runtime: Runtime,
  owner: string,
  count: number,
  settled: (runtime: Runtime, newest: string) => Promise<void>,
  task: (i: number) => boolean = (i) => i % 3 === 1,
): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const handle = task(i)
      ? runtime.run(async () => 'done', { lane: 'tools', metadata: { owner } })
      : runtime.submit({ messages: [{ role: 'user', content: `q${i}` }] }, { metadata: { owner } });
    ids.push(handle.id);
    await handle.result;
    await settled(runtime, handle.id);
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

  /** Every page of `caller`'s list, 20 a page, each reading what it lists and one more; the ids they listed. */
  const pagesOf20 = async (caller: Caller) => {
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const { answer, read } = await ask(caller, { recent_limit: 20, ...(cursor ? { cursor } : {}) });
      // The page, one more (whether older ones remain) and the cursor's own lookup: 21 at most.
      expect(read).toBeLessThanOrEqual(21);
      seen.push(...(answer.recent ?? []).map((s) => s.sessionId));
      cursor = answer.recent_next_cursor;
    } while (cursor !== undefined);
    return seen;
  };

  it('reads a page after a cursor and one more, however many sessions the caller has', async () => {
    const alices = await ended(runtime, ALICE.key, 250);
    await ended(runtime, BOB.key, 10);
    await settled(runtime, alices.at(-1) as string);
    const newest = [...alices].reverse();
    expect(await pagesOf20(ALICE)).toEqual(newest);
    // The largest page reads 101: until 2026-12-06, 250 (the caller's newest 1,000).
    expect((await ask(ALICE, { recent_limit: 1000, cursor: newest[9] })).read).toBe(101);
  });

  it('reads a page after a cursor and one more with tasks ended among the sessions, in the order they ended', async () => {
    const mixed = await endedMixed(runtime, ALICE.key, 90, settled);
    // On a cluster a task's end is in the store's history with the cluster's: until 2026-12-07 a
    // page after a cursor there read both lists whole (90 here, and up to `historySize` each).
    expect(await pagesOf20(ALICE)).toEqual([...mixed].reverse());
  });

  it('lists each session once across its pages while sessions and tasks end between them (fast-check)', async () => {
    let run = 0;
    const step = fc.oneof(
      fc.record({
        end: fc.integer({ min: 1, max: 3 }),
        tasks: fc.array(fc.boolean(), { minLength: 3, maxLength: 3 }),
      }),
      fc.record({ page: fc.integer({ min: 1, max: 4 }) }),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 6 }),
        fc.array(fc.boolean(), { minLength: 6, maxLength: 6 }),
        fc.integer({ min: 1, max: 4 }),
        fc.array(step, { maxLength: 8 }),
        async (before, beforeTasks, first, steps) => {
          // A caller of its own per run: one runtime holds every run's history (at most 66 of 1,000).
          const caller: Caller = { key: `token:prop${++run}`, admin: false };
          const other = `token:other${run}`;
          const ended = await endedMixed(
            runtime,
            caller.key,
            before,
            settled,
            (i) => beforeTasks[i] === true,
          );
          await endedMixed(runtime, other, 1, settled);
          const whole = (await ask(caller, { recent_limit: 1000 })).answer.recent?.map((s) => s.sessionId);
          expect(whole).toEqual([...ended].reverse());
          let answer = (await ask(caller, { recent_limit: first })).answer;
          const seen = (answer.recent ?? []).map((s) => s.sessionId);
          for (const next of [...steps, ...Array.from({ length: 20 }, () => ({ page: 4 }))]) {
            if (answer.recent_next_cursor === undefined) break;
            if ('end' in next) {
              await endedMixed(runtime, caller.key, next.end, settled, (i) => next.tasks[i] === true);
              await endedMixed(runtime, other, 1, settled);
              continue;
            }
            answer = (await ask(caller, { recent_limit: next.page, cursor: answer.recent_next_cursor }))
              .answer;
            expect(answer.ok).toBe(true);
            seen.push(...(answer.recent ?? []).map((s) => s.sessionId));
          }
          // Every one that had ended at the first page, newest first, none twice, none that ended since.
          expect(answer.recent_next_cursor).toBeUndefined();
          expect(seen).toEqual(whole);
        },
      ),
      { numRuns: 15 },
    );
  }, 60_000);

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
