/**
 * `maxQueuedPerCaller` in the operator's configuration: one caller's share of the queue. By default
 * a quarter of `maxQueued`, whatever `maxQueued` is set to, under `serve` (many callers); the whole
 * queue under `stdio` (one caller) unless set; set by flag, environment or the providers file, it
 * holds under both; bad values refused naming where they came from; listed in the usage text.
 */
import { describe, expect, it } from 'vitest';
import { describeSource, resolveConfig, runtimeOptionsFrom, settingsUsage } from '../../../src/cli/config.js';

describe('maxQueuedPerCaller setting', () => {
  it('defaults to a quarter of maxQueued (rounded up) for many callers and to all of it for one', () => {
    const config = resolveConfig({});
    expect(config.values.maxQueuedPerCaller).toBe(2_500);
    expect(describeSource(config.sources.maxQueuedPerCaller)).toBe(
      'default (a quarter of maxQueued; stdio: all of it)',
    );
    expect(describeSource(config.sources.maxQueued)).toBe('default');
    expect(runtimeOptionsFrom(config).limits).toMatchObject({ maxQueued: 10_000, maxQueuedPerCaller: 2_500 });
    expect(runtimeOptionsFrom(config, 'many').limits.maxQueuedPerCaller).toBe(2_500);
    expect(runtimeOptionsFrom(config, 'one').limits.maxQueuedPerCaller).toBe(10_000);
    // The share follows maxQueued wherever that comes from; one slot of a tiny queue is still 1, not 0.
    const small = resolveConfig({ env: { TROUPE_MAX_QUEUED: '10' } });
    expect(small.values.maxQueuedPerCaller).toBe(3);
    expect(resolveConfig({ flags: { 'max-queued': '1' } }).values.maxQueuedPerCaller).toBe(1);
    expect(runtimeOptionsFrom(small, 'one').limits.maxQueuedPerCaller).toBe(10);
  });

  it('takes the flag over the environment over the file, and a set share holds for one caller too', () => {
    const file = { path: '/p.json', values: { maxQueuedPerCaller: 7 } };
    expect(resolveConfig({ file }).values.maxQueuedPerCaller).toBe(7);
    const env = { TROUPE_MAX_QUEUED_PER_CALLER: '8' };
    expect(resolveConfig({ file, env }).values.maxQueuedPerCaller).toBe(8);
    const config = resolveConfig({ file, env, flags: { 'max-queued-per-caller': '9' } });
    expect(config.sources.maxQueuedPerCaller).toEqual({ kind: 'flag', name: '--max-queued-per-caller' });
    expect(runtimeOptionsFrom(config, 'many').limits.maxQueuedPerCaller).toBe(9);
    expect(runtimeOptionsFrom(config, 'one').limits.maxQueuedPerCaller).toBe(9);
  });

  it('refuses a value that is not a non-negative integer, naming where it came from', () => {
    expect(() => resolveConfig({ flags: { 'max-queued-per-caller': '-1' } })).toThrow(
      'Expected `--max-queued-per-caller` to be a non-negative integer, got `-1`',
    );
    expect(() => resolveConfig({ env: { TROUPE_MAX_QUEUED_PER_CALLER: 'quarter' } })).toThrow(
      'Expected `TROUPE_MAX_QUEUED_PER_CALLER` to be a non-negative integer, got `quarter`',
    );
  });

  it('refuses a share set over the whole queue, naming both sources; a share equal to it holds', () => {
    // Before: taken, and the runtime held the caller to the queue's bound, 1000 where 5000 was asked.
    expect(() =>
      resolveConfig({
        flags: { 'max-queued-per-caller': '5000' },
        env: { TROUPE_MAX_QUEUED: '1000' },
      }),
    ).toThrow(
      "Expected maxQueuedPerCaller (5000, --max-queued-per-caller) at most maxQueued (1000, env TROUPE_MAX_QUEUED): one caller's share is of the whole queue; raise --max-queued or lower --max-queued-per-caller",
    );
    expect(() =>
      resolveConfig({ file: { path: '/p.json', values: { maxQueuedPerCaller: 10_001 } } }),
    ).toThrow('at most maxQueued (10000, default)');
    const equal = resolveConfig({ flags: { 'max-queued': '40', 'max-queued-per-caller': '40' } });
    expect(runtimeOptionsFrom(equal, 'many').limits).toMatchObject({ maxQueued: 40, maxQueuedPerCaller: 40 });
  });

  it('is in the usage text with its variable, and its default said once, as derived', () => {
    const line = settingsUsage()
      .split('\n')
      .find((l) => l.includes('--max-queued-per-caller')) as string;
    expect(line).toMatch(
      /--max-queued-per-caller N +sessions of one caller .*\(default a quarter of maxQueued, 2500 with its default; stdio: all of it, one caller; env TROUPE_MAX_QUEUED_PER_CALLER\)$/,
    );
    // Said once: the usage printed "Default: ..." in the summary and "(default 2500; ...)" after it.
    expect(line).not.toContain('Default:');
  });
});
