/**
 * `progressMs` has a cap of its own (10 s: run-session.ts never waits longer between progress
 * notifications). A larger value used to be accepted and shown by `troupe config`, and applied as
 * 10000 unseen; now it is refused from every source, naming the cap and why.
 */
import { describe, expect, it } from 'vitest';
import { resolveConfig, settingsUsage } from '../../../src/cli/config.js';

const WHY =
  'at most 10000 (milliseconds: a client whose 60 s request timeout resets on progress needs it that often)';

describe('progressMs and its cap', () => {
  it('takes values up to the cap from a flag, the environment and the file', () => {
    expect(resolveConfig({ flags: { 'progress-ms': '10000' } }).values.progressMs).toBe(10_000);
    expect(resolveConfig({ env: { TROUPE_PROGRESS_MS: '250' } }).values.progressMs).toBe(250);
    const file = { path: '/p.json', values: { progressMs: 9999 } };
    expect(resolveConfig({ file }).values.progressMs).toBe(9999);
  });

  it('refuses a value past the cap from each source, saying what the cap is for', () => {
    expect(() => resolveConfig({ flags: { 'progress-ms': '10001' } })).toThrow(
      `Expected \`--progress-ms\` to be ${WHY}, got \`10001\``,
    );
    expect(() => resolveConfig({ env: { TROUPE_PROGRESS_MS: '20000' } })).toThrow(
      `Expected \`TROUPE_PROGRESS_MS\` to be ${WHY}, got \`20000\``,
    );
    expect(() => resolveConfig({ file: { path: '/p.json', values: { progressMs: 60_000 } } })).toThrow(
      `/p.json: Expected \`runtime.progressMs\` to be ${WHY}, got \`60000\``,
    );
    // Other settings keep their own range: a long timeout is no progress interval.
    expect(resolveConfig({ flags: { 'timeout-ms': '600000' } }).values.timeoutMs).toBe(600_000);
  });

  it('states the cap in the usage', () => {
    expect(settingsUsage()).toMatch(
      /--progress-ms N +interval of MCP progress .*at most 10000 \(default 5000;/,
    );
  });
});
