/**
 * The two properties of a call left alone. `resultMetadata`: it answers a success whose
 * `structuredContent.session` is the session's metadata, `done`, as the SDK's client reads it (so an
 * `outputSchema` that refuses the `session` key fails here, as it fails your clients).
 * `progressDelivered`: each `session.progress(...)` the handler made before it answered reaches the
 * client's transport before the result, in order, with a `progress` that grows every time; with
 * `requireProgress`, the handler must make at least one.
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { CallOutcome } from './harness.js';
import {
  answerText,
  argsText,
  metadataProblem,
  ms,
  type ToolContext,
  type ToolProperty,
} from './property.js';
import { now } from './watch.js';

export interface AnswerCase {
  /** Which of the argument sets. */
  readonly args: number;
}

const examples = (context: ToolContext): AnswerCase[] => context.args.map((_, args) => ({ args }));

const arbitrary: ToolProperty<AnswerCase>['arbitrary'] = (fc, context) =>
  fc.record({ args: fc.integer({ min: 0, max: context.args.length - 1 }) });

/** Calls the tool and checks its answer; the outcome, for a property that looks further. */
export async function checkAnswer(
  context: ToolContext,
  c: AnswerCase,
  progress = false,
): Promise<CallOutcome & { answer: { result: Record<string, unknown> } }> {
  const args = context.args[c.args] ?? {};
  const outcome = await context.harness.call({ args, progress });
  const { answer } = outcome;
  if ('error' in answer) {
    const running = await stillRunning(outcome, context.abortWithinMs);
    throw new Error(
      `Expected a result for arguments ${argsText(args)} within ${context.callTimeoutMs} ms (\`callTimeoutMs\`), got ${answerText(answer)}${running === undefined ? '' : `; ${running}`}`,
    );
  }
  const session = outcome.sessions[0];
  // The SDK's server refuses arguments its inputSchema does not take before any handler runs: until
  // 2026-12-05 that read as a tool not built on withSession.
  if (session === undefined && /Input validation error/.test(answerText(answer)))
    throw new Error(
      `Expected \`args\` the tool's inputSchema takes, got ${argsText(args)} refused: ${answerText(answer)}`,
    );
  if (session === undefined)
    throw new Error(
      `Expected the tool to run its handler as a troupe session (\`withSession(runtime, handler)\` with the runtime \`register\` got), got ${answerText(answer)} with no session started`,
    );
  if (answer.result.isError === true) {
    const text = answerText(answer);
    // The SDK's server checks a result against the tool's outputSchema: a strict one refuses `session`.
    const hint = /output/i.test(text)
      ? 'let your `outputSchema` accept the `session` key withSession adds (a non-strict z.object does)'
      : ((await stillRunning(outcome, context.abortWithinMs)) ?? 'give `args` your tool answers');
    throw new Error(`Expected a success for arguments ${argsText(args)} (${hint}), got ${text}`);
  }
  const structured = answer.result.structuredContent;
  const problem = sessionRoom(structured)
    ? metadataProblem(
        (structured as Record<string, unknown> | undefined)?.session,
        'done',
        session.runs.at(-1)?.sessionId,
      )
    : undefined;
  if (problem !== undefined) throw new Error(`${problem} (arguments ${argsText(args)})`);
  return outcome as CallOutcome & { answer: { result: Record<string, unknown> } };
}

/**
 * Whether withSession had room for `session` in the tool's `structuredContent`: MCP takes any JSON
 * value there, and an array, a string or `null` is answered as the handler gave it (a 2025-era
 * client gets the SDK's wrap of one, `{ result }`), without the session.
 */
function sessionRoom(structured: unknown): boolean {
  const plain = (value: unknown) => typeof value === 'object' && value !== null && !Array.isArray(value);
  if (structured === undefined) return true;
  if (!plain(structured)) return false;
  const keys = Object.keys(structured as object);
  return !(keys.length === 1 && keys[0] === 'result' && !plain((structured as { result: unknown }).result));
}

/**
 * When a call left alone got no success because its handler ignored its signal (the deadline, or the
 * client giving up, aborted it and it ran on): says so, after giving it `abortWithinMs` to settle.
 * Until 2026-12-05 a handler that never settled read as "give `args` your tool answers".
 */
async function stillRunning(outcome: CallOutcome, abortWithinMs: number): Promise<string | undefined> {
  const run = outcome.sessions.at(-1)?.runs.at(-1);
  if (run === undefined) return undefined;
  if (run.settled === undefined) {
    const timeout = new AbortController();
    await Promise.race([
      run.done,
      delay(abortWithinMs, undefined, { signal: timeout.signal }).catch(() => {}),
    ]);
    timeout.abort();
  }
  if (run.settled !== undefined || run.abortedAt === undefined) return undefined;
  return `the handler was still running ${ms(now() - run.abortedAt)} ms after its signal aborted: pass \`session.signal\` to everything it awaits`;
}

async function checkProgress(context: ToolContext, c: AnswerCase): Promise<void> {
  const outcome = await checkAnswer(context, c, true);
  const { progress, responseAt } = outcome.wire;
  for (let i = 1; i < progress.length; i++) {
    const [before, after] = [progress[i - 1]?.progress ?? 0, progress[i]?.progress ?? 0];
    if (!(after > before))
      throw new Error(
        `Expected each progress notification's \`progress\` to grow (MCP requires it), got ${after} after ${before} (${progress
          .map((p) => `${p.progress} ${JSON.stringify(p.message)}`)
          .join(
            ', ',
          )}): report progress with \`session.progress()\`, which numbers troupe's notifications and yours as one`,
      );
  }
  const reports = outcome.sessions.flatMap((session) =>
    session.runs.flatMap((run) =>
      run.progress.filter((p) => run.settled === undefined || p.at <= run.settled.at),
    ),
  );
  context.observed.progressReports += reports.length;
  if (context.requireProgress && reports.length === 0)
    throw new Error(
      `Expected the handler to report progress (\`session.progress(...)\`) on a call whose client asked for it (\`requireProgress\`), got none in a call of ${ms(
        outcome.answer.at - outcome.sentAt,
      )} ms (arguments ${argsText(context.args[c.args] ?? {})})`,
    );
  const received = progress.filter((p) => responseAt === undefined || p.at <= responseAt);
  let from = 0;
  for (const report of reports) {
    const at = received.findIndex((p, i) => i >= from && p.message === report.text);
    if (at < 0)
      throw new Error(
        `Expected the handler's progress "${report.text}" to reach the client before the result, in order, got ${
          received.length === 0
            ? 'no notifications'
            : received.map((p) => JSON.stringify(p.message)).join(', ')
        }`,
      );
    from = at + 1;
  }
}

export const resultMetadata: ToolProperty<AnswerCase> = {
  name: 'resultMetadata',
  title:
    'a call left alone answers a success with the `done` session’s metadata in `structuredContent.session`',
  examples,
  arbitrary,
  check: async (context, c) => {
    await checkAnswer(context, c);
  },
};

export const progressDelivered: ToolProperty<AnswerCase> = {
  name: 'progressDelivered',
  title: 'progress the handler reports reaches the client before the result, in order, always growing',
  examples,
  arbitrary,
  check: checkProgress,
};
