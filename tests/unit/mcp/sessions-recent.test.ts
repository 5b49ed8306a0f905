/**
 * The `sessions` tool's `recent` list (`src/mcp/tools/sessions.ts`): the newest ended sessions the
 * caller may see, 20 unless `recent_limit` says (0 to 1000), newest first (docs/mcp.md).
 */
import { describe, expect, it } from 'vitest';
import { createMcpContext } from '../../../src/mcp/context.js';
import { sessionsTool } from '../../../src/mcp/tools/sessions.js';
import { createSimulatedProvider } from '../../../src/providers/simulated.js';
import { createRuntime } from '../../../src/runtime/runtime.js';

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
});
