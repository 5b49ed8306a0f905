/**
 * Graceful stop for `troupe serve` and `troupe stdio`: drain the runtime within a bound (sessions
 * that do not finish by the deadline are cancelled and reported, so every in-flight call still
 * gets a result or a clear error), give the transports a moment to write those results, then close.
 */
import { steadyClock } from '../core/clock.js';
import type { ShutdownReport } from '../runtime/types.js';
import type { McpContext } from './context.js';

export interface GracefulStopOptions {
  /** How long in-flight sessions may go on before they are cancelled, in ms. @default 10000 */
  readonly deadlineMs?: number;
  /** How long to wait for tool results to be written after the drain, in ms. @default 2000 */
  readonly flushMs?: number;
  /** Closes the transports; runs after the drain and flush. */
  readonly closeTransports: () => Promise<void>;
  /** Sessions that ended before the stop began (the host gone, its calls aborted), by id: counted too. */
  readonly endedBefore?: ReadonlyMap<string, string>;
  /**
   * Cuts the drain short: once aborted, every live session is cancelled with the signal's reason
   * (a string; otherwise "the drain was cut short") rather than left to run to the deadline, for a
   * stop whose callers went away while it drained (`troupe stdio`'s host). Heard until the drain ends.
   */
  readonly signal?: AbortSignal;
}

/** The runtime's report, with the states its sessions ended in. */
export interface StopReport extends ShutdownReport {
  /** Sessions that ended while draining, and those given as `endedBefore`, by final state (those cancelled at the deadline included). */
  readonly endedByState: Readonly<Record<string, number>>;
}

export async function gracefulStop(mcp: McpContext, options: GracefulStopOptions): Promise<StopReport> {
  const ended = new Map<string, string>(options.endedBefore);
  const unsubscribe = mcp.runtime.subscribe((event) => {
    if (event.type === 'session.ended') ended.set(event.sessionId, event.result.metadata.state);
  });
  const { signal } = options;
  const cut = (): void =>
    cancelLive(mcp, typeof signal?.reason === 'string' ? signal.reason : 'the drain was cut short');
  signal?.addEventListener('abort', cut, { once: true });
  let report: ShutdownReport;
  try {
    // On a cluster too: an MCP client cannot read its call's end from another instance, so a call
    // left to go on there would run, and be paid for, while the client retries (`SHUTTING_DOWN`).
    const draining = mcp.runtime.shutdown({ deadlineMs: options.deadlineMs ?? 10_000, unfinished: 'cancel' });
    if (signal?.aborted) cut();
    report = await draining;
  } finally {
    signal?.removeEventListener('abort', cut);
    unsubscribe();
  }
  const endedByState: Record<string, number> = {};
  for (const state of ended.values()) endedByState[state] = (endedByState[state] ?? 0) + 1;
  // Every session has ended, so every tool handler is returning; wait for them to hand back.
  const flushUntil = steadyClock.now() + (options.flushMs ?? 2000);
  while (mcp.calls.size > 0 && steadyClock.now() < flushUntil) await new Promise((r) => setTimeout(r, 20));
  await new Promise((r) => setTimeout(r, 50)); // let the last responses reach the socket
  await options.closeTransports();
  mcp.close();
  return { ...report, endedByState };
}

/** Cancels every live session (queued or running) of this instance. */
function cancelLive(mcp: McpContext, reason: string): void {
  for (const session of mcp.runtime.sessions({ limit: Number.MAX_SAFE_INTEGER }))
    mcp.runtime.cancel(session.sessionId, reason);
}

/**
 * Resolves on the first SIGINT or SIGTERM; a second one exits at once (code 130), with one line on
 * stderr saying so: calls still in flight get no answer (until 2026-12-04 it exited silently).
 */
export function onceSignalled(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    let seen = false;
    const handler = (signal: NodeJS.Signals) => {
      if (seen) {
        process.stderr.write(
          `troupe: ${signal} again while draining: exiting now (code 130); calls still in flight get no answer\n`,
        );
        process.exit(130);
      }
      seen = true;
      resolve(signal);
    };
    process.on('SIGINT', handler);
    process.on('SIGTERM', handler);
  });
}
