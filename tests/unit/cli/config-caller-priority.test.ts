/**
 * `maxCallerPriority` from the operator's configuration to the MCP context: 9 (no cap) by default,
 * a flag, variable or file value from 5 to 9 otherwise (a call that asks no priority runs at 5,
 * which a lower cap would not hold); the composition root hands it to `createMcpContext`, whose
 * tools then refuse a client's higher priority.
 */
import { describe, expect, it } from 'vitest';
import { bootstrap } from '../../../src/cli/bootstrap.js';
import { resolveConfig } from '../../../src/cli/config.js';

async function capOf(flags: Record<string, string>): Promise<number> {
  const { mcp, closeProviders } = await bootstrap(
    {},
    undefined,
    undefined,
    undefined,
    resolveConfig({ flags }),
  );
  try {
    return mcp.maxCallerPriority;
  } finally {
    await mcp.runtime.shutdown({ deadlineMs: 0 });
    mcp.close();
    await closeProviders();
  }
}

describe('maxCallerPriority in the configuration', () => {
  it('is 9 by default and takes 5 to 9 from each source', () => {
    expect(resolveConfig({}).values.maxCallerPriority).toBe(9);
    expect(resolveConfig({ flags: { 'max-caller-priority': '5' } }).values.maxCallerPriority).toBe(5);
    expect(resolveConfig({ env: { TROUPE_MAX_CALLER_PRIORITY: '6' } }).values.maxCallerPriority).toBe(6);
    const file = { path: '/p.json', values: { maxCallerPriority: 7 } };
    expect(resolveConfig({ file }).values.maxCallerPriority).toBe(7);
  });

  it('refuses a value past 9 or under 5, naming why', () => {
    expect(() => resolveConfig({ flags: { 'max-caller-priority': '10' } })).toThrow(
      'Expected `--max-caller-priority` to be at most 9 (priorities run from 0 to 9), got `10`',
    );
    expect(() => resolveConfig({ env: { TROUPE_MAX_CALLER_PRIORITY: '4' } })).toThrow(
      'Expected `TROUPE_MAX_CALLER_PRIORITY` to be at least 5 (a call that asks no priority runs at 5, which a lower cap would not hold), got `4`',
    );
    expect(() => resolveConfig({ file: { path: '/p.json', values: { maxCallerPriority: 0 } } })).toThrow(
      '/p.json: Expected `runtime.maxCallerPriority` to be at least 5',
    );
    // Other settings have no such floor.
    expect(resolveConfig({ flags: { 'breaker-failures': '0' } }).values.breakerFailures).toBe(0);
  });

  it('reaches the MCP context through the composition root', async () => {
    expect(await capOf({ 'max-caller-priority': '6' })).toBe(6);
    expect(await capOf({})).toBe(9);
  });
});
