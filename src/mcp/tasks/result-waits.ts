/**
 * Requests waiting for a task's result (`tasks/result`), grouped by task: however many wait on one
 * task, the store is subscribed to once and re-read (for expiry, which emits no change) once per
 * interval. Each waiter had its own subscription and timer before, so a client posting batches of
 * `tasks/result` for one task (100 a request) made the server poll the store once a second per
 * request: 5,000 waiters cost a quarter of a core. Now the timers are at most one per task.
 *
 * Each request still waiting holds the SDK's state for it, about 6 KB: a client sending batches of
 * 100 `tasks/result` for its own unfinished task held 10,000 waits in 57 MB from 100 requests, and
 * nothing bounded how many it sent. The waits are bounded now, all together (`maxWaits`) and per
 * caller (`maxWaitsPerOwner`, the task's owner key); one more is refused with `WaitLimitError`.
 */
import { isTerminal, type TaskRecord, type TaskStore } from '../../ports/task-store.js';

interface Waiter {
  readonly resolve: (record: TaskRecord | undefined) => void;
  readonly reject: (error: unknown) => void;
}

interface Group {
  readonly waiters: Set<Waiter>;
  readonly stop: () => void;
}

/** The record once it is terminal with its result, or gone (`undefined`): either ends the wait. */
function settled(record: TaskRecord | undefined): boolean {
  return record === undefined || (isTerminal(record.status) && record.result !== undefined);
}

/** How many waits may be held: by everyone, and by one owner (a caller's scope key). */
export interface WaitBounds {
  readonly maxWaits: number;
  readonly maxWaitsPerOwner: number;
}

/** A `tasks/result` refused: the server, or its caller, holds as many waits as it may. */
export class WaitLimitError extends Error {
  constructor(
    readonly limit: number,
    /** The caller whose share is full; none when it is the server's bound. */
    readonly owner?: string,
  ) {
    super(
      `Expected at most ${limit} tasks/result requests waiting ${owner === undefined ? 'on the server' : `for caller \`${owner}\``} at once, got one more: wait on each task once, or poll tasks/get until it ends`,
    );
    this.name = 'WaitLimitError';
  }
}

export class ResultWaits {
  readonly #groups = new Map<string, Group>();
  readonly #byOwner = new Map<string, number>();
  #held = 0;

  constructor(
    private readonly store: TaskStore,
    private readonly pollIntervalMs: number,
    private readonly bounds: WaitBounds = {
      maxWaits: Number.POSITIVE_INFINITY,
      maxWaitsPerOwner: Number.POSITIVE_INFINITY,
    },
  ) {}

  /**
   * Resolves with the record once it is terminal and has its result, or undefined once it is gone.
   * Rejects with `WaitLimitError` at once when the waits held, all or `owner`'s, are at their bound.
   */
  wait(taskId: string, signal: AbortSignal, owner?: string): Promise<TaskRecord | undefined> {
    return new Promise((resolve, reject) => {
      if (signal.aborted) return reject(signal.reason);
      if (this.#held >= this.bounds.maxWaits) return reject(new WaitLimitError(this.bounds.maxWaits));
      if (owner !== undefined && (this.#byOwner.get(owner) ?? 0) >= this.bounds.maxWaitsPerOwner)
        return reject(new WaitLimitError(this.bounds.maxWaitsPerOwner, owner));
      this.#take(owner);
      const group = this.#groups.get(taskId) ?? this.#open(taskId);
      const waiter: Waiter = {
        resolve: (record) => {
          signal.removeEventListener('abort', onAbort);
          this.#give(owner);
          resolve(record);
        },
        reject: (error) => {
          signal.removeEventListener('abort', onAbort);
          this.#give(owner);
          reject(error);
        },
      };
      const onAbort = () => {
        group.waiters.delete(waiter);
        if (group.waiters.size === 0) this.#close(taskId, group);
        this.#give(owner);
        reject(signal.reason);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      group.waiters.add(waiter);
      // The result may be there already: one read per request that starts waiting.
      this.#check(taskId, group);
    });
  }

  /** Tasks with someone waiting. */
  get tasks(): number {
    return this.#groups.size;
  }

  /** Waits held now. */
  get held(): number {
    return this.#held;
  }

  #take(owner: string | undefined): void {
    this.#held += 1;
    if (owner !== undefined) this.#byOwner.set(owner, (this.#byOwner.get(owner) ?? 0) + 1);
  }

  #give(owner: string | undefined): void {
    this.#held -= 1;
    if (owner === undefined) return;
    const left = (this.#byOwner.get(owner) ?? 1) - 1;
    if (left > 0) this.#byOwner.set(owner, left);
    else this.#byOwner.delete(owner);
  }

  #open(taskId: string): Group {
    const unsubscribe = this.store.subscribe((record) => {
      if (record.taskId === taskId && settled(record)) this.#end(taskId, (w) => w.resolve(record));
    });
    const timer = setInterval(() => this.#check(taskId, group), this.pollIntervalMs);
    const group: Group = {
      waiters: new Set(),
      stop: () => {
        unsubscribe();
        clearInterval(timer);
      },
    };
    this.#groups.set(taskId, group);
    return group;
  }

  #check(taskId: string, group: Group): void {
    this.store.get(taskId).then(
      (record) => {
        if (this.#groups.get(taskId) === group && settled(record))
          this.#end(taskId, (w) => w.resolve(record));
      },
      (error: unknown) => {
        if (this.#groups.get(taskId) === group) this.#end(taskId, (w) => w.reject(error));
      },
    );
  }

  #end(taskId: string, each: (waiter: Waiter) => void): void {
    const group = this.#groups.get(taskId);
    if (group === undefined) return;
    this.#close(taskId, group);
    for (const waiter of group.waiters) each(waiter);
  }

  #close(taskId: string, group: Group): void {
    group.stop();
    if (this.#groups.get(taskId) === group) this.#groups.delete(taskId);
  }
}
