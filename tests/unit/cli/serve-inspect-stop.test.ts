/**
 * `troupe serve --inspect` at its stop: the events the inspector still held (nothing listened, or
 * it read slowly) are dropped by `stop()`, and one warning says how many; until 2026-12-07 they went
 * uncounted and untold. The sender's own count is tested in tests/integration/inspect-connection.test.ts.
 */
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { stopInspecting } from '../../../src/cli/serve-inspect.js';
import type { ConnectedInspector } from '../../../src/observe/inspect.js';
import { createLogger } from '../../../src/observe/logger.js';

function logged() {
  const lines: { level: string; msg: string; dropped?: number }[] = [];
  const destination = new Writable({
    write(chunk, _enc, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  return { logger: createLogger({ destination, format: 'json' }), lines };
}

/** An inspector that had dropped `before` events, and whose stop drops `atStop` more. */
function inspectorDropping(before: number, atStop: number): ConnectedInspector & { stops: number } {
  let dropped = before;
  const inspector = {
    url: 'ws://127.0.0.1:8080/',
    observer: () => {},
    get droppedEvents() {
      return dropped;
    },
    backlogBytes: 0,
    connected: false,
    stops: 0,
    stop() {
      inspector.stops += 1;
      dropped += atStop;
    },
  };
  return inspector;
}

describe('stopInspecting', () => {
  it('stops the inspector and warns once with the events its stop dropped, not those dropped before', () => {
    const { logger, lines } = logged();
    const inspector = inspectorDropping(40, 12);
    stopInspecting(inspector, logger);
    expect(inspector.stops).toBe(1);
    expect(lines).toEqual([
      expect.objectContaining({
        level: 'warn',
        dropped: 12,
        msg: 'stopped sending to the Stately inspector at ws://127.0.0.1:8080/: the 12 event(s) it had not taken yet were dropped',
      }),
    ]);
  });

  it('says nothing when the stop dropped none, or there is no inspector', () => {
    const { logger, lines } = logged();
    const inspector = inspectorDropping(40, 0);
    stopInspecting(inspector, logger);
    stopInspecting(undefined, logger);
    expect(inspector.stops).toBe(1);
    expect(lines).toEqual([]);
  });
});
