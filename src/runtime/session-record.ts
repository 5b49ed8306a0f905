/**
 * What the runtime keeps per live session, and how a final snapshot becomes a result.
 *
 * A queued session is only this record: its machine input is plain data, so it costs a few hundred
 * bytes while it waits. Its actor is started when it is admitted, or when an event must be applied
 * to it while queued (cancel, queue deadline); either way every session's life runs through the
 * session machine from `queued`.
 */

import { finalRoute, type RouteTargetData, type RoutingData } from '../../machines/routing.js';
import {
  initialContext,
  type SessionContext,
  type SessionInput,
  type SessionOutputData,
  type SessionStateValue,
} from '../../machines/session.js';
import type { Wakeable } from '../core/deadlines.js';
import type { TroupeErrorData } from '../core/errors.js';
import { ownerIn } from '../core/metadata.js';
import type { HoldsRoom } from '../core/queue-room.js';
import type { Schedulable } from '../core/scheduler.js';
import type { ChatProvider, ChatRequest } from '../providers/port.js';
import { costOf, type PriceTable, priceOf } from '../providers/prices.js';
import type { EventStream } from './event-stream.js';
import type { Link } from './lending.js';
import type { WaitingFor } from './limit-types.js';
import type { Start } from './limiter.js';
import type { RunRecord } from './ports.js';
import type { ProviderCall } from './provider-call.js';
import type { SessionActor } from './session-engine.js';
import type {
  FinalState,
  PartialOutput,
  SessionEvent,
  SessionMetadata,
  SessionResult,
  SessionState,
  SessionSummary,
  TaskFunction,
  TaskResult,
} from './types.js';

/**
 * The machine context of a session known by its run record (taken over from a lost instance, or a
 * hop a shared backend recorded): between attempts, its next one due at `retryAt`, a further
 * attempt under the original run deadline; with fallbacks, at the target it had reached, its route
 * so far kept.
 */
export function contextOfRun(input: SessionInput, run: RunRecord, retryAt: number | null): SessionContext {
  const initial = initialContext(input);
  return Object.assign(initial, {
    startedAt: run.startedAt,
    runDeadlineAt: run.runDeadlineAt,
    attempts: run.attempts,
    retryAt,
    routing: initial.routing === null ? null : (run.routing ?? initial.routing),
  });
}

/** A record's `resolve` until its result promise is made. */
export function unresolved(): void {}

/** A new session's record, not yet queued (`track` queues it and holds its room). */
export function recordOf(
  admitted: Pick<SessionRecord, 'input' | 'work' | 'label' | 'caller' | 'callerTruncated'>,
): SessionRecord {
  return {
    provider: admitted.input.provider,
    priority: admitted.input.priority,
    seq: 0,
    depth: 0,
    wakeAt: 0,
    heapIndex: -1,
    input: admitted.input,
    work: admitted.work,
    label: admitted.label,
    caller: admitted.caller,
    callerTruncated: admitted.callerTruncated,
    queuedBytes: 0, // held by `track` once queued
    queuedTurn: undefined,
    actor: null,
    leaf: 'queued',
    call: null,
    admitted: false,
    result: null,
    resolve: unresolved,
    value: undefined,
    observers: null,
    detachSignal: null,
  };
}

/** The session's child: a chat call to a provider, or a caller's task function. */
export type SessionWork =
  | {
      readonly kind: 'chat';
      /** The adapter and request of the session's first call. */
      readonly provider: ChatProvider;
      readonly request: ChatRequest;
      /** With fallbacks: the adapters by name, for the targets after the first (`routing.ts`). */
      readonly providers?: ReadonlyMap<string, ChatProvider>;
    }
  | { readonly kind: 'task'; readonly task: TaskFunction<unknown> };

/** `queuedBytes`, `queuedTurn`: its request's bytes and its caller's turns while it waits in the queue, cleared when it leaves (`QueueRoom`). */
export interface SessionRecord extends Schedulable, Wakeable, HoldsRoom {
  /**
   * The provider whose queue it waits in, then whose slot it holds; after a fallback hop, the
   * provider it moved to (`local-limits.ts`).
   */
  provider: string;
  /** Its turn among callers while it waits (`QueueRoom.depthOf`, `DepthQueue`), set by `track`. */
  depth?: number;
  /** Between a hop's leaving its provider's slot and taking the next one's: it holds only a global slot. */
  laneless?: boolean;
  /** Set when admission found its provider cooling down past its queue deadline: it moves on at once. */
  reroute?: TroupeErrorData;
  readonly input: SessionInput;
  readonly work: SessionWork;
  readonly label: string | undefined;
  readonly caller: Readonly<Record<string, unknown>> | undefined;
  readonly callerTruncated: boolean;
  actor: SessionActor | null;
  leaf: SessionStateValue;
  call: ProviderCall | null;
  admitted: boolean;
  result: SessionResult | TaskResult<unknown> | null;
  resolve: (result: SessionResult | TaskResult<unknown>) => void;
  /** A task's return value: kept out of the machine's context, which holds only plain data. */
  value: unknown;
  observers: EventStream<SessionEvent>[] | null;
  detachSignal: (() => void) | null;
  /** The limit that held it back at its last look, while it waits (limits.ts). */
  waitingFor?: WaitingFor | undefined;
  /** The current attempt's charge to its provider's limits, until the call's outcome settles it. */
  limitStart?: Start | null;
  /** Admitted by a shared queue under the shared limits (`LocalRuntime.adopt`): its first start asks them no more. */
  leased?: true;
  /**
   * On a shared limiter: the write of the cooldown its last call's 429 began, until its first try
   * is answered. Its end is told after it (`SessionDriver`): a session submitted then finds it.
   */
  cooling?: Promise<unknown> | undefined;
  /** The call it last left: a failed result carries what its stream had delivered (`ProviderCall.partial`). */
  left?: { partial(): PartialOutput | undefined };
  /** Submitted within another session (`SubmitOptions.parent`), or one that was: its slot's lending (`lending.ts`). */
  lending?: Link | undefined;
}

