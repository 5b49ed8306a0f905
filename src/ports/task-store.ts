/**
 * The task store port: where task records live between a `tools/call` that created them and the
 * `tasks/*` requests that read them. Records are plain JSON-able data, and every method is async,
 * so a shared store (Redis, issue 7) can replace the in-memory one and let a task created on one
 * instance be polled from another.
 */
/**
 * The protocol's task status vocabulary (the same five words in both protocol eras). Written out
 * rather than imported from ext-tasks: this port is in troupe's public types, and any ext-tasks
 * type there would pull ext-tasks' own `.d.ts` into a user's program, which do not pass a
 * `skipLibCheck: false` build. `task-wire.ts` checks that the two stay the same.
 */
export type TaskStatus = 'working' | 'input_required' | 'completed' | 'failed' | 'cancelled';

export const TERMINAL_STATUSES: readonly TaskStatus[] = ['completed', 'failed', 'cancelled'];

export function isTerminal(status: TaskStatus): boolean {
  return TERMINAL_STATUSES.includes(status);
}

/** A tool result as stored: the `CallToolResult` the plain call would have returned. */
export type StoredToolResult = Readonly<Record<string, unknown>>;

export interface TaskRecord {
  readonly taskId: string;
  readonly status: TaskStatus;
  readonly statusMessage?: string;
  /** Epoch ms. */
  readonly createdAt: number;
  /** Epoch ms. */
  readonly lastUpdatedAt: number;
  /** Lifetime from `createdAt`, in ms; after it the task and its result are gone. */
  readonly ttlMs: number;
  /** Suggested polling interval, in ms. */
  readonly pollIntervalMs: number;
  readonly toolName: string;
  /**
   * The caller that created it (`Caller.key`: a named token, an MCP session, `anonymous`): scopes
   * `tasks/list` and counts against that caller's share of the store (`task-bounds.ts`). Absent
   * for the one client of a stdio process and for tasks started through the API without one.
   */
  readonly owner?: string;
  /** Runtime sessions the tool started, in order. */
  readonly sessionIds: readonly string[];
  /**
   * Models refused before their session existed (consensus), in order: in the record, so every
   * instance's `tasks/get` says them (until 2026-12-07 only the instance running the task did).
   */
  readonly refused?: readonly TaskRefusal[];
  /** Set once, when the tool's call ends. */
  readonly result?: StoredToolResult;
}

/** A model refused before its session existed: who was asked (`provider/model`), the code, its place. */
export interface TaskRefusal {
  readonly who: string;
  readonly code: string;
  /** How many of the task's `sessionIds` were started before it. */
  readonly at: number;
}

/**
 * What `update` may change. A terminal status never changes; a missing result may still be set;
 * `sessionIds` and `refused` only grow, so a patch shorter than what is held (one overtaken by a
 * later one, written first) leaves it.
 */
export type TaskPatch = Partial<
  Pick<TaskRecord, 'status' | 'statusMessage' | 'sessionIds' | 'refused' | 'result'>
>;

export interface TaskPage {
  readonly tasks: readonly TaskRecord[];
  /** Opaque; absent on the last page. */
  readonly nextCursor?: string;
}

export class InvalidCursorError extends Error {
  constructor(cursor: string) {
    // A cursor marks a place, so one tasks/list gave this caller goes on after its task has gone
    // (`task-cursor.ts`); until 2026-12-05 it named that task, and was refused once it had gone.
    super(
      `Expected a cursor tasks/list returned to this caller, got "${cursor}": a cursor opens only for the caller it was given to, unchanged; list again without a cursor`,
    );
    this.name = 'InvalidCursorError';
  }
}

export interface TaskStore {
  /**
   * Stores a new record, dropping one to make room when a bound is reached; rejects with
   * `TaskLimitError` when nothing may go (both as `task-bounds.ts`'s `makeRoom` says).
   */
  create(record: TaskRecord): Promise<void>;
  /** The record, or undefined when unknown or past its TTL. */
  get(taskId: string): Promise<TaskRecord | undefined>;
  /** Applies the patch (see `TaskPatch`) and returns the record as it now is. */
  update(taskId: string, patch: TaskPatch): Promise<TaskRecord | undefined>;
  /**
   * One page of live records, oldest first; throws `InvalidCursorError` for a foreign cursor.
   * With `owner`, only that owner's records; without, every record (an admin's view). A cursor
   * should tell its owner nothing of other owners' records, and go on after its page's last record
   * once that record has gone (troupe's stores seal the place of that record in their one sequence,
   * `task-cursor.ts`: a plain store-wide position counted everyone's).
   */
  list(options: {
    readonly owner?: string;
    readonly cursor?: string;
    readonly limit: number;
  }): Promise<TaskPage>;
  /**
   * Drops records past their TTL; returns their ids, with those of every record that expired since
   * the last `sweep` and that the store dropped on its own meanwhile (a read that found it expired,
   * a `create` making room): the caller cancels the calls behind them, so none may go unreported.
   */
  sweep(): Promise<readonly string[]>;
  /** Every stored change, as the record after it. Returns the unsubscribe function. */
  subscribe(listener: (record: TaskRecord) => void): () => void;
}

/** Whether `record` belongs in a listing for `owner` (`undefined`: every record). */
export function ownedBy(record: TaskRecord, owner: string | undefined): boolean {
  return owner === undefined || record.owner === owner;
}

/** The record after `patch`: a terminal status is final, and a result is set at most once. */
export function applyPatch(record: TaskRecord, patch: TaskPatch, now: number): TaskRecord {
  const final = isTerminal(record.status);
  const status = final ? record.status : (patch.status ?? record.status);
  const statusMessage = final ? record.statusMessage : (patch.statusMessage ?? record.statusMessage);
  const result = record.result ?? patch.result;
  const sessionIds = longer(patch.sessionIds, record.sessionIds) ?? record.sessionIds;
  const refused = longer(patch.refused, record.refused);
  if (
    status === record.status &&
    statusMessage === record.statusMessage &&
    result === record.result &&
    sessionIds === record.sessionIds &&
    refused === record.refused
  ) {
    return record;
  }
  return {
    ...record,
    status,
    sessionIds,
    lastUpdatedAt: now,
    ...(statusMessage === undefined ? {} : { statusMessage }),
    ...(refused === undefined ? {} : { refused }),
    ...(result === undefined ? {} : { result }),
  };
}

/** The patch's list unless the one held is longer: both only grow (`TaskPatch`). */
function longer<T>(
  patched: readonly T[] | undefined,
  held: readonly T[] | undefined,
): readonly T[] | undefined {
  return patched === undefined || (held !== undefined && held.length > patched.length) ? held : patched;
}
