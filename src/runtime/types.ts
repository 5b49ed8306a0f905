import type { Clock } from '../core/clock.js';
import type { TroupeErrorData } from '../core/errors.js';
import type { ChatProvider, FinishReason, TokenUsage, ToolCall, WebSearchResult } from '../providers/port.js';
import type { Cost } from '../providers/prices.js';
import type { Router, SessionRequest } from '../providers/session-request.js';
import type { RuntimeBackend } from './backend.js';
import type { BreakerView } from './breakers.js';
import type { RuntimeEvent, SessionEvent } from './events.js';
import type { GateOptions } from './gate-options.js';
import type { ProviderLimits, WaitingFor } from './limit-types.js';
import type { ProviderBudget } from './limiter.js';
import type { SharedState } from './ports.js';
import type { MachineOptions } from './session-engine.js';

export type { RuntimeEvent, SessionEvent, SupervisorEvent } from './events.js';
export type { ProviderLimits, RateLimitSettings, WaitingFor } from './limit-types.js';
export type { Router, SessionRequest };

/** The final states of a session. */
export type FinalState = 'done' | 'failed' | 'timedOut' | 'cancelled';
/** Every state a session can be seen in. */
export type SessionState = 'queued' | 'running' | FinalState;

export interface SubmitOptions {
  /** Integer from 0 (lowest) to 9 (highest). @default 5 */
  readonly priority?: number;
  /** Run deadline, from admission to the end of the last attempt, in ms. @default defaults.timeoutMs */
  readonly timeoutMs?: number;
  /** How long the session may wait in the queue, in ms. @default defaults.queueTimeoutMs */
  readonly queueTimeoutMs?: number;
  /**
   * Longest silence of a provider's answer, in ms: a stream's between deltas (and before the
   * first); an answer read whole, between its body's bytes from its headers on (never the wait
   * for the headers, which the run deadline bounds). @default defaults.idleTimeoutMs
   */
  readonly idleTimeoutMs?: number;
  /** Attempts in all, first included, for retryable provider errors. @default defaults.maxAttempts */
  readonly maxAttempts?: number;
  /** Aborting it cancels the session. */
  readonly signal?: AbortSignal;
  /** The caller's id for this request; echoed in metadata. @default the session id */
  readonly requestId?: string;
  /** Caller-supplied metadata, echoed in the result; capped at `limits.callerMetadataBytes`. */
  readonly metadata?: Readonly<Record<string, unknown>>;
  /** A label for observers (e.g. the MCP tool name). */
  readonly label?: string;
  /**
   * The id of a live session of this runtime that waits for this one (e.g. a `run` task, or a
   * `withSession` tool, awaiting a model call): when no global slot is free, this session may run
   * on the parent's (one child at a time per parent, within its provider's limits), so a tool
   * waiting for its model call cannot hold the slot that call needs. An id that names no live
   * session is ignored. On a cluster, for tasks (`run`) within tasks: chats there are counted apart
   * from tasks already. (docs/runtime.md, "A session within a session")
   */
  readonly parent?: string;
}

export interface Limits {
  /** Sessions running at once, across providers. @default 64 */
  readonly maxConcurrent?: number;
  /**
   * Sessions of one caller (`metadata.owner`) running at once, so that one caller's slow calls
   * cannot hold every slot of `maxConcurrent` while the others' wait: a session whose caller runs
   * this many waits, alone, and the queue goes on past it (it keeps its place among its caller's
   * own); sessions without an owner are bounded by `maxConcurrent` alone. On a cluster, per
   * instance, like `maxConcurrent`. @default maxConcurrent (no share: `troupe serve` over HTTP
   * gives each caller three quarters of it; `createHttpApp` with several clients told apart by
   * token refuses a runtime without a share)
   */
  readonly maxRunningPerCaller?: number;
  /** Per provider name; a provider without an entry is bounded only by `maxConcurrent`. */
  readonly perProvider?: Readonly<Record<string, number>>;
  /** Sessions waiting at once; one more is refused with `QUEUE_FULL`. @default 10000 */
  readonly maxQueued?: number;
  /**
   * Sessions of one caller waiting at once, so that one caller cannot fill the queue and shut the
   * others out: a caller is `metadata.owner` (the MCP front sets it to the caller's token name or
   * MCP session); sessions without one count toward `maxQueued` alone. One more of a caller at its
   * share is refused with `QUEUE_FULL`. On a cluster, per instance, like `maxQueued`.
   * @default maxQueued (no share: a runtime does not know how many callers it serves; `troupe serve`
   * gives each caller a quarter of the queue; `createHttpApp` with several clients told apart by
   * token refuses a runtime without a share)
   */
  readonly maxQueuedPerCaller?: number;
  /**
   * Request bytes the sessions waiting in the queue (submitted, not started) may hold together:
   * each chat request counts the UTF-8 length of its JSON, a task 0. A submission past it is
   * refused with `QUEUE_FULL`; one larger than the whole bound is refused even on an empty queue.
   * On a cluster, per instance, like `maxQueued`. @default 268435456 (256 MiB)
   */
  readonly maxQueuedBytes?: number;
  /** Anti-starvation: of every N admissions per provider, one goes to the longest-waiting session. @default 8 */
  readonly fairnessEvery?: number;
  /** Ended-session summaries kept for `status()` and `session(id)`. @default 1000 */
  readonly historySize?: number;
  /** Bytes of JSON for caller metadata before it is cut. @default 4096 */
  readonly callerMetadataBytes?: number;
  /** Limits in each provider's own units, by provider name, and per model (docs/runtime.md, "Limits"). */
  readonly providers?: Readonly<Record<string, ProviderLimits>>;
  /** Completion tokens charged for a request without `max_tokens` (docs/providers.md, "Token estimates"). @default 1024 */
  readonly defaultCompletionTokens?: number;
}

