/**
 * The two properties of an aborted call, drawn alike: the client cancels (`notifications/cancelled`,
 * by the SDK client's `AbortSignal`) or a short run deadline passes, at a random moment of the
 * handler's run.
 *
 * `signalHonoured` is your handler's part: once `session.signal` aborts it settles within the bound,
 * as a rejection. troupe ends the session either way and drops what the handler returns after, but
 * cannot stop it: a handler that sleeps past its signal, or catches the abort and goes on, keeps
 * working (and paying its vendor) for nobody. `abortEnds` is what the client gets: a cancelled call
 * ends its session `cancelled`; one past its deadline answers troupe's `TIMED_OUT` error result with
 * the `timedOut` session's metadata (a wrapper of yours around `withSession` may break that).
 */
import type { CallOutcome, CallPlan, HandlerRun, SessionRun } from './harness.js';
import { now } from './harness.js';
import {
  answerText,
  GRACE_MS,
  LateError,
  metadataProblem,
  ms,
  retryingLate,
  type ToolContext,
  type ToolProperty,
  waitUntil,
} from './property.js';
import { quietAfterSettled } from './quiet.js';
import { submittedEnded } from './submitted.js';

export interface AbortCase {
  readonly ending: 'cancel' | 'deadline';
  /** ms into the handler's run: when the client cancels, or the run deadline (from admission). */
  readonly atMs: number;
  /** Which of the argument sets. */
  readonly args: number;
}

function examples(context: ToolContext): AbortCase[] {
  const mid = Math.max(1, Math.floor(context.windowMs / 2));
  return [
    { ending: 'cancel', atMs: 0, args: 0 },
    { ending: 'deadline', atMs: 1, args: 0 },
    { ending: 'cancel', atMs: mid, args: 0 },
    { ending: 'deadline', atMs: mid, args: 0 },
  ];
}

const arbitrary: ToolProperty<AbortCase>['arbitrary'] = (fc, context) =>
  fc.record({
    ending: fc.constantFrom<AbortCase['ending']>('cancel', 'deadline'),
    atMs: fc.integer({ min: 1, max: Math.max(1, context.windowMs) }),
    args: fc.integer({ min: 0, max: context.args.length - 1 }),
  });

function planFor(context: ToolContext, c: AbortCase): CallPlan {
  const args = context.args[c.args] ?? {};
  return c.ending === 'cancel'
    ? { args, timeoutMs: context.callTimeoutMs, cancelAfterMs: c.atMs }
    : { args, timeoutMs: Math.max(1, c.atMs) };
}

const abortName = (c: AbortCase): string =>
  c.ending === 'cancel'
    ? `the client cancelled ${c.atMs} ms into the handler`
    : `a ${Math.max(1, c.atMs)} ms run deadline passed`;

/** The call's one session and its first run, or a message saying the tool ran none. */
export function sessionOf(outcome: CallOutcome): { session: SessionRun; run: HandlerRun | undefined } {
  const session = outcome.sessions[0];
  if (session === undefined)
    throw new Error(
      `Expected the tool to run its handler as a troupe session (\`withSession(runtime, handler)\` with the runtime \`register\` got), got a call that started none (${answerText(outcome.answer)})`,
    );
  return { session, run: session.runs[0] };
}

/**
 * Waits for the run to settle or its signal to abort, `atMs` into the run (when `what` happened);
 * true when the handler finished before any abort.
 */
export async function finishedFirst(
  context: ToolContext,
  atMs: number,
  what: string,
  run: HandlerRun,
): Promise<boolean> {
  const bound = context.abortWithinMs + GRACE_MS;
  await waitUntil(
    () => run.settled !== undefined || run.abortedAt !== undefined,
    run.startedAt + Math.max(1, atMs) + bound,
  );
  if (run.abortedAt === undefined && run.settled === undefined)
    throw new LateError(
      `Expected the handler's signal to abort within ${context.abortWithinMs} ms after ${what}, got it still running, its signal not aborted, after ${ms(now() - run.startedAt)} ms`,
    );
  return run.settled !== undefined && (run.abortedAt === undefined || run.settled.at <= run.abortedAt);
}

/**
 * Waits for a run whose signal aborted to settle; how many ms after the abort it did. A `LateError`
 * when it took longer than `abortWithinMs`, or has not settled.
 */
export async function settledInTime(context: ToolContext, run: HandlerRun, what: string): Promise<number> {
  const abortedAt = run.abortedAt as number;
  await waitUntil(() => run.settled !== undefined, abortedAt + context.abortWithinMs + GRACE_MS);
  if (run.settled === undefined)
    throw new LateError(
      `Expected the handler to settle within ${context.abortWithinMs} ms of its signal's abort (${what}), got it still running after ${context.abortWithinMs + GRACE_MS} ms: pass \`session.signal\` to everything it awaits`,
    );
  const after = run.settled.at - abortedAt;
  if (after > context.abortWithinMs)
    throw new LateError(
      `Expected the handler to settle within ${context.abortWithinMs} ms of its signal's abort (${what}), got it settled ${ms(after)} ms after: pass \`session.signal\` to everything it awaits`,
    );
  return after;
}

