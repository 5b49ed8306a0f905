/**
 * Each caller's share of a runtime's slots and queue, where troupe's MCP layer tells several
 * callers apart: `createHttpApp` refuses a front with several clients told apart by token on a
 * runtime without shares (`http-options.ts`), and `callerShareWatch` warns once when the sessions
 * of two callers are in flight at once on such a runtime, whatever the front: the SDK's
 * `createMcpHandler` with `withSession` or `registerTools`, a front with no token or one shared
 * token (its clients told apart by MCP session). Until 2026-12-07 nothing told those embedders; a
 * runtime alone does not know how many callers it serves, so it has no share unless set.
 */
import { callerShares } from '../runtime/options.js';
import type { Runtime, RuntimeStatus } from '../runtime/types.js';

type ShareLimits = Pick<
  RuntimeStatus,
  'maxConcurrent' | 'maxRunningPerCaller' | 'maxQueued' | 'maxQueuedPerCaller'
>;

/**
 * The runtime's limits one caller may take whole where `callerShares` would leave the others some
 * (a share of one slot is all of it, as `troupe serve`'s is), each as the refusal names it.
 */
export function wholeShares(status: ShareLimits, want: ReturnType<typeof callerShares>): string[] {
  const whole: string[] = [];
  if (status.maxRunningPerCaller >= status.maxConcurrent && want.maxRunningPerCaller < status.maxConcurrent)
    whole.push(
      `limits.maxRunningPerCaller ${status.maxRunningPerCaller} of maxConcurrent ${status.maxConcurrent}`,
    );
  if (status.maxQueuedPerCaller >= status.maxQueued && want.maxQueuedPerCaller < status.maxQueued)
    whole.push(`limits.maxQueuedPerCaller ${status.maxQueuedPerCaller} of maxQueued ${status.maxQueued}`);
  return whole;
}

/** What to set for `callerShares`' values, as the refusal and the warning say it. */
export function sharesToSet(want: ReturnType<typeof callerShares>): string {
  return `set createRuntime({ limits: { maxRunningPerCaller: ${want.maxRunningPerCaller}, maxQueuedPerCaller: ${want.maxQueuedPerCaller} } }) (troupe serve's: three quarters of maxConcurrent, a quarter of maxQueued)`;
}

/** Runtimes whose embedder chose to serve several callers without shares (`allowNoCallerShare`). */
const CHOSEN = new WeakSet<object>();

/** `createHttpApp({ allowNoCallerShare: true })`: the runtime's callers share it by choice, so no warning. */
export function chooseNoCallerShare(runtime: object): void {
  CHOSEN.add(runtime);
}

export const NO_CALLER_SHARE_WARNING = 'TROUPE_NO_CALLER_SHARE';

/**
 * Called when the sessions of a second caller are in flight beside another's (`SessionOwners`,
 * with the scope keys of those holding sessions): the first time, reads the runtime's limits
 * (fixed at `createRuntime`) and, when they leave one caller all the slots or all the queue and
 * the embedder did not choose that, warns once (`warn`, @default a process warning with the code
 * `TROUPE_NO_CALLER_SHARE`). It never looks again: one line per runtime, at no cost per call.
 */
export function callerShareWatch(
  runtime: Pick<Runtime, 'status'>,
  warn: (message: string) => void = (message) =>
    process.emitWarning(message, { code: NO_CALLER_SHARE_WARNING }),
): (callers: Iterable<string>) => void {
  let looked = false;
  return (callers) => {
    if (looked) return;
    looked = true;
    if (CHOSEN.has(runtime)) return;
    const status = runtime.status({ recent: 0 });
    const want = callerShares(status);
    const whole = wholeShares(status, want);
    if (whole.length === 0) return;
    // The kinds of caller, never their keys: an MCP session id lets its holder use the session.
    const kinds = [...new Set([...callers].map((key) => key.replace(/:.*/s, ':…')))];
    warn(
      `troupe: sessions of several callers (${kinds.join(', ')}) are in flight at once on a runtime that gives each caller no share of its slots and queue, got ${whole.join(' and ')}: one caller's calls can take them all while the others' wait out their deadlines; ${sharesToSet(want)}. Told once per runtime`,
    );
  };
}
