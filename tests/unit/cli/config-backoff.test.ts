/**
 * A first retry backoff set above the longest is refused, naming both and where each came from.
 * Before, `--backoff-base-ms 20000` with the default longest (10000) was taken and every backoff
 * was cut to 10 s unseen. A longest set under the default first is a cap, meant as one.
 */
import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../../../src/cli/config.js';

describe('backoffBaseMs and backoffMaxMs', () => {
  it('refuses a first backoff set above the longest', () => {
    expect(() => resolveConfig({ flags: { 'backoff-base-ms': '20000' } })).toThrow(
      'Expected backoffBaseMs (20000, --backoff-base-ms) at most backoffMaxMs (10000, default): the longest backoff caps the first; raise --backoff-max-ms or lower --backoff-base-ms',
    );
    expect(() =>
      resolveConfig({
        env: { TROUPE_BACKOFF_MAX_MS: '500' },
        file: { path: '/p.json', values: { backoffBaseMs: 1000 } },
      }),
    ).toThrow(
      'Expected backoffBaseMs (1000, /p.json runtime.backoffBaseMs) at most backoffMaxMs (500, env TROUPE_BACKOFF_MAX_MS)',
    );
    // One millisecond over is over.
    expect(() => resolveConfig({ flags: { 'backoff-base-ms': '3001', 'backoff-max-ms': '3000' } })).toThrow(
      'Expected backoffBaseMs (3001, --backoff-base-ms) at most backoffMaxMs (3000, --backoff-max-ms)',
    );
  });

  it('takes equal values, and a longest under the default first', () => {
    expect(
      resolveConfig({ flags: { 'backoff-base-ms': '3000', 'backoff-max-ms': '3000' } }).values,
    ).toMatchObject({
      backoffBaseMs: 3000,
      backoffMaxMs: 3000,
    });
    // The default first (250) runs cut to the longest: shown so (until 2026-12-04, as 250).
    expect(resolveConfig({ env: { TROUPE_BACKOFF_MAX_MS: '100' } }).values).toMatchObject({
      backoffBaseMs: 100,
      backoffMaxMs: 100,
    });
  });
});
