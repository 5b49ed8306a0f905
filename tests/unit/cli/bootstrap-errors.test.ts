/**
 * What the runtime cannot hand to anyone (a throwing subscriber, a cluster close that had to be
 * forced) goes to the server's log as an error line, scrubbed like every line, not to a bare Node
 * warning.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { bootstrap } from '../../../src/cli/bootstrap.js';
import { createLogger } from '../../../src/observe/logger.js';

afterEach(() => vi.restoreAllMocks());

describe('bootstrap with a logger', () => {
  it("logs the runtime's unhandled failures as error lines, with keys scrubbed", async () => {
    const lines: Record<string, unknown>[] = [];
    const logger = createLogger({
      level: 'info',
      destination: { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) },
    });
    const warnings = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    const { mcp, closeProviders } = await bootstrap({}, logger);
    try {
      const key = 'sk-live0123456789abcdefghij';
      mcp.runtime.subscribe(() => {
        throw new Error(`a subscriber broke holding ${key}`);
      });
      const handle = mcp.runtime.submit({
        model: 'sim-fast',
        messages: [{ role: 'user', content: 'hi' }],
        extra: { simulateLatencyMs: 0 },
      });
      await handle.result;
      const errors = lines.filter((l) => l.level === 'error');
      expect(errors.length).toBeGreaterThan(0);
      expect(errors[0]?.msg).toMatch(/^runtime: a subscriber broke holding /);
      expect(JSON.stringify(lines)).not.toContain(key);
      expect(warnings).not.toHaveBeenCalled();
    } finally {
      await mcp.runtime.shutdown({ deadlineMs: 0 });
      await closeProviders();
    }
  });
});
