/**
 * How many MCP tasks a store holds, and which one makes room for a new one: the one policy every
 * `TaskStore` follows. The in-memory store runs `makeRoom` itself; the Redis store cannot (its
 * check and eviction run atomically in a Lua script), so its script states the same two steps, in
 * the same order, numbered as here, and both stores run the same contract tests.
 *
 * 1. Per owner: a record with an `owner` counts against that owner's `maxTasksPerOwner`. An owner
 *    at its bound makes room with its own oldest finished task; with none finished, it (only) is
 *    refused.
 * 2. Whole store: at `maxTasks`, the victim is a finished task of the largest holder that has one
 *    (the holder with the most tasks, finished or not), its oldest; on a tie, the oldest of the
 *    tied holders' finished tasks. With none finished anywhere, the store is full.
 *
 * Records without an owner (the one client of a stdio process, or the program that embeds the
 * `TaskManager` and starts tasks without one) are exempt from step 1, having no other caller to
 * share with, and are one holder in step 2.
 *
 * The default share is a quarter of `maxTasks`: one runaway caller holds at most a quarter of the
 * store, and up to four callers at their shares never fill it, so none of them meets step 2.
 *
 * Results are bounded by their bytes the same way, when one is kept (`resultVictim`): only finished
 * tasks hold a result, so room can always be made, except for a result larger than its holder may
 * keep at all, which `checkResultSize` refuses and the task manager replaces with an error.
 *
 * 1. Per owner: a result whose owner would hold more than `maxResultBytesPerOwner` of results makes
 *    room with that owner's oldest kept results.
 * 2. Whole store: past `maxResultBytes`, the oldest kept result of the holder keeping the most
 *    bytes goes; on a tie, the oldest of the tied holders' oldest results.
 */
import { jsonBytes } from '../core/json-bytes.js';
import type { TaskRecord } from './task-store.js';

export interface TaskBounds {
  /** Most records held at once. */
  readonly maxTasks: number;
  /** Most records held at once by one owner. */
  readonly maxTasksPerOwner: number;
  /** Most bytes of results (their JSON, UTF-8) kept at once. */
  readonly maxResultBytes: number;
  /** Most bytes of results kept at once for one owner. */
  readonly maxResultBytesPerOwner: number;
}

export const DEFAULT_MAX_TASKS = 1000;
/**
 * 256 MiB: a quarter of it per owner (64 MiB) keeps dozens of the longest answers a model's output
 * limit allows (a result carries the text twice, in `content` and `structuredContent`).
 */
export const DEFAULT_MAX_RESULT_BYTES = 256 * 1024 * 1024;

/** The options the bounds are read from, as the stores and the task manager take them. */
export interface TaskBoundOptions {
  readonly maxTasks?: number;
  readonly maxTasksPerOwner?: number;
  readonly maxResultBytes?: number;
  readonly maxResultBytesPerOwner?: number;
}

/**
 * The bounds from options, with their defaults: 1,000 tasks and 256 MiB of results, a quarter of
 * each per owner (at least one). Throws a `RangeError` naming the option for anything but whole
 * numbers in range.
 */
export function taskBounds(options: TaskBoundOptions): TaskBounds {
  const maxTasks = options.maxTasks ?? DEFAULT_MAX_TASKS;
  if (!Number.isSafeInteger(maxTasks) || maxTasks < 1) {
    throw new RangeError(`Expected \`maxTasks\` to be a positive integer, got ${String(maxTasks)}`);
  }
  const maxTasksPerOwner = options.maxTasksPerOwner ?? Math.max(1, Math.floor(maxTasks / 4));
  if (!Number.isSafeInteger(maxTasksPerOwner) || maxTasksPerOwner < 1 || maxTasksPerOwner > maxTasks) {
    throw new RangeError(
      `Expected \`maxTasksPerOwner\` to be an integer from 1 to \`maxTasks\` (${maxTasks}), got ${String(maxTasksPerOwner)}`,
    );
  }
  const maxResultBytes = options.maxResultBytes ?? DEFAULT_MAX_RESULT_BYTES;
  if (!Number.isSafeInteger(maxResultBytes) || maxResultBytes < 1) {
    throw new RangeError(
      `Expected \`maxResultBytes\` to be a positive integer, got ${String(maxResultBytes)}`,
    );
  }
  const maxResultBytesPerOwner =
    options.maxResultBytesPerOwner ?? Math.max(1, Math.floor(maxResultBytes / 4));
  if (
    !Number.isSafeInteger(maxResultBytesPerOwner) ||
    maxResultBytesPerOwner < 1 ||
    maxResultBytesPerOwner > maxResultBytes
  ) {
    throw new RangeError(
      `Expected \`maxResultBytesPerOwner\` to be an integer from 1 to \`maxResultBytes\` (${maxResultBytes}), got ${String(maxResultBytesPerOwner)}`,
    );
  }
  return { maxTasks, maxTasksPerOwner, maxResultBytes, maxResultBytesPerOwner };
}

