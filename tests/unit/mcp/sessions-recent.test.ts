/**
 * The `sessions` tool's `recent` list (`src/mcp/tools/sessions.ts`): the newest ended sessions the
 * caller may see, 20 unless `recent_limit` says (0 to 1000), newest first (docs/mcp.md); at most
 * 100 (and 32 KiB of them) an answer, the rest by `cursor` (`src/mcp/sessions-page.ts`). So are its
 * live lists, counted past that. Until 2026-12-05 an answer held every one asked for: a batch of
 * 100 calls with `recent_limit` 1000, an 11 KB request, made the server build 30 MB.
 */
import { describe, expect, it } from 'vitest';
import { jsonBytes } from '../../../src/core/json-bytes.js';
import { createMcpContext, type McpContext } from '../../../src/mcp/context.js';
import { recentPage, SESSIONS_PAGE_BYTES, SESSIONS_PAGE_MAX } from '../../../src/mcp/sessions-page.js';
import { sessionsTool } from '../../../src/mcp/tools/sessions.js';
import { createSimulatedProvider } from '../../../src/providers/simulated.js';
import { createRuntime } from '../../../src/runtime/runtime.js';
import type { Runtime, SessionSummary } from '../../../src/runtime/types.js';

type Args = { recent_limit?: number; cursor?: string };
type Answer = {
  ok: boolean;
  recent: { sessionId: string }[];
  recent_next_cursor?: string;
  live_by_state: { queued: unknown[]; running: unknown[] };
  live_not_shown?: { queued: number; running: number };
  error?: { code: string; message: string };
};

/** A runtime on a simulated provider answering in `latencyMs`, its MCP context, and the tool's answers. */
async function withRuntime(
  latencyMs: number,
  body: (runtime: Runtime, mcp: McpContext, ask: (args: Args) => Promise<Answer>) => Promise<void>,
  maxConcurrent = 64,
): Promise<void> {
  const runtime = createRuntime({
    providers: [createSimulatedProvider({ name: 'sim', latencyMs: { min: latencyMs, max: latencyMs } })],
    defaults: { model: 'sim-fast' },
    limits: { maxConcurrent },
  });
  const mcp = createMcpContext({ runtime });
  const ask = async (args: Args) =>
    (await sessionsTool.run(args, mcp, { signal: new AbortController().signal })).structured as Answer;
  try {
    await body(runtime, mcp, ask);
  } finally {
    mcp.close();
    await runtime.shutdown({ deadlineMs: 0 });
  }
}

/** Ends `count` sessions (each labelled `label`), one after another; their ids, newest first. */
async function ended(runtime: Runtime, count: number, label?: string): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const handle = runtime.submit(
      { messages: [{ role: 'user', content: `q${i}` }] },
      label === undefined ? {} : { label },
    );
    ids.push(handle.id);
    await handle.result;
  }
  return ids.reverse();
}

