/**
 * Requests waiting for a task's result (`tasks/result`), grouped by task: however many wait on one
 * task, the store is subscribed to once and re-read (for expiry, which emits no change) once per
 * interval. Each waiter had its own subscription and timer before, so a client posting batches of
 * `tasks/result` for one task (100 a request) made the server poll the store once a second per
 * request: 5,000 waiters cost a quarter of a core. Now the timers are at most one per task.
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

export class ResultWaits {
  readonly #groups = new Map<string, Group>();

  constructor(
    private readonly store: TaskStore,
    private readonly pollIntervalMs: number,
  ) {}

  /** Resolves with the record once it is terminal and has its result, or undefined once it is gone. */
  wait(taskId: string, signal: AbortSignal): Promise<TaskRecord | undefined> {
    return new Promise((resolve, reject) => {
      if (signal.aborted) return reject(signal.reason);
      const group = this.#groups.get(taskId) ?? this.#open(taskId);
      const waiter: Waiter = {
        resolve: (record) => {
          signal.removeEventListener('abort', onAbort);
          resolve(record);
        },
        reject: (error) => {
          signal.removeEventListener('abort', onAbort);
          reject(error);
        },
      };
      const onAbort = () => {
        group.waiters.delete(waiter);
        if (group.waiters.size === 0) this.#close(taskId, group);
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
