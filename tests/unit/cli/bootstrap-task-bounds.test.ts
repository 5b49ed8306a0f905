/**
 * The operator's task bounds (`--max-tasks`, `--max-task-result-bytes`) reach the in-memory task
 * store the composition root builds, each caller's share a quarter of each; defaults and usage.
 */
import { expect, it } from 'vitest';
import { bootstrap } from '../../../src/cli/bootstrap.js';
import { resolveConfig, settingsUsage, taskBoundsFrom } from '../../../src/cli/config.js';
import { TaskLimitError } from '../../../src/ports/task-bounds.js';

const pending = () => new Promise<never>(() => {});

it('bounds the in-memory task store by --max-tasks, a caller holding a quarter', async () => {
  const config = resolveConfig({
    flags: { 'max-tasks': '8' },
    env: { TROUPE_MAX_TASK_RESULT_BYTES: '65536' },
  });
  expect(taskBoundsFrom(config)).toEqual({ maxTasks: 8, maxResultBytes: 65_536 });
  const { mcp, closeProviders } = await bootstrap(
    {},
    undefined,
    undefined,
    undefined,
    config,
    undefined,
    true,
  );
  try {
    for (let i = 0; i < 2; i++) await mcp.tasks.start({ toolName: 'chat', owner: 'A', work: pending });
    // A's third: past its quarter of 8, all of its own unfinished.
    const refused = await mcp.tasks
      .start({ toolName: 'chat', owner: 'A', work: pending })
      .catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(TaskLimitError);
    expect((refused as Error).message).toBe(
      'Expected at most 2 tasks held by one caller, got 2 unfinished: wait for one to finish or cancel one',
    );
    // A result over a caller's quarter of 65,536 bytes fails its task instead of being kept.
    const text = 'z'.repeat(9_000);
    const big = await mcp.tasks.start({
      toolName: 'chat',
      owner: 'B',
      work: async () => ({ structured: { ok: true, text }, text }),
    });
    const ended = await mcp.tasks.waitForResult(big.taskId, AbortSignal.timeout(5_000), 'B');
    expect(ended?.statusMessage).toMatch(
      /^Expected a task result of at most 16384 bytes \(maxResultBytesPerOwner\)/,
    );
  } finally {
    await mcp.runtime.shutdown({ deadlineMs: 0 });
    mcp.close();
    await closeProviders();
  }
});

it('defaults to 1,000 tasks and 256 MiB of results, and says so in the usage', () => {
  expect(taskBoundsFrom(resolveConfig({}))).toEqual({ maxTasks: 1000, maxResultBytes: 268_435_456 });
  const usage = settingsUsage();
  expect(usage).toMatch(/--max-tasks N +MCP tasks held at once.*\(default 1000; env TROUPE_MAX_TASKS\)/);
  expect(usage).toMatch(
    /--max-task-result-bytes N +bytes of MCP task results kept \(256 MiB\).*\(default 268435456; env TROUPE_MAX_TASK_RESULT_BYTES\)/,
  );
  expect(() => resolveConfig({ flags: { 'max-tasks': '0' } })).toThrow(
    'Expected `--max-tasks` to be a positive integer, got `0`',
  );
  expect(() => resolveConfig({ flags: { 'max-task-result-bytes': '65535' } })).toThrow(
    "Expected `--max-task-result-bytes` to be at least 65536 (a caller's quarter must hold at least the error a refused result ends its task with, and its session's metadata), got `65535`",
  );
});
