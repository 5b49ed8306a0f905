/**
 * A busy port under `npm start` (the README's first command): the fix is `npm start -- --port N`,
 * since npm takes a bare `--port` for itself. Run directly, the line stays as it was.
 */
import { describe, expect, it } from 'vitest';
import { listenFailure } from '../../../src/cli/serve.js';

const busy = Object.assign(new Error('listen EADDRINUSE'), { code: 'EADDRINUSE' });
const plain =
  'port 7801 is already in use on 127.0.0.1; start on another with --port N (or --port 0 for any free port)';

describe('listenFailure', () => {
  it('names `npm start -- --port N` when npm start ran it', () => {
    expect(listenFailure(busy, '127.0.0.1', 7801, { npm_lifecycle_event: 'start' })).toBe(
      `${plain}; through npm: \`npm start -- --port N\``,
    );
  });

  it('keeps the one line as it was when run directly or by another npm script', () => {
    expect(listenFailure(busy, '127.0.0.1', 7801, {})).toBe(plain);
    expect(listenFailure(busy, '127.0.0.1', 7801, { npm_lifecycle_event: 'test' })).toBe(plain);
  });
});
