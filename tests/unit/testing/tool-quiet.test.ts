/**
 * After the abort, quiet (`tool/quiet.ts`): how long a settled run is watched for reports, bounded
 * by its own pace, and what a report after it settled fails with.
 */
import { expect, it } from 'vitest';
import {
  QUIET_MAX_MS,
  QUIET_MIN_MS,
  quietAfterSettled,
  quietWindowMs,
} from '../../../src/testing/tool/quiet.js';
import type { HandlerRun } from '../../../src/testing/tool/watch.js';

const runOf = (reportedAt: number[], settledAt: number | undefined, startedAt = 0): HandlerRun => ({
  sessionId: 's1',
  startedAt,
  progress: [],
  reportedAt,
  ...(settledAt === undefined ? {} : { settled: { at: settledAt, ok: false } }),
  done: Promise.resolve(),
});

it('watches twice the longest gap between the run’s reports before it settled, within its bounds', () => {
  expect(quietWindowMs(runOf([10, 20, 30], 35))).toBe(QUIET_MIN_MS);
  expect(quietWindowMs(runOf([0, 150, 450], 460))).toBe(600);
  // The gap from the run's start counts: its first report came 400 ms in.
  expect(quietWindowMs(runOf([400], 410, 0))).toBe(800);
  expect(quietWindowMs(runOf([0, 2000], 2010))).toBe(QUIET_MAX_MS);
  // Reports after it settled set no pace.
  expect(quietWindowMs(runOf([0, 50, 900], 60))).toBe(QUIET_MIN_MS);
});

it('does not wait on a run that reported nothing before it settled, or has not settled', () => {
  expect(quietWindowMs(runOf([], 100))).toBeUndefined();
  expect(quietWindowMs(runOf([200], 100))).toBeUndefined();
  expect(quietWindowMs(runOf([10], undefined))).toBeUndefined();
});

it('fails a run that reported after it settled, saying when, and passes a quiet one', async () => {
  const settledAt = performance.now();
  const loud = runOf([settledAt - 20], settledAt, settledAt - 40);
  const beat = setTimeout(() => loud.reportedAt.push(performance.now()), 30);
  await expect(quietAfterSettled(loud, 'the client cancelled 5 ms into the handler')).rejects.toThrow(
    /^Expected no progress report from the handler once it settled after its signal's abort \(the client cancelled 5 ms into the handler\), got 1 within 200 ms, the first \d+ ms after it settled: a timer of its own \(a heartbeat\) still runs/,
  );
  clearTimeout(beat);
  const now = performance.now();
  await expect(quietAfterSettled(runOf([now - 20], now, now - 40), 'x')).resolves.toBeUndefined();
});
