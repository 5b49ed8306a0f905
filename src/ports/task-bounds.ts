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
 */

export interface TaskBounds {
  /** Most records held at once. */
  readonly maxTasks: number;
  /** Most records held at once by one owner. */
  readonly maxTasksPerOwner: number;
}

export const DEFAULT_MAX_TASKS = 1000;

/**
 * The bounds from options, with their defaults: 1,000 tasks, a quarter of them per owner (at least
 * one). Throws a `RangeError` naming the option for anything but whole numbers in range.
 */
export function taskBounds(options: {
  readonly maxTasks?: number;
  readonly maxTasksPerOwner?: number;
}): TaskBounds {
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
  return { maxTasks, maxTasksPerOwner };
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
    if (oldest !== undefined && (victim === undefined || oldest.seq < victim.seq)) {
      victim = oldest;
      victimCount = count;
    }
  }
  if (victim === undefined) throw new TaskLimitError('store', bounds.maxTasks);
  return victim.taskId;
}
