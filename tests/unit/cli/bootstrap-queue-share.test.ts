/**
 * The composition root gives a caller's share of the queue as each command has callers: `serve`
 * (HTTP, many clients) a quarter of `maxQueued` by default, `stdio` (one client) all of it; a share
 * the operator set holds under both.
 */
import { expect, it } from 'vitest';
import { bootstrap } from '../../../src/cli/bootstrap.js';
import { resolveConfig } from '../../../src/cli/config.js';

async function shareOf(manyCallers: boolean, flags: Record<string, string> = {}): Promise<number> {
  const config = resolveConfig({ flags: { 'max-queued': '100', ...flags } });
  const { mcp, closeProviders } = await bootstrap(
    {},
    undefined,
    undefined,
    undefined,
    config,
    undefined,
    manyCallers,
  );
  try {
    return mcp.runtime.status().maxQueuedPerCaller;
  } finally {
    await mcp.runtime.shutdown({ deadlineMs: 0 });
    mcp.close();
    await closeProviders();
  }
}

it('gives each caller a quarter of the queue under serve and the whole queue under stdio', async () => {
  expect(await shareOf(true)).toBe(25);
  expect(await shareOf(false)).toBe(100);
});

it('keeps a share the operator set, under serve and under stdio', async () => {
  expect(await shareOf(true, { 'max-queued-per-caller': '7' })).toBe(7);
  expect(await shareOf(false, { 'max-queued-per-caller': '7' })).toBe(7);
});
