/**
 * The composition root gives each caller its shares as each command has callers: `serve` (HTTP,
 * many clients) a quarter of `maxQueued` waiting and three quarters of `maxConcurrent` running by
 * default, so one client's burst or slow calls leave room to the others; `stdio` (one client) all
 * of both. A share the operator set holds under both; a running share over `maxConcurrent` is
 * refused, not cut unseen.
 */
import { expect, it } from 'vitest';
import { bootstrap } from '../../../src/cli/bootstrap.js';
import { ConfigError, resolveConfig } from '../../../src/cli/config.js';
import type { RuntimeStatus } from '../../../src/runtime/types.js';

async function statusOf(manyCallers: boolean, flags: Record<string, string>): Promise<RuntimeStatus> {
  const config = resolveConfig({ flags });
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
    return mcp.runtime.status();
  } finally {
    await mcp.runtime.shutdown({ deadlineMs: 0 });
    mcp.close();
    await closeProviders();
  }
}

const shareOf = async (manyCallers: boolean, flags: Record<string, string> = {}) =>
  (await statusOf(manyCallers, { 'max-queued': '100', ...flags })).maxQueuedPerCaller;
const runningShareOf = async (manyCallers: boolean, flags: Record<string, string> = {}) =>
  (await statusOf(manyCallers, { 'max-concurrent': '8', ...flags })).maxRunningPerCaller;

it('gives each caller a quarter of the queue under serve and the whole queue under stdio', async () => {
  expect(await shareOf(true)).toBe(25);
  expect(await shareOf(false)).toBe(100);
});

it('keeps a share the operator set, under serve and under stdio', async () => {
  expect(await shareOf(true, { 'max-queued-per-caller': '7' })).toBe(7);
  expect(await shareOf(false, { 'max-queued-per-caller': '7' })).toBe(7);
});

it('gives each caller three quarters of the slots under serve and all of them under stdio', async () => {
  expect(await runningShareOf(true)).toBe(6);
  expect(await runningShareOf(false)).toBe(8);
  // At least one: a single slot is shared by nobody.
  expect(await runningShareOf(true, { 'max-concurrent': '1' })).toBe(1);
  expect(resolveConfig({}).values.maxRunningPerCaller).toBe(48);
});

it('keeps a running share the operator set, from a flag or the environment', async () => {
  expect(await runningShareOf(true, { 'max-running-per-caller': '2' })).toBe(2);
  expect(await runningShareOf(false, { 'max-running-per-caller': '2' })).toBe(2);
  expect(
    resolveConfig({ flags: {}, env: { TROUPE_MAX_RUNNING_PER_CALLER: '3' } }).values.maxRunningPerCaller,
  ).toBe(3);
});

it('refuses a share over maxConcurrent, naming both and where each came from', () => {
  expect(() => resolveConfig({ flags: { 'max-concurrent': '4', 'max-running-per-caller': '5' } })).toThrow(
    new ConfigError(
      "Expected maxRunningPerCaller (5, --max-running-per-caller) at most maxConcurrent (4, --max-concurrent): one caller's share is of the sessions running at once; raise --max-concurrent or lower --max-running-per-caller",
    ),
  );
  expect(() => resolveConfig({ flags: { 'max-running-per-caller': '0' } })).toThrow(/max-running-per-caller/);
});
