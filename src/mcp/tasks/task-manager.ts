/**
 * Runs tool calls as MCP tasks. A task is created in the store before its creator hears of it,
 * its tool runs detached from the `tools/call` request (already answered), its status follows the
 * tool's sessions, and `cancel` aborts them. The abort controllers of running calls are local to
 * this process; everything a poller reads is in the `TaskStore`. With a shared store, the instance
 * running a call writes its changes and result there, and `cancel` on any other instance cancels
 * the call's sessions through the runtime (`cancelSession`).
 */
import { runtimeError } from '../../core/errors.js';
import { TaskLimitError, TaskResultSizeError, taskBounds } from '../../ports/task-bounds.js';
import {
  isTerminal,
  type TaskPage,
  type TaskRecord,
  type TaskRefusal,
  type TaskStore,
} from '../../ports/task-store.js';
import { flatUUID } from '../../runtime/ids.js';
import { toolErrorInfo } from '../errors.js';
import type { LiveSessions } from '../live-sessions.js';
import { errorOutcome, type ToolOutcome, toCallToolResult } from '../tool.js';
import { MemoryTaskStore } from './memory-task-store.js';
import { ResultWaits, WaitLimitError } from './result-waits.js';
import { finalStatus, type TaskSession, workingMessage } from './task-status.js';

export interface TaskOptions {
  /** Where records live. @default an in-memory store bounded by `maxTasks` and `maxTasksPerOwner` */
  readonly store?: TaskStore;
  /** Most tasks held by the default store (a given `store` has its own). @default 1000 */
  readonly maxTasks?: number;
  /**
   * Most tasks the default store holds for one caller (`TaskRecord.owner`); past it the caller's
   * own oldest finished task makes room, or the caller is refused. @default a quarter of `maxTasks`
   */
  readonly maxTasksPerOwner?: number;
  /**
   * Most bytes of results (their JSON) the default store keeps: past it, the oldest result of the
   * caller keeping the most makes room. @default 256 MiB
   */
  readonly maxResultBytes?: number;
  /**
   * Most bytes of results the default store keeps for one caller: past it, the caller's own oldest
   * results make room; a result larger than this alone is not kept, and the task fails with
   * `INVALID_REQUEST` saying so. @default a quarter of `maxResultBytes` (64 MiB)
   */
  readonly maxResultBytesPerOwner?: number;
  /**
   * Most `tasks/result` requests waiting at once, all callers together; one more is refused
   * (`WaitLimitError`). @default twice `maxTasks` (each task waited on once, twice while a cut
   * request is noticed): 2000
   */
  readonly maxResultWaits?: number;
  /** Most `tasks/result` requests of one caller waiting at once. @default twice `maxTasksPerOwner`: 500 */
  readonly maxResultWaitsPerOwner?: number;
  /** TTL when the client asks for none, in ms. @default 3600000 (1 hour) */
  readonly defaultTtlMs?: number;
  /** Longest TTL granted, in ms; larger requests are cut to it. @default 86400000 (24 hours) */
  readonly maxTtlMs?: number;
  /** Suggested polling interval, in ms. @default 1000 */
  readonly pollIntervalMs?: number;
  /** Tasks per `tasks/list` page. @default 50 */
  readonly pageSize?: number;
  /** How often expired tasks are dropped (and their calls cancelled), in ms. @default 1000 */
  readonly sweepIntervalMs?: number;
  /** Current time in epoch ms. @default Date.now */
  readonly now?: () => number;
  /** Where a failed store write goes (nobody awaits the task's work). @default ignored */
  readonly onError?: (error: unknown) => void;
  /**
   * Cancels a runtime session wherever it runs: `tasks/cancel` for a task whose call runs on another
   * instance (a shared store) cancels its sessions this way. @default none (the call runs here)
   */
  readonly cancelSession?: (sessionId: string, reason: string) => void;
}

/** Starts the tool call with a signal and a session observer; resolves with its outcome, never rejects. */
export type TaskWork = (
  signal: AbortSignal,
  onSession: (sessionId: string) => void,
  /** A model refused before its session existed (`who` is `provider/model`), in turn with sessions. */
  onRefused: (who: string, code: string) => void,
) => Promise<ToolOutcome>;

export { TaskLimitError, WaitLimitError };

export type CancelOutcome =
  | { readonly kind: 'cancelled'; readonly record: TaskRecord }
  | { readonly kind: 'terminal'; readonly record: TaskRecord }
  | { readonly kind: 'unknown' };