/** A refused task: its owner holds `maxTasksPerOwner` unfinished tasks, or the store `maxTasks`. */
export class TaskLimitError extends Error {
  readonly bound: 'owner' | 'store';
  readonly limit: number;

  constructor(bound: 'owner' | 'store', limit: number) {
    super(
      bound === 'owner'
        ? `Expected at most ${limit} tasks held by one caller, got ${limit} unfinished: wait for one to finish or cancel one`
        : `Expected at most ${limit} tasks held by the server, got ${limit} unfinished: wait for one to finish or cancel one`,
    );
    this.name = 'TaskLimitError';
    this.bound = bound;
    this.limit = limit;
  }
}

/** The holder a record counts against: its owner, or `''` for every record without one. */
export function holderOf(owner: string | undefined): string {
  // Stryker disable next-line StringLiteral: any name no owner has would do; the Redis test reads the key as ''.
  return owner ?? '';
}

/** A finished task that may make room. */
export interface FinishedTask {
  readonly taskId: string;
  /** Creation order: lower is older. */
  readonly seq: number;
}

/**
 * What `makeRoom` reads of a store: its live records grouped by holder (`holderOf`). The Redis
 * store's script reads the same four things: `ZCARD index`, `ZSCORE holders`, the first of
 * `done:<holder>`, and `ZREVRANGE holders`.
 */
export interface TaskLedger {
  /** Records held in all. */
  size(): number;
  /** Records held by `holder`. */
  count(holder: string): number;
  /** `holder`'s oldest finished record. */
  oldestFinished(holder: string): FinishedTask | undefined;
  /** Every holder with how many records it holds, most first. */
  holders(): Iterable<readonly [holder: string, count: number]>;
}

/**
 * Which record to drop before storing a new record of `owner`: `undefined` when it fits as things
 * are. Throws `TaskLimitError` when nothing may go.
 */
export function makeRoom(
  ledger: TaskLedger,
  owner: string | undefined,
  bounds: TaskBounds,
): string | undefined {
  // 1. Per owner: the owner's oldest finished task makes room; none finished: refused.
  // Stryker disable next-line ConditionalExpression: without an owner, `count` of no holder is 0 in the memory store; the check says the exemption.
  if (owner !== undefined && ledger.count(owner) >= bounds.maxTasksPerOwner) {
    const own = ledger.oldestFinished(owner);
    if (own === undefined) throw new TaskLimitError('owner', bounds.maxTasksPerOwner);
    return own.taskId;
  }
  // 2. Whole store: the oldest finished task of the largest holder that has one.
  if (ledger.size() < bounds.maxTasks) return undefined;
  let victim: FinishedTask | undefined;
  let victimCount = 0;
  for (const [holder, count] of ledger.holders()) {
    if (count < victimCount) break;
    const oldest = ledger.oldestFinished(holder);
    // Stryker disable next-line EqualityOperator: sequences are distinct.
    if (oldest !== undefined && (victim === undefined || oldest.seq < victim.seq)) {
      victim = oldest;
      victimCount = count;
    }
  }
  if (victim === undefined) throw new TaskLimitError('store', bounds.maxTasks);
  return victim.taskId;
}