export function publicState(leaf: SessionStateValue): SessionState {
  return leaf === 'calling' || leaf === 'streaming' || leaf === 'backingOff' || leaf === 'fallingBack'
    ? 'running'
    : leaf;
}

/** What a result needs from a session beyond its final context. */
export type ResultSource = Pick<
  SessionRecord,
  'label' | 'caller' | 'callerTruncated' | 'value' | 'waitingFor' | 'left'
> & {
  readonly work: { readonly kind: SessionWork['kind'] };
};

export function buildResult(
  record: ResultSource,
  context: SessionContext,
  state: FinalState,
  prices?: PriceTable,
): SessionResult | TaskResult<unknown> {
  const endedAt = context.endedAt ?? context.input.createdAt;
  const startedAt = context.startedAt;
  const metadata: { -readonly [K in keyof SessionMetadata]: SessionMetadata[K] } = {
    sessionId: context.input.sessionId,
    requestId: context.input.requestId,
    provider: context.input.provider,
    model: context.input.model,
    priority: context.input.priority,
    state,
    queuedMs: (startedAt ?? endedAt) - context.input.createdAt,
    runMs: startedAt === null ? 0 : endedAt - startedAt,
    totalMs: endedAt - context.input.createdAt,
    attempts: context.attempts,
  };
  if (context.routing !== null) routed(metadata, context, state);
  if (context.usage !== null) {
    metadata.usage = context.usage;
    const price = priceOf(prices, metadata.provider, metadata.model);
    if (price !== undefined) metadata.cost = costOf(price, context.usage);
  }
  if (record.label !== undefined) metadata.label = record.label;
  if (record.caller !== undefined) metadata.caller = record.caller;
  if (record.callerTruncated) metadata.truncated = true;
  if (state === 'done' && context.output !== null) {
    if (record.work.kind === 'task')
      return { ok: true, value: record.value, metadata } as TaskResult<unknown>;
    // Field by field: V8 copies into a literal far more slowly than it builds one.
    const output = context.output;
    const result: { -readonly [K in keyof SessionOutputData]: SessionOutputData[K] } & {
      ok: true;
      metadata: SessionMetadata;
    } = { ok: true, metadata, content: output.content };
    if (output.reasoning !== undefined) result.reasoning = output.reasoning;
    if (output.toolCalls !== undefined) result.toolCalls = output.toolCalls;
    if (output.finishReason !== undefined) {
      result.finishReason = output.finishReason;
      metadata.finishReason = output.finishReason;
    }
    if (output.webSearch !== undefined) result.webSearch = output.webSearch;
    if (output.notes !== undefined) metadata.notes = output.notes;
    return result as SessionResult;
  }
  let error: TroupeErrorData = context.error ?? {
    family: 'runtime',
    code: 'INTERNAL',
    message: `Expected an error for a session that ended ${state}, got none`,
    retryable: false,
  };
  metadata.code = error.code;
  if (state === 'timedOut' && record.waitingFor !== undefined) {
    // Held back by a limit of its provider, or its caller's share: say which (docs/runtime.md, "Limits").
    metadata.waitingFor = record.waitingFor;
    error = { ...error, message: `${error.message}; held back by ${heldBy(record.waitingFor)}` };
  }
  // What a stream had written is kept, unless the provider's safety review stopped it: then the
  // result says that the text its observers were streamed is withdrawn.
  const partial = record.left?.partial();
  if (partial === undefined) return { ok: false, error, metadata };
  return error.code === 'CONTENT_FILTERED'
    ? { ok: false, error, metadata, withdrawn: true }
    : { ok: false, error, metadata, partial };
}

/** What held a session that timed out waiting, in words. */
const heldBy = (limit: WaitingFor) =>
  limit === 'maxRunningPerCaller'
    ? "its caller's share of the sessions running at once (limits.maxRunningPerCaller), taken by its caller's other sessions"
    : `its provider's ${limit} limit`;

