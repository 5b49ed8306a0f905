/**
 * `troupe serve --budget-per-caller 5` with no provider key: the simulated provider has no prices,
 * so every call is refused (a budget refuses a model without a price). The server says so once,
 * at start, instead of leaving the operator to find out from the first refusal, whose hint (a
 * price in the providers file) cannot be followed for the simulated provider.
 */
import { describe, expect, it } from 'vitest';
import { BUDGETS_WITHOUT_PRICES, bootstrap } from '../../../src/cli/bootstrap.js';
import { resolveConfig } from '../../../src/cli/config.js';
import { createLogger } from '../../../src/observe/logger.js';

async function startLines(flags: Record<string, string>): Promise<Record<string, unknown>[]> {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({
    level: 'info',
    destination: { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) },
  });
  const { mcp, closeProviders } = await bootstrap({}, logger, undefined, undefined, resolveConfig({ flags }));
  await mcp.runtime.shutdown({ deadlineMs: 0 });
  mcp.close();
  await closeProviders();
  return lines;
}

describe('bootstrap on the simulated provider', () => {
  it('warns at start that budgets refuse every call, since the simulated provider has no prices', async () => {
    const lines = await startLines({ 'budget-per-caller': '5' });
    expect(lines.filter((l) => l.msg === BUDGETS_WITHOUT_PRICES && l.level === 'warn')).toHaveLength(1);
    expect(BUDGETS_WITHOUT_PRICES).toMatch(/simulated provider has no prices: every call will be refused/);
  });

  it('says nothing of budgets when none is set', async () => {
    const lines = await startLines({});
    expect(lines.map((l) => l.msg)).not.toContain(BUDGETS_WITHOUT_PRICES);
  });
});
