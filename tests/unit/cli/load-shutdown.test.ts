/**
 * `troupe load` against a server stopped during the load (SIGTERM, Ctrl-C): the calls it refuses
 * then fail `SHUTTING_DOWN`, and the summary says why. Before, it said only "242 session(s) ended
 * otherwise than planned" (seen stopping `troupe serve` under a 300-session load), which
 * docs/observability.md promised to explain.
 */
import { describe, expect, it } from 'vitest';
import { formatReport, LoadRecorder } from '../../../src/observe/load-report.js';

describe('troupe load, a server stopped during the load', () => {
  it('says the calls refused SHUTTING_DOWN came from the server stopping', () => {
    const recorder = new LoadRecorder(3);
    recorder.record({ index: 0, state: 'done', kind: 'ok', expected: 'done' });
    recorder.record({ index: 1, state: 'failed', code: 'SHUTTING_DOWN', kind: 'ok', expected: 'done' });
    recorder.record({ index: 2, state: 'failed', code: 'SHUTTING_DOWN', kind: 'slow', expected: 'done' });

    const report = recorder.report(false);
    expect(report.unplanned).toBe(2);
    expect(report.unplannedShuttingDown).toBe(2);
    expect(formatReport(report)).toContain(
      '2 of them failed SHUTTING_DOWN because the server was stopping (a SIGTERM or SIGINT, or its drain) and took no new calls: the load was not at fault; run it again once the server is back',
    );
  });

  it('says nothing of a stop when none of the calls was refused for it', () => {
    const recorder = new LoadRecorder(1);
    recorder.record({ index: 0, state: 'failed', code: 'BAD_RESPONSE', kind: 'ok', expected: 'done' });
    const report = recorder.report(false);
    expect(report.unplannedShuttingDown).toBe(0);
    expect(formatReport(report)).not.toContain('SHUTTING_DOWN');
  });
});
