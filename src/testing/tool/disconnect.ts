/**
 * `disconnectEnds`: the client goes away mid-call, at a random moment of the handler's run. In
 * memory it closes (its transport, and so the server's linked one); over HTTP it closes too, which
 * drops the connection of the call's request. Either way the SDK aborts the handler's request, and
 * `withSession` passes that on to the session: what troupe guarantees, and what this holds a tool to,
 * is that the session then ends `cancelled`, its handler's signal aborted, the handler settled within
 * `abortWithinMs`, and nothing of the call left running or queued in the runtime.
 *
 * The client asked nothing back and reads nothing: unlike `signalHonoured` it does not judge what the
 * handler settles with, only that it stops. A 2025-era HTTP session (one transport a client) is not
 * what `transport: 'http'` serves: there the SDK keeps a handler whose stream closed running (a
 * disconnection is not a cancellation) and troupe's own `troupe serve` cancels it after
 * `disconnectGraceMs`, which your server does not do for you.
 */
import { finishedFirst, sessionOf, settledInTime } from './abort.js';
import { now } from './harness.js';
import {
  GRACE_MS,
  LateError,
  retryingLate,
  type ToolContext,
  type ToolProperty,
  waitUntil,
} from './property.js';
import { quietAfterSettled } from './quiet.js';
import { submittedEnded } from './submitted.js';

export interface DisconnectCase {
  /** ms into the handler's run when the client goes away. */
  readonly atMs: number;
  /** Which of the argument sets. */
  readonly args: number;
}

const wentAway = (c: DisconnectCase): string => `the client went away ${c.atMs} ms into the handler`;

async function checkDisconnect(context: ToolContext, c: DisconnectCase): Promise<void> {
  const args = context.args[c.args] ?? {};
  const outcome = await context.harness.call({
    args,
    timeoutMs: context.callTimeoutMs,
    disconnectAfterMs: c.atMs,
  });
  const { session, run } = sessionOf(outcome);
  if (run === undefined) return; // gone before the handler started: nothing of it to judge
  const what = wentAway(c);
  const first = await finishedFirst(context, c.atMs, what, run);
  if (!first) {
    context.observed.disconnectsInFlight += 1;
    await settledInTime(context, run, what);
    await submittedEnded(context.abortWithinMs, outcome.submitted, run.abortedAt as number, what);
    await quietAfterSettled(run, what);
  }
  await waitUntil(
    () => session.ended !== undefined,
    (run.abortedAt ?? now()) + context.abortWithinMs + GRACE_MS,
  );
  if (session.ended === undefined)
    throw new LateError(
      `Expected the session to end within ${context.abortWithinMs} ms of its signal's abort (${what}), got it still running`,
    );
  const { result } = session.ended;
  const state = result.metadata.state;
  if (!(first && state === 'done') && state !== 'cancelled')
    throw new Error(
      `Expected the session to end \`cancelled\` after ${what}, got \`${state}\`${result.ok ? '' : ` (${result.error.code}: ${result.error.message})`}`,
    );
  const settledAt = now();
  await waitUntil(() => {
    const live = context.harness.live();
    return live.running === 0 && live.queued === 0;
  }, settledAt + GRACE_MS);
  const live = context.harness.live();
  if (live.running > 0 || live.queued > 0)
    throw new LateError(
      `Expected nothing left in the runtime after ${what} and its session ended, got ${live.running} running and ${live.queued} queued ${GRACE_MS} ms later`,
    );
}

export const disconnectEnds: ToolProperty<DisconnectCase> = {
  name: 'disconnectEnds',
  title:
    'a client that goes away mid-call ends its session `cancelled`, the handler stopped within the bound and nothing left running',
  examples: (context) => [
    { atMs: 0, args: 0 },
    { atMs: Math.max(1, Math.floor(context.windowMs / 2)), args: 0 },
  ],
  arbitrary: (fc, context) =>
    fc.record({
      atMs: fc.integer({ min: 1, max: Math.max(1, context.windowMs) }),
      args: fc.integer({ min: 0, max: context.args.length - 1 }),
    }),
  check: (context, c) => retryingLate(() => checkDisconnect(context, c)),
};
