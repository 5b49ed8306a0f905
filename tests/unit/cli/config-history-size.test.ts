/**
 * `historySize` in the operator's configuration: by flag, environment and the providers file's
 * `runtime` section, in that precedence, reaching the runtime's limits; 0 (keep none) taken, more
 * than 20,000 refused with the reason; listed in the usage text. Before, `troupe serve` and
 * `troupe stdio` kept 1,000 with no knob, though security.md told operators to raise it.
 */
import { describe, expect, it } from 'vitest';
import { resolveConfig, runtimeOptionsFrom, settingsUsage } from '../../../src/cli/config.js';

describe('historySize setting', () => {
  it('defaults to 1000 and reaches the runtime’s limits', () => {
    const config = resolveConfig({});
    expect(config.values.historySize).toBe(1000);
    expect(runtimeOptionsFrom(config).limits).toMatchObject({ historySize: 1000 });
  });

  it('takes the flag over the environment over the file, down to 0', () => {
    const file = { path: '/p.json', values: { historySize: 10 } };
    expect(runtimeOptionsFrom(resolveConfig({ file })).limits.historySize).toBe(10);
    const env = { TROUPE_HISTORY_SIZE: '20' };
    expect(resolveConfig({ file, env }).values.historySize).toBe(20);
    const config = resolveConfig({ file, env, flags: { 'history-size': '0' } });
    expect(config.sources.historySize).toEqual({ kind: 'flag', name: '--history-size' });
    expect(runtimeOptionsFrom(config).limits.historySize).toBe(0);
  });

  it('refuses more than 20,000, and what is not a non-negative integer, naming where it came from', () => {
    expect(resolveConfig({ flags: { 'history-size': '20000' } }).values.historySize).toBe(20_000);
    expect(() => resolveConfig({ flags: { 'history-size': '20001' } })).toThrow(
      /^Expected `--history-size` to be at most 20000 \(each holds its session's metadata \(about 0.8 KB of heap\), .*\), got `20001`$/,
    );
    expect(() => resolveConfig({ env: { TROUPE_HISTORY_SIZE: '-1' } })).toThrow(
      'Expected `TROUPE_HISTORY_SIZE` to be a non-negative integer, got `-1`',
    );
  });

  it('is in the usage text of serve and stdio with its default and variable', () => {
    for (const command of ['serve', 'stdio'] as const)
      expect(settingsUsage(command)).toMatch(
        /--history-size N +ended sessions kept .*\(default 1000; env TROUPE_HISTORY_SIZE\)/,
      );
  });
});