const isErrorResult = (value: unknown): boolean =>
  typeof value === 'object' && value !== null && (value as { isError?: unknown }).isError === true;

async function checkSignal(context: ToolContext, c: AbortCase): Promise<void> {
  const outcome = await context.harness.call(planFor(context, c));
  const { session } = sessionOf(outcome);
  for (const run of session.runs) {
    if (await finishedFirst(context, c.atMs, abortName(c), run)) continue;
    context.observed.abortsInFlight += 1;
    const what = `${abortName(c)}, attempt ${session.runs.indexOf(run) + 1}`;
    const after = await settledInTime(context, run, what);
    if (run.settled?.ok === true && !isErrorResult(run.settled.value))
      throw new Error(
        `Expected the handler to settle as a rejection once its signal aborted (${what}), got a success ${ms(after)} ms after the abort: troupe drops it, and whatever the handler did after catching the abort ran for nobody; throw \`session.signal.reason\``,
      );
    await submittedEnded(context.abortWithinMs, outcome.submitted, run.abortedAt as number, what);
    await quietAfterSettled(run, what);
  }
}

async function checkEnd(context: ToolContext, c: AbortCase): Promise<void> {
  const outcome = await context.harness.call(planFor(context, c));
  const { session, run } = sessionOf(outcome);
  if (run === undefined) return; // cancelled before it started: nothing of the handler to judge
  const first = await finishedFirst(context, c.atMs, abortName(c), run);
  await waitUntil(
    () => session.ended !== undefined,
    (run.abortedAt ?? now()) + context.abortWithinMs + GRACE_MS,
  );
  if (session.ended === undefined)
    throw new LateError(
      `Expected the session to end within ${context.abortWithinMs} ms of its signal's abort (${abortName(c)}), got it still running`,
    );
  const { result } = session.ended;
  const state = result.metadata.state;
  if (first && state === 'done') return; // the handler answered before the abort reached it
  const want = c.ending === 'cancel' ? 'cancelled' : 'timedOut';
  if (state !== want)
    throw new Error(
      `Expected the session to end \`${want}\` after ${abortName(c)}, got \`${state}\`${result.ok ? '' : ` (${result.error.code}: ${result.error.message})`}`,
    );
  if (c.ending === 'cancel') {
    if (!('error' in outcome.answer))
      throw new Error(
        `Expected the cancelled call to end without a result (the client cancelled it), got ${answerText(outcome.answer)}`,
      );
    return;
  }
  checkTimedOutAnswer(context, c, outcome, run);
}

/** docs/embedding.md: an `isError` result whose text starts with the code, and `{ ok: false, error, session }`. */
function checkTimedOutAnswer(
  context: ToolContext,
  c: AbortCase,
  outcome: CallOutcome,
  run: HandlerRun,
): void {
  const answer = outcome.answer;
  const expected = `troupe's \`TIMED_OUT\` error result (isError, text "TIMED_OUT: ...", structuredContent { ok: false, error: { code: "TIMED_OUT" }, session })`;
  if ('error' in answer || answer.result.isError !== true)
    throw new Error(`Expected ${expected} after ${abortName(c)}, got ${answerText(answer)}`);
  const content = answer.result.content as { text?: unknown }[] | undefined;
  const text = content?.[0]?.text;
  const structured = answer.result.structuredContent as Record<string, unknown> | undefined;
  const error = structured?.error as { code?: unknown } | undefined;
  if (
    typeof text !== 'string' ||
    !text.startsWith('TIMED_OUT') ||
    structured?.ok !== false ||
    error?.code !== 'TIMED_OUT'
  )
    throw new Error(
      `Expected ${expected} after ${abortName(c)}, got ${answerText(answer)} with structuredContent ${JSON.stringify(structured)?.slice(0, 200)}`,
    );
  const problem = metadataProblem(structured.session, 'timedOut', run.sessionId);
  if (problem !== undefined) throw new Error(`${problem} (after ${abortName(c)})`);
  const late = answer.at - (run.abortedAt ?? answer.at);
  if (late > context.abortWithinMs)
    throw new LateError(
      `Expected the \`TIMED_OUT\` result within ${context.abortWithinMs} ms of the deadline, got it ${ms(late)} ms after (${abortName(c)})`,
    );
}

export const signalHonoured: ToolProperty<AbortCase> = {
  name: 'signalHonoured',
  title: 'once its signal aborts (cancel, deadline), the handler settles within the bound, as a rejection',
  examples,
  arbitrary,
  check: (context, c) => retryingLate(() => checkSignal(context, c)),
};

export const abortEnds: ToolProperty<AbortCase> = {
  name: 'abortEnds',
  title:
    'a cancelled call ends its session `cancelled`; one past its deadline answers `TIMED_OUT` with its metadata',
  examples,
  arbitrary,
  check: (context, c) => retryingLate(() => checkEnd(context, c)),
};