describe('sessions: recent', () => {
  it('lists the 20 newest by default, `recent_limit` of them when given, 0 included', async () => {
    const runtime = createRuntime({
      providers: [createSimulatedProvider({ name: 'sim', latencyMs: { min: 0, max: 0 } })],
      defaults: { model: 'sim-fast' },
    });
    const mcp = createMcpContext({ runtime });
    try {
      const ids: string[] = [];
      for (let i = 0; i < 25; i++) {
        const handle = runtime.submit({ messages: [{ role: 'user', content: `q${i}` }] });
        ids.push(handle.id);
        await handle.result;
      }
      const recent = async (args: { recent_limit?: number }) => {
        const outcome = await sessionsTool.run(args, mcp, { signal: new AbortController().signal });
        return (outcome.structured.recent as { sessionId: string }[]).map((s) => s.sessionId);
      };
      const newest = [...ids].reverse();
      expect(await recent({})).toEqual(newest.slice(0, 20));
      expect(await recent({ recent_limit: 3 })).toEqual(newest.slice(0, 3));
      expect(await recent({ recent_limit: 25 })).toEqual(newest);
      expect(await recent({ recent_limit: 0 })).toEqual([]);
    } finally {
      mcp.close();
      await runtime.shutdown({ deadlineMs: 0 });
    }
  });

  it('lists at most 100 an answer, however many are asked for, and pages on to every one by `cursor`', async () => {
    await withRuntime(0, async (runtime, _mcp, ask) => {
      const newest = await ended(runtime, 250);
      const first = await ask({ recent_limit: 1000 });
      expect(first.recent.map((s) => s.sessionId)).toEqual(newest.slice(0, SESSIONS_PAGE_MAX));
      expect(first.recent_next_cursor).toBe(newest[SESSIONS_PAGE_MAX - 1]);
      const seen = first.recent.map((s) => s.sessionId);
      let cursor = first.recent_next_cursor;
      while (cursor !== undefined) {
        const next = await ask({ recent_limit: 1000, cursor });
        seen.push(...next.recent.map((s) => s.sessionId));
        cursor = next.recent_next_cursor;
      }
      expect(seen).toEqual(newest);
      // A page asked smaller pages as asked; the default's 20 say where more are too.
      const small = await ask({ recent_limit: 5, cursor: newest[9] });
      expect(small.recent.map((s) => s.sessionId)).toEqual(newest.slice(10, 15));
      expect((await ask({})).recent_next_cursor).toBe(newest[19]);
      // None past the last; a cursor not in the history is refused, saying how to start again.
      expect((await ask({ cursor: newest.at(-1) })).recent).toEqual([]);
      const unknown = await ask({ cursor: 'no-such-session' });
      expect(unknown.ok).toBe(false);
      expect(unknown.error?.code).toBe('INVALID_REQUEST');
      expect(unknown.error?.message).toContain('call again without `cursor`');
    });
  });

  it('reads only what a page without a cursor lists, and one more, answering as a read of 1000 did', async () => {
    await withRuntime(0, async (runtime) => {
      const asked: number[] = [];
      const counted: Runtime = {
        ...runtime,
        status: (options) => {
          asked.push(options?.recent ?? 20);
          return runtime.status(options);
        },
      };
      const mcp = createMcpContext({ runtime: counted });
      try {
        await ended(runtime, 150, 'l'.repeat(200));
        const full = runtime.status({ recent: 1000 }).recent;
        for (const limit of [0, 1, 20, 99, 100, 149, 150, 151, 1000]) {
          asked.length = 0;
          const outcome = await sessionsTool.run({ recent_limit: limit }, mcp, {
            signal: new AbortController().signal,
          });
          const answer = outcome.structured as unknown as Answer;
          // Until 2026-12-05 every call read 1000 (a summary built for each): most of its CPU.
          expect(asked).toEqual([Math.min(limit, SESSIONS_PAGE_MAX) + 1]);
          const whole = recentPage(full, limit);
          expect(answer.recent).toEqual(whole.shown);
          expect(answer.recent_next_cursor).toBe(whole.next);
        }
      } finally {
        mcp.close();
      }
    });
  });

  it('lists at most 32 KiB of sessions an answer, large ones fewer, the rest by `cursor`', async () => {
    await withRuntime(0, async (runtime, _mcp, ask) => {
      const newest = await ended(runtime, 120, 'l'.repeat(256));
      const first = await ask({ recent_limit: 1000 });
      expect(first.recent.length).toBeLessThan(SESSIONS_PAGE_MAX);
      // The entries' JSON, without the array's brackets and commas.
      const bytes = first.recent.reduce((sum, s) => sum + Buffer.byteLength(JSON.stringify(s)), 0);
      expect(bytes).toBeLessThanOrEqual(SESSIONS_PAGE_BYTES);
      expect(first.recent_next_cursor).toBe(first.recent.at(-1)?.sessionId);
      const second = await ask({ recent_limit: 1000, cursor: first.recent_next_cursor });
      expect(second.recent[0]?.sessionId).toBe(newest[first.recent.length]);
    });
  });

  it('lists at most 100 live sessions of each state an answer, counting the rest', async () => {
    // One slot and a provider taking a minute: one runs, the others wait.
    await withRuntime(
      60_000,
      async (runtime, _mcp, ask) => {
        for (let i = 0; i < 150; i++)
          runtime.submit({ messages: [{ role: 'user', content: `q${i}` }] }).result.catch(() => {});
        await expect.poll(async () => (await ask({})).live_by_state.running.length).toBe(1);
        const answer = await ask({});
        expect(answer.live_by_state.running).toHaveLength(1);
        expect(answer.live_by_state.queued).toHaveLength(SESSIONS_PAGE_MAX);
        expect(answer.live_not_shown).toEqual({ queued: 49, running: 0 });
      },
      1,
    );
  });

  it('shows one entry larger than the page’s bytes alone, so paging never stops on it', () => {
    const large = { sessionId: 'large', label: 'x'.repeat(SESSIONS_PAGE_BYTES) } as unknown as SessionSummary;
    const small = { sessionId: 'small' } as unknown as SessionSummary;
    const first = recentPage([large, small], 20);
    // `bytes`: what the page's entries hold, for the request's answer budget (`answer-budget.ts`).
    expect(first).toEqual({ shown: [large], bytes: jsonBytes(large), next: 'large' });
    // The page after it: what the history reads after the cursor (`status({ after })`).
    expect(recentPage([small], 20)).toEqual({ shown: [small], bytes: 21 });
  });
});
