/**
 * `troupe serve` keeps each named token's budget apart from the overflow one: past `maxCallers`
 * callers in a day (each MCP session of the shared token is one), new callers shared one budget,
 * and a named token arriving then was refused until midnight for what others spent (bounds audit,
 * 2026-12-03: 10,001 sessions of one client, then bob's first call BUDGET_EXCEEDED).
 */
import { expect, it, vi } from 'vitest';
import type { RuntimeOptions } from '../../../src/runtime/types.js';

const seen: RuntimeOptions[] = [];
vi.mock('../../../src/runtime/runtime.js', async (importOriginal) => {
  const actual = await importOriginal<typeof import('../../../src/runtime/runtime.js')>();
  return {
    ...actual,
    createRuntime: (options: RuntimeOptions) => {
      seen.push(options);
      return actual.createRuntime(options);
    },
  };
});

const { bootstrap } = await import('../../../src/cli/bootstrap.js');
const { resolveConfig } = await import('../../../src/cli/config.js');

it('gives the runtime’s budgets a trackAlways that keeps named tokens, not MCP sessions', async () => {
  const { mcp, closeProviders } = await bootstrap(
    {},
    undefined,
    undefined,
    undefined,
    resolveConfig({ flags: { 'budget-per-caller': '5' } }),
  );
  await mcp.runtime.shutdown({ deadlineMs: 0 });
  mcp.close();
  await closeProviders();
  const budgets = seen.at(-1)?.budgets;
  expect(budgets?.perCaller).toEqual({ USD: 5 });
  const trackAlways = budgets?.trackAlways;
  expect(trackAlways?.('token:bob')).toBe(true);
  expect(trackAlways?.('mcp:3f1c')).toBe(false);
  expect(trackAlways?.('anonymous')).toBe(false);
  expect(trackAlways?.('local')).toBe(false);
});
