/**
 * After the abort, quiet: a handler whose signal aborted and which settled must leave nothing of
 * its own running that still reports for the call. A heartbeat (`setInterval(() =>
 * session.progress(...))`) cleared only on the happy path keeps firing after the abort, for a
 * session that ended, and keeps its closure, and the process, alive. Until 2026-12-08 nothing
 * looked: the session drops such reports, so no notification reached the client to be seen.
 *
 * Every `session.progress(...)` call is counted here, taken or not. The wait is bounded: twice the
 * longest gap between the run's own reports before it settled (a timer shows itself within its
 * period), at least `QUIET_MIN_MS` and at most `QUIET_MAX_MS`. A handler that reported nothing
 * before it settled has shown no pace to wait for, and is not waited on.
 */
import { ms, waitUntil } from './property.js';
import type { HandlerRun } from './watch.js';

export const QUIET_MIN_MS = 200;
export const QUIET_MAX_MS = 1000;

/** How long to watch a settled run for reports: bounded by its own pace, `undefined` when it showed none. */
export function quietWindowMs(run: HandlerRun): number | undefined {
  const settledAt = run.settled?.at;
  if (settledAt === undefined) return undefined;
  const before = run.reportedAt.filter((at) => at <= settledAt);
  if (before.length === 0) return undefined;
  let gap = 0;
  let last = run.startedAt;
  for (const at of before) {
    gap = Math.max(gap, at - last);
    last = at;
  }
  return Math.min(QUIET_MAX_MS, Math.max(QUIET_MIN_MS, 2 * gap));
}

/** Throws when the settled run's handler reported progress after it settled, within the window. */
export async function quietAfterSettled(run: HandlerRun, what: string): Promise<void> {
  const windowMs = quietWindowMs(run);
  const settledAt = run.settled?.at;
  if (windowMs === undefined || settledAt === undefined) return;
  const late = () => run.reportedAt.filter((at) => at > settledAt);
  await waitUntil(() => late().length > 0, settledAt + windowMs);
  const after = late();
  if (after.length === 0) return;
  throw new Error(
    `Expected no progress report from the handler once it settled after its signal's abort (${what}), got ${after.length} within ${windowMs} ms, the first ${ms((after[0] as number) - settledAt)} ms after it settled: a timer of its own (a heartbeat) still runs for a call that ended; clear it in a \`finally\`, or tie it to \`session.signal\``,
  );
}
