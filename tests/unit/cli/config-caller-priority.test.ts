/**
 * `maxCallerPriority` from the operator's configuration to the MCP context: 9 (no cap) by default,
 * a flag, variable or file value from 0 to 9 otherwise, refused past 9; the composition root hands
 * it to `createMcpContext`, whose tools then refuse a client's higher priority.
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
  it('is 9 by default and takes 0 to 9 from each source', () => {
    expect(resolveConfig({}).values.maxCallerPriority).toBe(9);
    expect(resolveConfig({ flags: { 'max-caller-priority': '0' } }).values.maxCallerPriority).toBe(0);
    expect(resolveConfig({ env: { TROUPE_MAX_CALLER_PRIORITY: '6' } }).values.maxCallerPriority).toBe(6);
    const file = { path: '/p.json', values: { maxCallerPriority: 7 } };
    expect(resolveConfig({ file }).values.maxCallerPriority).toBe(7);
  });

  it('refuses a value past 9, naming why', () => {
    expect(() => resolveConfig({ flags: { 'max-caller-priority': '10' } })).toThrow(
      'Expected `--max-caller-priority` to be at most 9 (priorities run from 0 to 9), got `10`',
    );
  });

  it('reaches the MCP context through the composition root', async () => {
    expect(await capOf({ 'max-caller-priority': '4' })).toBe(4);
    expect(await capOf({})).toBe(9);
  });
});