export interface Defaults {
  readonly provider?: string;
  readonly model?: string;
  /** @default 5 */
  readonly priority?: number;
  /** @default 120000 */
  readonly timeoutMs?: number;
  /** @default 60000 */
  readonly queueTimeoutMs?: number;
  /** Longest silence of an answer: see `SubmitOptions.idleTimeoutMs`. @default 30000 */
  readonly idleTimeoutMs?: number;
  /** @default 3 */
  readonly maxAttempts?: number;
  /** First backoff step, in ms; doubled per retry, with full jitter. @default 250 */
  readonly backoffBaseMs?: number;
  /** Longest backoff step, in ms. @default 10000 */
  readonly backoffMaxMs?: number;
}

export interface RuntimeOptions extends MachineOptions, GateOptions {
  /** Chat providers; may be empty for a runtime that only `run()`s tasks. */
  readonly providers: readonly ChatProvider[] | Readonly<Record<string, ChatProvider>>;
  readonly limits?: Limits;
  readonly defaults?: Defaults;
  /**
   * Injected time; XState's `SimulatedClock` works. A cluster `backend` refuses one with `wall()`.
   * @default `steadyClock`; with a `backend`, `systemClock` */
  readonly clock?: Clock;
  /** Random numbers in [0, 1) for retry jitter. @default Math.random */
  readonly random?: () => number;
  /** Overrides how provider and model are chosen (e.g. a model registry). */
  readonly router?: Router;
  /** Where errors nobody else can handle go (a throwing `subscribe` listener). @default process.emitWarning */
  readonly onError?: (error: unknown) => void;
  /**
   * Where rate limits, cooldowns, breakers and budgets live: one `MemorySharedState` given to several
   * runtimes in a process shares them (with a `backend`, the backend's is used). @default the runtime's own
   */
  readonly sharedState?: SharedState;
  /** Where queue, live sessions and events are kept: `redisBackend()` shares them across instances. @default memoryBackend() */
  readonly backend?: RuntimeBackend;
}

export interface UsageTotals extends TokenUsage {}

/** Session metadata: carried by every result. */
/** One target of a session's route (see `SessionMetadata.route`, docs/routing.md). */
export interface RouteHop {
  readonly provider: string;
  readonly model: string;
  /** `done` for the target that answered, else the error code that ended its turn. */
  readonly outcome: string;
  /** Time spent on this target, in ms (0 for one skipped by the context-window check). */
  readonly ms: number;
}

export interface SessionMetadata {
  readonly sessionId: string;
  readonly requestId: string;
  readonly provider: string;
  readonly model: string;
  readonly priority: number;
  readonly state: FinalState;
  readonly queuedMs: number;
  readonly runMs: number;
  readonly totalMs: number;
  readonly attempts: number;
  readonly usage?: UsageTotals;
  /** What the usage cost, in the currency the model's price is in; absent when the model has no price or no usage was reported. */
  readonly cost?: Cost;
  /** Present when the session did not end `done`. */
  readonly code?: string;
  readonly label?: string;
  readonly caller?: Readonly<Record<string, unknown>>;
  /** Present and `true` when caller metadata was cut to fit its cap. */
  readonly truncated?: boolean;
  /** Why the model stopped (`stop`, `length`, `tool_calls`, ...), when the provider said. */
  readonly finishReason?: FinishReason;
  /** What the provider adapter changed in the request (a dropped or adjusted parameter), and why. */
  readonly notes?: readonly string[];
  readonly waitingFor?: WaitingFor /* a session that timed out waiting: the limit that held it */;
  /**
   * Present for a session with fallbacks: every target it called or skipped, in order, with how
   * its turn ended (`done` or an error code) and the time spent on it. `provider` and `model` above
   * are the last entry's. At most `1 + MAX_FALLBACKS` entries.
   */
  readonly route?: readonly RouteHop[];
}

