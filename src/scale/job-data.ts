/**
 * What travels in a BullMQ job: the session's plain input and the chat request, with file bytes
 * as base64 so the job stays JSON.
 */
import { ownerIn } from '../core/metadata.js';
import type { ChatFile, ChatRequest } from '../providers/port.js';
import { type Admitted, cancelEvent, inputSummary, resultOf } from '../runtime/backend.js';
import type { CallerOf, QueuedSession, RunRecord, SessionStore } from '../runtime/ports.js';
import type { RuntimeEvent, SessionResult, SessionSummary } from '../runtime/types.js';
import type { Owner } from './owner.js';

/** A job's data is the queued session itself (file bytes as base64 while in Redis). */
export type JobData = QueuedSession;

type WireFile = Omit<ChatFile, 'data'> & { readonly data: string | { readonly base64: string } };

export function encodeRequest(request: ChatRequest): ChatRequest {
  if (request.files === undefined) return request;
  const files: WireFile[] = request.files.map((file) =>
    typeof file.data === 'string'
      ? (file as WireFile)
      : { ...file, data: { base64: Buffer.from(file.data).toString('base64') } },
  );
  return { ...request, files: files as unknown as ChatFile[] };
}

export function decodeRequest(request: ChatRequest): ChatRequest {
  if (request.files === undefined) return request;
  const files = (request.files as unknown as WireFile[]).map((file) =>
    typeof file.data === 'string'
      ? (file as ChatFile)
      : { ...file, data: new Uint8Array(Buffer.from(file.data.base64, 'base64')) },
  );
  return { ...request, files };
}

/** The queued session of an admitted chat session, at `depth` in its caller's turns: only what is set travels. */
export function jobDataOf(admitted: Admitted, depth = 0): JobData {
  return {
    input: admitted.input,
    ...(depth === 0 ? {} : { depth }),
    request: (admitted.work as { readonly request: JobData['request'] }).request,
    ...(admitted.label === undefined ? {} : { label: admitted.label }),
    ...(admitted.caller === undefined ? {} : { caller: admitted.caller }),
    ...(admitted.callerTruncated ? { callerTruncated: true } : {}),
  };
}

export function queuedSummary(data: JobData): SessionSummary {
  const summary = inputSummary(data.input, 'queued', 0, data.label);
  if ((data.depth ?? 0) > 0) summary.depth = data.depth;
  const owner = ownerIn(data.caller);
  if (owner !== undefined) summary.owner = owner;
  return summary;
}

/** Depths told apart within one troupe priority on BullMQ; deeper ones share the last (FIFO). */
export const BULL_DEPTHS = 2 ** 17;

/**
 * BullMQ: 1 is the highest priority, FIFO within one, at most 2^21; troupe: 9 is the highest, and
 * within one the lowest depth first (callers' turns, `src/core/depth-queue.ts`). So troupe's
 * priority p at depth d is BullMQ's (9 - p) × 2^17 + d + 1 (up to 1,310,720), the order the
 * in-memory scheduler keeps. 0 would skip the priority set.
 */
export function bullPriority(priority: number, depth = 0): number {
  return (9 - priority) * BULL_DEPTHS + Math.min(depth, BULL_DEPTHS - 1) + 1;
}

/**
 * The result of a session Redis could not take or lost. Not `retryable`, as no runtime error is
 * (the refusal at submit included): troupe retries only provider errors; the hint says to call again.
 */
export function unavailable(data: JobData, message: string, now: number): SessionResult {
  const failed = resultOf(data, [{ type: 'session.cancel', now, reason: 'unused' }]);
  return {
    ok: false,
    error: unavailableError(message),
    metadata: { ...failed.metadata, code: 'BACKEND_UNAVAILABLE' },
  };
}

/** The error of every `BACKEND_UNAVAILABLE` end built here (`unavailable`, `orphanEnd`). */
const unavailableError = (message: string) =>
  ({ family: 'runtime', code: 'BACKEND_UNAVAILABLE', message, retryable: false }) as const;

/**
 * The end of a session past its queue deadline whose summary alone landed (no job, no run, no end:
 * `withdrawals.ts`), built from that summary: its caller was told `BACKEND_UNAVAILABLE`. Its caller
 * metadata is what its submitter wrote beside the summary (`SessionStore.put`), as the job held it:
 * the caller's and `truncated` as any end of it has them. Without that (a submitter before
 * 2026-12-06), the summary's owner alone.
 */
export function orphanEnd(summary: SessionSummary, kept: CallerOf | undefined, now: number): SessionResult {
  const queuedMs = Math.max(0, now - summary.createdAt);
  const { sessionId, requestId, provider, model, priority, label, owner } = summary;
  const caller = kept?.caller ?? (owner === undefined ? undefined : { owner });
  const message =
    "Expected the cluster to hold the job of a session queued past its queue deadline, found its summary alone (its submitter's enqueue was taken in part; its caller was told BACKEND_UNAVAILABLE)";
  return {
    ok: false,
    error: unavailableError(message),
    metadata: {
      ...{ sessionId, requestId, provider, model, priority, state: 'cancelled', queuedMs },
      ...{ runMs: 0, totalMs: queuedMs, attempts: 0, code: 'BACKEND_UNAVAILABLE' },
      ...(label === undefined ? {} : { label }),
      ...(caller === undefined ? {} : { caller }),
      ...(kept?.callerTruncated === true ? { truncated: true } : {}),
    },
  };
}

