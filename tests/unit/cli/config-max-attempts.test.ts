/**
 * `maxAttempts` in the operator's configuration holds to the library's ceiling (100, docs/runtime.md
 * "Ceilings"), refused under the name it came by: until 2026-12-07 `--max-attempts 1000000000` was
 * taken, bounded only by each call's deadline.
 */
import { describe, expect, it } from 'vitest';
import { resolveConfig, runtimeOptionsFrom } from '../../../src/cli/config.js';

describe('maxAttempts setting', () => {
  it('takes up to 100 and refuses more, with the reason, naming where it came from', () => {
    const config = resolveConfig({ flags: { 'max-attempts': '100' } });
    expect(runtimeOptionsFrom(config).defaults).toMatchObject({ maxAttempts: 100 });
    const why =
      'attempts at one target, the first included: 100 with the default backoff are about 16 minutes of retrying';
    expect(() => resolveConfig({ flags: { 'max-attempts': '101' } })).toThrow(
      `Expected \`--max-attempts\` to be at most 100 (${why}), got \`101\``,
    );
    expect(() => resolveConfig({ env: { TROUPE_MAX_ATTEMPTS: '1000000000' } })).toThrow(
      `Expected \`TROUPE_MAX_ATTEMPTS\` to be at most 100 (${why}), got \`1000000000\``,
    );
    expect(() => resolveConfig({ file: { path: '/p.json', values: { maxAttempts: 1000 } } })).toThrow(
      `/p.json: Expected \`runtime.maxAttempts\` to be at most 100 (${why}), got \`1000\``,
    );
  });
});