export interface SessionOutput {
  readonly content: string;
  readonly reasoning?: string;
  readonly toolCalls?: readonly ToolCall[];
  readonly finishReason?: FinishReason;
  /** GLM web-search results, as the vendor sent them. */
  readonly webSearch?: readonly WebSearchResult[];
}

/**
 * What a streamed answer had delivered when its session ended without it: the text and reasoning
 * observers were sent (docs/runtime.md, "What a failed stream had written").
 */
export interface PartialOutput {
  readonly content: string;
  readonly reasoning?: string;
}

export type SessionResult =
  | ({ readonly ok: true; readonly metadata: SessionMetadata } & SessionOutput)
  | {
      readonly ok: false;
      readonly error: TroupeErrorData;
      readonly metadata: SessionMetadata;
      /**
       * A streamed session that failed, timed out or was cancelled after its answer began: what
       * it had written. Absent when nothing had arrived, and on `CONTENT_FILTERED`.
       */
      readonly partial?: PartialOutput;
      /** A stream that failed `CONTENT_FILTERED` after it began: its `session.delta` text is withdrawn. */
      readonly withdrawn?: true;
    };

/** What a task function gets: the session's signal and a way to report progress. */
export interface TaskContext {
  /** Aborted when the session ends for any reason: pass it to every I/O the task does. */
  readonly signal: AbortSignal;
  readonly sessionId: string;
  /** The attempt number, from 1. */
  readonly attempt: number;
  /**
   * Reports progress to observers (`session.progress`); it does not reset any deadline. As MCP's
   * progress notification: `progress` and `total` finite numbers, `message` a string, else it throws
   * `INVALID_REQUEST`; a `progress` not above the last one of this attempt is ignored.
   */
  progress(progress: number, total?: number, message?: string): void;
}

export type TaskFunction<T> = (context: TaskContext) => Promise<T>;

export interface RunOptions extends SubmitOptions {
  /** The lane whose limit applies (`limits.perProvider[lane]`); shown as `provider` in metadata. */
  readonly lane: string;
  /** A name for what runs, shown as `model` in metadata. @default the lane */
  readonly name?: string;
  /**
   * Bytes this task holds while it waits (e.g. its arguments' JSON), counted against
   * `limits.maxQueuedBytes` like a chat request's size. @default 0
   */
  readonly bytes?: number;
}

export type TaskResult<T> =
  | { readonly ok: true; readonly value: T; readonly metadata: SessionMetadata }
  | { readonly ok: false; readonly error: TroupeErrorData; readonly metadata: SessionMetadata };

export interface SessionHandle<R = SessionResult> {
  readonly id: string;
  /** Resolves once, with the final result; never rejects. */
  readonly result: Promise<R>;
  /**
   * This session's events, starting from its current state, ending with `session.ended`. A reader
   * that stops early (`break`, `return()`, `throw()`) is let go at once.
   */
  readonly events: AsyncIterable<SessionEvent>;
  /** Cancels the session if it has not ended; returns whether it did. */
  cancel(reason?: string): boolean;
}

export interface SessionSummary {
  readonly sessionId: string;
  readonly requestId: string;
  readonly provider: string;
  readonly model: string;
  readonly priority: number;
  readonly state: SessionState;
  readonly label?: string;
  readonly createdAt: number;
  readonly startedAt?: number;
  readonly endedAt?: number;
  readonly attempts: number;
  readonly code?: string;
  /** While it waits: the provider limit that holds it back (docs/runtime.md, "Limits"). */
  readonly waitingFor?: WaitingFor;
  /** While it waits behind sessions of its own caller: its turn among callers (docs/runtime.md, "Callers take turns"); absent at 0. */
  readonly depth?: number;
  /** The caller it was submitted for (`metadata.owner`), on every instance of a cluster. */
  readonly owner?: string;
}

