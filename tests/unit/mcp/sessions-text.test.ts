/**
 * The `sessions` tool's text names the sessions it lists (`src/mcp/sessions-lines.ts`): most hosts
 * give their model a result's text, not its `structuredContent`, and a model that cannot see an id
 * cannot cancel or read that session. Until 2026-12-07 the text said only "Recent: 3 session(s)."
 */
import { describe, expect, it } from 'vitest';
import { createMcpContext } from '../../../src/mcp/context.js';
import { sessionsTool } from '../../../src/mcp/tools/sessions.js';
import { createSimulatedProvider } from '../../../src/providers/simulated.js';
import { createRuntime } from '../../../src/runtime/runtime.js';

describe('sessions: its text', () => {
  it('names every session its lists hold, with its state, so a model can cancel or read one', async () => {
    const runtime = createRuntime({
      providers: [createSimulatedProvider({ name: 'sim', latencyMs: { min: 0, max: 0 } })],
      defaults: { model: 'sim-fast' },
      limits: { maxConcurrent: 1 },
    });
    const mcp = createMcpContext({ runtime });
    try {
      const done = runtime.submit({ messages: [{ role: 'user', content: 'q' }] }, { label: 'chat' });
      await done.result;
      const slow = { messages: [{ role: 'user' as const, content: 'q' }], extra: { simulate: 'hang' } };
      const running = runtime.submit(slow, { label: 'chat' });
      const queued = runtime.submit(slow, { label: 'consensus' });
      await expect.poll(() => mcp.live.list(() => true).map((s) => s.state)).toEqual(['running', 'queued']);
      const outcome = await sessionsTool.run({}, mcp, { signal: new AbortController().signal });
      const lines = outcome.text.split('\n');
      const lineOf = (id: string) => lines.find((line) => line.includes(id));
      expect(lineOf(done.id)).toMatch(/done · sim\/sim-fast · chat · 1 attempt/);
      expect(lineOf(running.id)).toMatch(/running, 0 chars so far · sim · chat/);
      expect(lineOf(queued.id)).toMatch(/queued, 0 ahead when it joined · sim · consensus/);
      // The same sessions as the structured lists, no more.
      const structured = outcome.structured as unknown as {
        recent: unknown[];
        live_by_state: { queued: unknown[]; running: unknown[] };
      };
      const listed =
        structured.recent.length +
        structured.live_by_state.queued.length +
        structured.live_by_state.running.length;
      expect(lines.filter((line) => /^ {2}[0-9a-f-]{36} · /.test(line))).toHaveLength(listed);
    } finally {
      mcp.close();
      await runtime.shutdown({ deadlineMs: 0 });
    }
  });
});