/** A session with fallbacks: the target it ended on, and its whole route. */
function routed(
  metadata: { -readonly [K in keyof SessionMetadata]: SessionMetadata[K] },
  context: SessionContext,
  state: FinalState,
): void {
  const targets = context.input.targets as readonly RouteTargetData[];
  const routing = context.routing as RoutingData;
  const last = targets[routing.target] as RouteTargetData;
  metadata.provider = last.provider;
  metadata.model = last.model;
  const outcome = state === 'done' ? 'done' : (context.error?.code ?? 'INTERNAL');
  const endedAt = context.endedAt ?? context.input.createdAt;
  metadata.route = finalRoute(targets, routing, outcome, endedAt, context.startedAt);
}

export function summarize(record: SessionRecord, context: SessionContext | undefined): SessionSummary {
  const summary = inputSummary(record.input, publicState(record.leaf), context?.attempts ?? 0, record.label);
  // After a fallback hop it is on (or waiting for) its current target: that is where it counts.
  // Stryker disable next-line OptionalChaining: routing is set only for an input with targets (initialContext).
  const target = context?.routing == null ? undefined : context.input.targets?.[context.routing.target];
  if (target !== undefined) {
    summary.provider = target.provider;
    summary.model = target.model;
  }
  if (context?.startedAt != null) summary.startedAt = context.startedAt;
  if (context?.endedAt != null) summary.endedAt = context.endedAt;
  if (record.result !== null && !record.result.ok) summary.code = record.result.error.code;
  if (record.waitingFor !== undefined && record.result === null) summary.waitingFor = record.waitingFor;
  if (summary.state === 'queued' && (record.depth ?? 0) > 0) summary.depth = record.depth;
  const owner = ownerIn(record.caller);
  if (owner !== undefined) summary.owner = owner;
  return summary;
}

/** A summary from a session's fixed input: what any instance can say about it. */
export function inputSummary(
  input: SessionInput,
  state: SessionState,
  attempts: number,
  label: string | undefined,
): { -readonly [K in keyof SessionSummary]: SessionSummary[K] } {
  const summary: { -readonly [K in keyof SessionSummary]: SessionSummary[K] } = {
    sessionId: input.sessionId,
    requestId: input.requestId,
    provider: input.provider,
    model: input.model,
    priority: input.priority,
    state,
    createdAt: input.createdAt,
    attempts,
  };
  if (label !== undefined) summary.label = label;
  return summary;
}

/** What an ended session's summary needs beyond its result metadata. */
export interface EndedTimes {
  readonly createdAt: number;
  /** `null` for a session that never started. */
  readonly startedAt: number | null;
  readonly endedAt: number;
}

/** An ended session's summary, from its result metadata and its times. */
export function metadataSummary(
  m: Pick<
    SessionMetadata,
    | 'sessionId'
    | 'requestId'
    | 'provider'
    | 'model'
    | 'priority'
    | 'state'
    | 'attempts'
    | 'label'
    | 'code'
    | 'caller'
  >,
  times: EndedTimes,
): SessionSummary {
  const summary: { -readonly [K in keyof SessionSummary]: SessionSummary[K] } = {
    sessionId: m.sessionId,
    requestId: m.requestId,
    provider: m.provider,
    model: m.model,
    priority: m.priority,
    state: m.state,
    createdAt: times.createdAt,
    attempts: m.attempts,
  };
  if (m.label !== undefined) summary.label = m.label;
  if (times.startedAt !== null) summary.startedAt = times.startedAt;
  summary.endedAt = times.endedAt;
  if (m.code !== undefined) summary.code = m.code;
  const owner = ownerIn(m.caller);
  if (owner !== undefined) summary.owner = owner;
  return summary;
}

/** A summary of a session that ended elsewhere (another instance) at `endedAt`, from its result. */
export function endedSummary(result: SessionResult, endedAt: number): SessionSummary {
  // Another instance's session: only its durations are known, so its times are counted back from its end.
  const m = result.metadata;
  const createdAt = endedAt - m.totalMs;
  const started = m.runMs > 0 || m.attempts > 0;
  return metadataSummary(m, {
    createdAt,
    startedAt: started ? createdAt + m.queuedMs : null,
    endedAt: createdAt + m.totalMs,
  });
}

/** The final context of a session one of whose own actions threw while it handled `event`. */
export function failedInside(
  context: SessionContext,
  event: { readonly type: string; readonly now: number },
  thrown: unknown,
): SessionContext {
  const cause = thrown instanceof Error ? thrown.message : String(thrown);
  return Object.assign({}, context, {
    endedAt: event.now,
    error: {
      family: 'runtime' as const,
      code: 'INTERNAL' as const,
      message: `Expected the session machine to handle "${event.type}", one of its actions threw: ${cause}`,
      retryable: false,
    },
  });
}