/** The default store's bounds, which a given `store` sets itself. */
const STORE_BOUNDS = ['maxTasks', 'maxTasksPerOwner', 'maxResultBytes', 'maxResultBytesPerOwner'] as const;

/** How long `cancel` waits for the aborted call to report, so the stored result carries its metadata. */
const CANCEL_SETTLE_MS = 2000;

export class TaskManager {
  readonly store: TaskStore;
  readonly pageSize: number;
  readonly #live: LiveSessions;
  readonly #now: () => number;
  readonly #defaultTtlMs: number;
  readonly #maxTtlMs: number;
  readonly #pollIntervalMs: number;
  readonly #running = new Map<string, { controller: AbortController; done: Promise<void> }>();
  readonly #sweep: ReturnType<typeof setInterval>;
  readonly #onError: (error: unknown) => void;
  #sweepFailing = false;
  readonly #cancelSession: ((sessionId: string, reason: string) => void) | undefined;
  readonly #waits: ResultWaits;

  constructor(live: LiveSessions, options: TaskOptions = {}) {
    this.#live = live;
    this.#now = options.now ?? Date.now;
    const bounds = STORE_BOUNDS.filter((name) => options[name] !== undefined);
    if (options.store !== undefined && bounds.length > 0) {
      throw new TypeError(
        `Expected ${STORE_BOUNDS.map((name) => `\`${name}\``).join(', ')} only without \`store\`, got \`store\` and ${bounds.map((name) => `\`${name}\``).join(', ')}: give them to the store itself`,
      );
    }
    this.store =
      options.store ??
      new MemoryTaskStore({
        ...(options.now === undefined ? {} : { now: options.now }),
        ...Object.fromEntries(bounds.map((name) => [name, options[name]])),
      });
    this.#defaultTtlMs = options.defaultTtlMs ?? 3_600_000;
    this.#maxTtlMs = options.maxTtlMs ?? 86_400_000;
    this.#pollIntervalMs = options.pollIntervalMs ?? 1000;
    this.pageSize = options.pageSize ?? 50;
    this.#onError = options.onError ?? (() => {});
    this.#cancelSession = options.cancelSession;
    // Polled with setInterval: 0 or a negative interval polled every millisecond, and a TTL of
    // Infinity kept a task for ever (library audit); past 2^31 - 1 ms Node runs a timer at once.
    for (const name of ['defaultTtlMs', 'maxTtlMs', 'pollIntervalMs', 'sweepIntervalMs'] as const) {
      const value = options[name];
      if (value !== undefined && !(Number.isFinite(value) && value >= 1 && value <= 2_147_483_647))
        throw new RangeError(
          `Expected \`${name}\` to be a number of ms from 1 to 2147483647, got ${String(value)}`,
        );
    }
    for (const name of ['maxResultWaits', 'maxResultWaitsPerOwner'] as const) {
      const value = options[name];
      if (value !== undefined && (!Number.isSafeInteger(value) || value < 1))
        throw new RangeError(`Expected \`${name}\` to be a positive integer, got ${String(value)}`);
    }
    // A given store keeps its own bounds: the waits follow the default ones then.
    const tasks = taskBounds(options.store === undefined ? options : {});
    this.#waits = new ResultWaits(this.store, this.#pollIntervalMs, {
      maxWaits: options.maxResultWaits ?? 2 * tasks.maxTasks,
      maxWaitsPerOwner: options.maxResultWaitsPerOwner ?? 2 * tasks.maxTasksPerOwner,
    });
    this.#sweep = setInterval(() => void this.sweep(), options.sweepIntervalMs ?? 1000);
    this.#sweep.unref();
  }

  /**
   * Creates the task and starts its work; resolves once the record is stored, rejects with
   * `TaskLimitError` when the store refuses it (its owner's bound, or the store's).
   */
  async start(init: {
    readonly toolName: string;
    readonly ttlMs?: number;
    readonly owner?: string;
    readonly work: TaskWork;
  }): Promise<TaskRecord> {
    const now = this.#now();
    const record: TaskRecord = {
      taskId: flatUUID(),
      status: 'working',
      statusMessage: 'starting',
      createdAt: now,
      lastUpdatedAt: now,
      ttlMs: this.grantedTtl(init.ttlMs),
      pollIntervalMs: this.#pollIntervalMs,
      toolName: init.toolName,
      sessionIds: [],
      ...(init.owner === undefined ? {} : { owner: init.owner }),
    };
    await this.store.create(record);
    const controller = new AbortController();
    const sessionIds: string[] = [];
    const refused: TaskRefusal[] = [];
    const done = init
      .work(
        controller.signal,
        (sessionId) => {
          sessionIds.push(sessionId);
          this.store
            .update(record.taskId, { sessionIds: [...sessionIds] })
            // Cancelled through another instance before this session was known there.
            .then((now) => now?.status === 'cancelled' && controller.abort('task cancelled by tasks/cancel'))
            .catch(this.#onError);
        },
        (who, code) => {
          // In the record, as the sessions are, so any instance's `tasks/get` says it.
          refused.push({ who, code, at: sessionIds.length });
          this.store.update(record.taskId, { refused: [...refused] }).catch(this.#onError);
        },
      )
      .then((outcome) => this.#finish(record.taskId, outcome))
      .catch(this.#onError)
      .finally(() => this.#running.delete(record.taskId));
    this.#running.set(record.taskId, { controller, done });
    return record;
  }

  /** The record with a status message from its live sessions while it works. */
  async get(taskId: string): Promise<TaskRecord | undefined> {
    const record = await this.store.get(taskId);
    return record === undefined ? undefined : this.#withLive(record);
  }

  /** A page of tasks, each working one's status message from its live sessions as `get` gives it. */
  async list(owner: string | undefined, cursor: string | undefined): Promise<TaskPage> {
    const page = await this.store.list({
      limit: this.pageSize,
      ...(owner === undefined ? {} : { owner }),
      ...(cursor === undefined ? {} : { cursor }),
    });
    return { ...page, tasks: page.tasks.map((record) => this.#withLive(record)) };
  }

  #withLive(record: TaskRecord): TaskRecord {
    if (isTerminal(record.status)) return record;
    const session = (id: string): TaskSession => ({
      live: this.#live.get(id),
      summary: this.#live.summary(id),
    });
    const message = workingMessage(
      record.refused === undefined ? record.sessionIds.map(session) : inTurn(record, session),
    );
    return message === undefined ? record : { ...record, statusMessage: message };
  }

  /**
   * Resolves with the record once it is terminal and has its result, or undefined once it is gone;
   * rejects with `WaitLimitError` when the waits held (all, or `owner`'s) are at their bound.
   */
  waitForResult(taskId: string, signal: AbortSignal, owner?: string): Promise<TaskRecord | undefined> {
    return this.#waits.wait(taskId, signal, owner);
  }

  /** Marks the task cancelled, then aborts its call and lets it report; `by` says what cancelled it. */
  async cancel(taskId: string, by = 'tasks/cancel'): Promise<CancelOutcome> {
    const before = await this.store.get(taskId);
    if (before === undefined) return { kind: 'unknown' };
    if (isTerminal(before.status)) return { kind: 'terminal', record: before };
    const record = await this.store.update(taskId, {
      status: 'cancelled',
      statusMessage: `cancelled by ${by}`,
    });
    if (record === undefined) return { kind: 'unknown' };
    // It ended between the read and the write (a terminal status never changes): not cancelled.
    if (record.status !== 'cancelled') return { kind: 'terminal', record };
    const running = this.#running.get(taskId);
    if (running !== undefined) {
      running.controller.abort(`task cancelled by ${by}`);
      await Promise.race([running.done, delay(CANCEL_SETTLE_MS)]);
    } else if (this.#cancelSession !== undefined && record.sessionIds.length > 0) {
      // The call runs on another instance: cancel its sessions there and let that instance report.
      for (const id of record.sessionIds) this.#cancelSession(id, `task cancelled by ${by}`);
      await this.waitForResult(taskId, AbortSignal.timeout(CANCEL_SETTLE_MS)).catch(() => undefined);
    }
    const after = await this.store.get(taskId);
    if (after !== undefined && after.result === undefined) {
      // Not running here (another instance, or it already ended): the cancelled result stands alone.
      const error = runtimeError('CANCELLED', `The task was cancelled by ${by}`);
      await this.store.update(taskId, {
        result: { ...toCallToolResult(errorOutcome(toolErrorInfo(error.toData()))) },
      });
    }
    return { kind: 'cancelled', record: (await this.store.get(taskId)) ?? record };
  }

  /**
   * Cancels every unfinished task of `owner`: an MCP session's (`mcp:<id>`) once it ended, since no
   * other caller can read them and they would run on to their ttl for nobody.
   */
  async cancelAllOf(owner: string): Promise<void> {
    const ids: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.list(owner, cursor);
      for (const task of page.tasks) if (!isTerminal(task.status)) ids.push(task.taskId);
      cursor = page.nextCursor;
    } while (cursor !== undefined);
    await Promise.all(ids.map((id) => this.cancel(id, 'the end of its MCP session')));
  }

  /**
   * Drops expired tasks and cancels the calls behind them: nobody can read their results. A store
   * that fails every sweep (Redis away) is said once, until a sweep succeeds, not every second.
   */
  async sweep(): Promise<void> {
    try {
      for (const taskId of await this.store.sweep()) {
        this.#running.get(taskId)?.controller.abort('task expired (ttl)');
      }
      this.#sweepFailing = false;
    } catch (error) {
      if (!this.#sweepFailing) {
        const why = error instanceof Error ? error.message : String(error);
        this.#onError(
          new Error(
            `Expected the store to sweep its expired tasks, got ${why}; said once until a sweep succeeds`,
            {
              cause: error,
            },
          ),
        );
      }
      this.#sweepFailing = true;
    }
  }

  /**
   * The TTL a task gets: the client's (a hint the server may override), at least two poll intervals
   * and at most `maxTtlMs`; none, or one of 0 or less, gets the default. A `ttl` of 0 or -1 was
   * granted as 1 ms, so the task expired and its call was cancelled at the next sweep, before anyone
   * could poll it; until 2026-12-07 so did one of 1 to 999 ms (a `ttl: 60` meant as seconds), below
   * the interval the client is told to poll at.
   */
  grantedTtl(requestedMs: number | undefined): number {
    const asked =
      requestedMs === undefined || !Number.isFinite(requestedMs) || requestedMs < 1
        ? this.#defaultTtlMs
        : Math.max(requestedMs, 2 * this.#pollIntervalMs);
    return Math.max(1, Math.min(Math.floor(asked), this.#maxTtlMs));
  }

  /** Stops the sweep and cancels every running task's call. */
  close(): void {
    clearInterval(this.#sweep);
    for (const { controller } of this.#running.values()) controller.abort('server closing');
  }

  async #finish(taskId: string, outcome: ToolOutcome): Promise<void> {
    const { status, statusMessage } = finalStatus(outcome);
    try {
      await this.store.update(taskId, { status, statusMessage, result: { ...toCallToolResult(outcome) } });
    } catch (error) {
      if (!(error instanceof TaskResultSizeError)) throw error;
      await this.#refuseResult(taskId, outcome, error);
    }
  }

  /**
   * A result too large to keep at all: the task fails saying so, rather than holding the store's
   * memory. The error keeps the session's metadata (what the call did and cost) where that fits the
   * caller's share, and is bare where not, so a task always ends and its waiters hear of it.
   */
  async #refuseResult(taskId: string, outcome: ToolOutcome, error: TaskResultSizeError): Promise<void> {
    const refused = runtimeError(
      'INVALID_REQUEST',
      `${error.message}: the answer was not kept; ask for a shorter one (max_tokens) or call the tool without a task`,
    );
    const info = toolErrorInfo(refused.toData());
    const { session } = outcome.structured;
    const results = [
      ...(session === undefined ? [] : [toCallToolResult(errorOutcome(info, { session }))]),
      toCallToolResult(errorOutcome(info)),
      { content: [], isError: true },
    ];
    for (const [i, result] of results.entries()) {
      try {
        await this.store.update(taskId, {
          status: 'failed',
          statusMessage: refused.message,
          result: { ...result },
        });
        return;
      } catch (again) {
        if (!(again instanceof TaskResultSizeError) || i === results.length - 1) throw again;
      }
    }
  }
}

/** The task's sessions and refusals in the order the models were submitted (each refusal at its `at`). */
function inTurn(record: TaskRecord, session: (id: string) => TaskSession): TaskSession[] {
  const refused = record.refused ?? [];
  const parts: TaskSession[] = [];
  let next = 0;
  for (const [i, id] of record.sessionIds.entries()) {
    for (; next < refused.length && (refused[next] as TaskRefusal).at <= i; next++)
      parts.push({ refused: refused[next] as TaskRefusal });
    parts.push(session(id));
  }
  for (const refusal of refused.slice(next)) parts.push({ refused: refusal });
  return parts;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
