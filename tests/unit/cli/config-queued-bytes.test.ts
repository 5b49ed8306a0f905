/**
 * `maxQueuedBytes` in the operator's configuration: by flag, environment and the providers file's
 * `runtime` section, in that precedence, reaching the runtime's limits; bad values refused naming
 * where they came from; and listed in the usage text.
 */
import { describe, expect, it } from 'vitest';
import { resolveConfig, runtimeOptionsFrom, settingsUsage } from '../../../src/cli/config.js';

describe('maxQueuedBytes setting', () => {
  it('defaults to 256 MiB and reaches the runtime beside maxQueued', () => {
    const config = resolveConfig({});
    expect(config.values.maxQueuedBytes).toBe(268_435_456);
    expect(runtimeOptionsFrom(config).limits).toMatchObject({
      maxQueued: 10_000,
      maxQueuedBytes: 268_435_456,
    });
  });

  it('takes the flag over the environment over the file, down to 1', () => {
    const file = { path: '/p.json', values: { maxQueuedBytes: 1000 } };
    expect(resolveConfig({ file }).values.maxQueuedBytes).toBe(1000);
    const env = { TROUPE_MAX_QUEUED_BYTES: '2000' };
    expect(resolveConfig({ file, env }).values.maxQueuedBytes).toBe(2000);
    const config = resolveConfig({ file, env, flags: { 'max-queued-bytes': '1' } });
    expect(config.values.maxQueuedBytes).toBe(1);
    expect(config.sources.maxQueuedBytes).toEqual({ kind: 'flag', name: '--max-queued-bytes' });
    expect(runtimeOptionsFrom(config).limits.maxQueuedBytes).toBe(1);
  });

  it('refuses 0 for each queue bound: every call of serve and stdio waits in the queue', () => {
    // Before: taken, and an idle server refused every call (INVALID_REQUEST "at most 0 bytes", or
    // QUEUE_FULL "got 0 sessions waiting (limit 0)").
    const why = '(every call waits in the queue, however briefly: 0 would refuse them all)';
    expect(() => resolveConfig({ flags: { 'max-queued-bytes': '0' } })).toThrow(
      `Expected \`--max-queued-bytes\` to be at least 1 ${why}, got \`0\``,
    );
    expect(() => resolveConfig({ env: { TROUPE_MAX_QUEUED: '0' } })).toThrow(
      `Expected \`TROUPE_MAX_QUEUED\` to be at least 1 ${why}, got \`0\``,
    );
    expect(() => resolveConfig({ file: { path: '/p.json', values: { maxQueuedPerCaller: 0 } } })).toThrow(
      /^\/p\.json: Expected `runtime\.maxQueuedPerCaller` to be at least 1 /,
    );
  });

  it('refuses a value that is not a non-negative integer, naming where it came from', () => {
    expect(() => resolveConfig({ flags: { 'max-queued-bytes': '-1' } })).toThrow(
      'Expected `--max-queued-bytes` to be a non-negative integer, got `-1`',
    );
    expect(() => resolveConfig({ env: { TROUPE_MAX_QUEUED_BYTES: '256MiB' } })).toThrow(
      'Expected `TROUPE_MAX_QUEUED_BYTES` to be a non-negative integer, got `256MiB`',
    );
    expect(() => resolveConfig({ file: { path: '/p.json', values: { maxQueuedBytes: 1.5 } } })).toThrow(
      /Expected `runtime.maxQueuedBytes` .*to be a non-negative integer/,
    );
  });

  it('is in the usage text with its default and variable', () => {
    expect(settingsUsage()).toMatch(
      /--max-queued-bytes N +bytes of request JSON waiting.*\(default 268435456; env TROUPE_MAX_QUEUED_BYTES\)/,
    );
  });
});