/** The end of a session cancelled before it ran here (withdrawn, or cancelled as its lease asked): a shutdown's ends `SHUTTING_DOWN`. */
export function cancelledAt(data: JobData, now: number, reason: string): SessionResult {
  return resultOf(data, [cancelEvent(now, reason)]);
}

/** When a session ended, on the clock of the instance that ended it (`SessionStore.settle`). */
export function endedAt(data: JobData, result: SessionResult): number {
  return data.input.createdAt + result.metadata.totalMs;
}

/** The provider and model of the target a run record has reached (its own without fallbacks). */
export function runTarget(input: JobData['input'], run: RunRecord): { provider: string; model: string } {
  const target = run.routing === undefined ? undefined : input.targets?.[run.routing.target];
  return target ?? { provider: input.provider, model: input.model };
}

/** The provider of the target a run record has reached (its first one without fallbacks). */
export function targetProvider(input: JobData['input'], run: RunRecord): string {
  return runTarget(input, run).provider;
}

/** What the handle reads of the cluster's live sessions (this instance's mirror of them). */
export type LiveSessions = Pick<SessionStore, 'liveSession' | 'liveSessions'>;

/**
 * Sessions ahead of a queued one in its provider's queue: higher priorities, and within its own the
 * lower depths (callers' turns) and its depth's earlier arrivals, as `session.queued`'s `position`
 * counts in memory. From the mirror of the cluster's live sessions and the sessions submitted here
 * that have not started (`waiting`: the mirror hears of those one round trip later).
 */
export function positionOf(live: LiveSessions, data: JobData, waiting: Iterable<Owner> = []): number {
  const { sessionId, provider, priority, createdAt } = data.input;
  const depth = data.depth ?? 0;
  const ahead = (s: Pick<SessionSummary, 'sessionId' | 'provider' | 'priority' | 'createdAt'>, d = 0) =>
    s.provider === provider &&
    s.sessionId !== sessionId &&
    (s.priority > priority ||
      (s.priority === priority && (d < depth || (d === depth && s.createdAt <= createdAt))));
  let count = 0;
  for (const s of live.liveSessions()) if (s.state === 'queued' && ahead(s, s.depth)) count++;
  // Those the mirror has not heard of yet (it has them once their `put` answered, or at once on Redis).
  for (const owner of waiting) {
    const s = owner.data.input;
    if (!owner.started && live.liveSession(s.sessionId) === undefined && ahead(s, owner.data.depth)) count++;
  }
  return count;
}

/** The `session.queued` event of a session put in the shared queue, behind those `live` has queued ahead of it. */
export function queuedEvent(data: JobData, live: LiveSessions, waiting: Iterable<Owner>): RuntimeEvent {
  return {
    type: 'session.queued',
    sessionId: data.input.sessionId,
    position: positionOf(live, data, waiting),
    at: data.input.createdAt,
    provider: data.input.provider,
    ...labelOf(data),
  };
}

/**
 * An owner's result when its instance shut down first: the session goes on in the cluster, or
 * (`shutdown({ unfinished: 'cancel' })`) is cancelled wherever it is, or, that cancel not taken (Redis
 * away until the close gave up), may go on: the caller is not told it was cancelled. Its metadata
 * says what the session ran: its cancelled `end` as written, else as the cluster showed it (`ran`:
 * its attempts, and its run until now). An `end` of its own (it ended before the cancel) is the
 * caller's as it is.
 */
export function handedOver(
  owner: Owner,
  now: number,
  cancel?: CancelAtShutdown,
  ran?: SessionSummary,
  end?: SessionResult,
): SessionResult {
  if (end !== undefined && (end.ok || end.error.code !== 'SHUTTING_DOWN')) return end;
  const stop = { type: 'session.cancel', now, reason: 'shutdown', code: 'SHUTTING_DOWN' } as const;
  const startedAt = ran?.startedAt;
  const events =
    startedAt === undefined ? [stop] : [{ type: 'session.admit', now: startedAt } as const, stop];
  const failed = resultOf(owner.data, events) as Extract<SessionResult, { ok: false }>;
  const metadata = end?.metadata ?? {
    ...failed.metadata,
    attempts: ran?.attempts ?? failed.metadata.attempts,
  };
  return { ...failed, metadata, error: { ...failed.error, message: HANDED_OVER[cancel ?? 'left'] } };
}

/** Whether the cluster took the cancel of a session at its submitter's shutdown (`unfinished: 'cancel'`). */
export type CancelAtShutdown = 'taken' | 'refused';

const HANDED_OVER: Record<CancelAtShutdown | 'left', string> = {
  left: 'This instance shut down before the session ended; it goes on in the cluster (read it by id)',
  taken: 'This instance shut down before the session ended; it was cancelled across the cluster',
  refused:
    'This instance shut down before the session ended; its cancel did not reach the cluster (its shared store did not take it), so it may go on there: read it by id, or cancel it, from another instance',
};

/** The session's label as a field to spread, or nothing. */
export function labelOf(data: Pick<JobData, 'label'>): { readonly label?: string } {
  return data.label === undefined ? {} : { label: data.label };
}