export interface RuntimeStatus {
  readonly state: 'accepting' | 'draining' | 'stopped';
  readonly queued: number;
  readonly running: number;
  readonly queuedByPriority: Readonly<Record<number, number>>;
  readonly providers: readonly {
    readonly name: string;
    readonly queued: number;
    readonly running: number;
    readonly limit: number | null;
  }[];
  readonly maxConcurrent: number;
  /** `limits.maxRunningPerCaller`: the sessions one caller may have running (on a cluster, at this instance). */
  readonly maxRunningPerCaller: number;
  readonly maxQueued: number;
  /** `limits.maxQueuedPerCaller`: the sessions one caller may have waiting (on a cluster, at this instance). */
  readonly maxQueuedPerCaller: number;
  /** `limits.maxQueuedBytes`: the bound on the request bytes waiting (on a cluster, at this instance). */
  readonly maxQueuedBytes: number;
  /**
   * The request bytes one caller's waiting sessions may hold: the same fraction of `maxQueuedBytes`
   * as `maxQueuedPerCaller` is of `maxQueued` (a caller with none waiting may still send one larger).
   */
  readonly maxQueuedBytesPerCaller: number;
  /** Request bytes the sessions waiting now hold (on a cluster, those submitted at this instance). */
  readonly queuedBytes: number;
  /** What a call that asks none gets (`defaults`, resolved): `troupe/mcp`'s tool descriptions state them. */
  readonly defaults: {
    readonly priority: number;
    readonly timeoutMs: number;
    readonly queueTimeoutMs: number;
  };
  /** Ended sessions, most recent first (see `status({ recent })`). */
  readonly recent: readonly SessionSummary[];
  /** Each provider's circuit breaker as this instance last saw it; present when breakers are on. */
  readonly breakers?: readonly BreakerView[];
  /**
   * What each provider with limits in its own units has left now (requests and tokens per minute,
   * tokens per day, slots; `null` for a unit it has no limit in) and its cooldown state. Present
   * when a provider has such limits; on Redis from a mirror of the shared state, at most about 1 s old.
   */
  readonly limits?: Readonly<Record<string, ProviderBudget>>;
}

import type { RuntimeMetrics } from './counters.js';

export type { RuntimeMetrics };

export interface ShutdownOptions {
  /** How long queued and running sessions may go on before they are cancelled, in ms. @default 10000 */
  readonly deadlineMs?: number;
  /**
   * On a cluster, what becomes at the deadline of the sessions submitted through this instance
   * that have not ended (their callers here get `SHUTTING_DOWN` either way): `'leave'` leaves them
   * to the cluster (queued ones stay queued, running ones here go back to the queue), to be read
   * by id from any instance; `'cancel'` cancels them wherever they are, for callers that cannot
   * read them elsewhere (an MCP server's). Sessions run here for other instances' callers always
   * go back to the queue. One process always cancels. @default 'leave'
   */
  readonly unfinished?: 'leave' | 'cancel';
}

export interface ShutdownReport {
  /** Sessions that ended on their own while draining. */
  readonly finished: number;
  /** Sessions cancelled at the drain deadline, by id. */
  readonly cancelled: readonly string[];
}

export interface Runtime {
  submit(request: SessionRequest, options?: SubmitOptions): SessionHandle;
  /**
   * Runs any function as a session: queued under its lane's limit and priority, with a deadline
   * and a signal. Retries only if `maxAttempts` > 1 (@default 1) and it throws a retryable `TroupeError`.
   */
  run<T>(task: TaskFunction<T>, options: RunOptions): SessionHandle<TaskResult<T>>;
  /**
   * Counts now, and the `recent` newest ended sessions (@default 20); with `owner`, the newest of
   * those whose `metadata.owner` is `owner`, read from that caller's own list in the history (so
   * however many sessions others ended since, within `historySize` and the fair share kept).
   * With `after` (an ended session's id), the `recent` next older than it in that list, for a page
   * after a page: none are read before it, and none are listed when it has left the history (or
   * is not `owner`'s).
   */
  status(options?: {
    readonly recent?: number;
    readonly owner?: string;
    readonly after?: string;
  }): RuntimeStatus;
  /** One session by id: live or from the bounded history. */
  session(id: string): SessionSummary | undefined;
  /** Live sessions (queued and running), at most `limit` (@default 100). */
  sessions(options?: { readonly limit?: number }): SessionSummary[];
  /** Cancels a live session by id; returns whether it did. */
  cancel(id: string, reason?: string): boolean;
  metrics(): RuntimeMetrics;
  /** Every session transition and supervisor change; returns the unsubscribe function. */
  subscribe(listener: (event: RuntimeEvent) => void): () => void;
  shutdown(options?: ShutdownOptions): Promise<ShutdownReport>;
  readonly providers: readonly string[];
  /**
   * Settles when the backend is set up and this instance takes work (Redis: limits applied, the
   * live mirror loaded, the Workers running). Already settled in memory. It rejects only when
   * that setup failed; the same error also goes to `onError`.
   */
  readonly ready: Promise<void>;
}
