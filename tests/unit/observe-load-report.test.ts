/**
 * The summary of `troupe demo` and `troupe load` says where the planned cancellations happened.
 * The driver cancels 100-500 ms after submitting, so under a backlog most are cancelled in the
 * queue: `troupe demo --sessions 300` cancelled all 27 before they started, while the summary
 * said "the provider hangs; the driver cancels it after 100-500 ms".
 */
import { expect, it } from 'vitest';
import { formatReport, LoadRecorder } from '../../src/observe/load-report.js';

it('counts the planned cancellations that never started, and says so beside them', () => {
  const recorder = new LoadRecorder(4, 0);
  const cancelled = {
    kind: 'cancelled',
    expected: 'cancelled',
    state: 'cancelled',
    code: 'CANCELLED',
  } as const;
  recorder.record({ index: 0, ...cancelled, sessionId: 'a', queuedMs: 300, runMs: 0 });
  recorder.record({ index: 1, ...cancelled, sessionId: 'b', queuedMs: 250, runMs: 0 });
  recorder.record({ index: 2, ...cancelled, sessionId: 'c', queuedMs: 5, runMs: 200 });
  // A client abort over MCP gets no metadata back: where it was is not known, so not counted.
  recorder.record({ index: 3, ...cancelled });
  const report = recorder.report(false, 1000);
  expect(report.cancelledQueued).toBe(2);
  const line = formatReport(report)
    .split('\n')
    .find((l) => l.startsWith('cancelled') && l.includes('injected'));
  expect(line).toMatch(
    /cancels it 100-500 ms after submitting it \(2 of them still queued, never started\)$/,
  );
});