/** The bytes a result is kept as: its JSON's, in UTF-8. */
export function resultBytes(result: unknown): number {
  return jsonBytes(result);
}

/** A result larger than its holder may keep at all: not kept, and nothing dropped for it. */
export class TaskResultSizeError extends Error {
  readonly bytes: number;
  readonly limit: number;
  readonly option: 'maxResultBytesPerOwner' | 'maxResultBytes';

  constructor(bytes: number, limit: number, option: 'maxResultBytesPerOwner' | 'maxResultBytes') {
    super(`Expected a task result of at most ${limit} bytes (${option}), got ${bytes} bytes`);
    this.name = 'TaskResultSizeError';
    this.bytes = bytes;
    this.limit = limit;
    this.option = option;
  }
}

/** Throws `TaskResultSizeError` for a result of `bytes` that `owner` may not keep, whatever goes. */
export function checkResultSize(owner: string | undefined, bytes: number, bounds: TaskBounds): void {
  if (owner !== undefined && bytes > bounds.maxResultBytesPerOwner) {
    throw new TaskResultSizeError(bytes, bounds.maxResultBytesPerOwner, 'maxResultBytesPerOwner');
  }
  if (bytes > bounds.maxResultBytes)
    throw new TaskResultSizeError(bytes, bounds.maxResultBytes, 'maxResultBytes');
}

/**
 * The bytes a change from `before` to `after` has a store keep: its result's, when the change sets
 * it (a result is set once), else 0. Throws `TaskResultSizeError` for one `after`'s owner may not
 * keep (`checkResultSize`), before the store changes anything.
 */
export function newResultBytes(before: TaskRecord, after: TaskRecord, bounds: TaskBounds): number {
  if (before.result !== undefined) return 0;
  // Stryker disable next-line ConditionalExpression: no result measures 0 bytes and fits any bound.
  if (after.result === undefined) return 0;
  const bytes = resultBytes(after.result);
  checkResultSize(after.owner, bytes, bounds);
  return bytes;
}

/**
 * What `resultVictim` reads of a store: the results it keeps, by holder. The Redis store's script
 * reads the same: `GET bytesTotal`, `ZSCORE bytes`, the first of `kept:<holder>`, and the holders
 * tied at the top of `bytes`.
 */
export interface ResultLedger {
  /** Bytes of results kept in all. */
  totalBytes(): number;
  /** Bytes of results kept for `holder`. */
  bytes(holder: string): number;
  /** `holder`'s oldest record with a result. */
  oldestKept(holder: string): FinishedTask | undefined;
  /** The holders keeping the most bytes (all of them on a tie); none when nothing is kept. */
  largestHolders(): Iterable<string>;
}

/**
 * The next record to drop before a result of `bytes` is kept for `owner` (checked by
 * `checkResultSize` first): `undefined` once it fits. A store drops it and asks again.
 */
export function resultVictim(
  ledger: ResultLedger,
  owner: string | undefined,
  bytes: number,
  bounds: TaskBounds,
): string | undefined {
  // 1. Per owner: the owner's oldest kept result.
  if (owner !== undefined && ledger.bytes(owner) + bytes > bounds.maxResultBytesPerOwner) {
    // Stryker disable next-line OptionalChaining: an owner past its share with this result alone was refused by checkResultSize, so it keeps one.
    return ledger.oldestKept(owner)?.taskId;
  }
  // 2. Whole store: the oldest kept result of the holder keeping the most.
  if (ledger.totalBytes() + bytes <= bounds.maxResultBytes) return undefined;
  let victim: FinishedTask | undefined;
  for (const holder of ledger.largestHolders()) {
    const oldest = ledger.oldestKept(holder);
    // Stryker disable next-line ConditionalExpression: a holder keeping bytes keeps a result.
    if (oldest === undefined) continue;
    // Stryker disable next-line EqualityOperator: sequences are distinct.
    if (victim === undefined || oldest.seq < victim.seq) victim = oldest;
  }
  // Stryker disable next-line OptionalChaining: past the whole bound some holder keeps bytes, so a victim is found.
  return victim?.taskId;
}
