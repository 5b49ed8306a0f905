/**
 * The model calls a handler submits (`session.submit`, or `runtime.submit` on the runtime
 * `register` got), watched: once the tool call's signal aborts, each still running must end within
 * `abortWithinMs`, as the handler itself must settle. `session.submit` gives each the call's signal,
 * so it is cancelled with the call; a `runtime.submit` without it (a handler that races the answer
 * against its signal, or returns without awaiting it) leaves the call running, and paying its vendor,
 * for nobody. Until 2026-12-07 nothing looked: such a tool passed every property whenever its model
 * call ended within 200 ms of the abort, as the docs' 150 ms fake vendor always does.
 */
import { GRACE_MS, LateError, ms, waitUntil } from './property.js';
import type { SubmittedRun } from './watch.js';

/**
 * Waits for every call submitted before `abortedAt` to end; a `LateError` naming the first still
 * running after `abortWithinMs` and the grace, or ended later than `abortWithinMs` after the abort.
 */
export async function submittedEnded(
  abortWithinMs: number,
  submitted: readonly SubmittedRun[],
  abortedAt: number,
  what: string,
): Promise<void> {
  const watched = submitted.filter((run) => run.submittedAt <= abortedAt);
  await waitUntil(
    () => watched.every((run) => run.endedAt !== undefined),
    abortedAt + abortWithinMs + GRACE_MS,
  );
  for (const run of watched) {
    const endedAt = run.endedAt;
    if (endedAt !== undefined && endedAt - abortedAt <= abortWithinMs) continue;
    const got =
      endedAt === undefined
        ? `got it still running after ${abortWithinMs + GRACE_MS} ms`
        : `got it ended ${ms(endedAt - abortedAt)} ms after`;
    const how = run.signalled
      ? "give it the call's signal, `session.signal` (`session.submit` does), and await it"
      : 'submit it with `session.submit` (cancelled with the call), or give `runtime.submit` `signal: session.signal`, and await it';
    throw new LateError(
      `Expected the model call the handler submitted (${run.target}, session ${run.sessionId}) to end within ${abortWithinMs} ms of the call's abort (${what}), ${got}: ${how}`,
    );
  }
}
