/**
 * The in-memory `TaskStore`: one process, bounded per owner and in all (`task-bounds.ts` says which
 * task makes room, and when a new one is refused). Expiry is checked on every read, so a record
 * past its TTL is never served even between sweeps.
 */

import { steadyClock } from '../../core/clock.js';
import {
  type FinishedTask,
  holderOf,
  makeRoom,
  newResultBytes,
  type ResultLedger,
  resultVictim,
  type TaskBounds,
  type TaskLedger,
  taskBounds,
} from '../../ports/task-bounds.js';
import { listPage, newCursorKey } from '../../ports/task-cursor.js';
import {
  applyPatch,
  isTerminal,
  type TaskPage,
  type TaskPatch,
  type TaskRecord,
  type TaskStore,
} from '../../ports/task-store.js';

export interface MemoryTaskStoreOptions {
  /** Most records held at once. @default 1000 */
  readonly maxTasks?: number;
  /** Most records held at once by one owner. @default a quarter of `maxTasks` */
  readonly maxTasksPerOwner?: number;
  /** Most bytes of results (their JSON) kept at once. @default 256 MiB */
  readonly maxResultBytes?: number;
  /** Most bytes of results kept at once for one owner. @default a quarter of `maxResultBytes` */
  readonly maxResultBytesPerOwner?: number;
  /**
   * Current time in epoch ms, on the records' own clock (`createdAt`, `lastUpdatedAt`); given, it
   * counts their expiry too. @default `Date.now`, with expiry counted on `steadyClock`, so that
   * setting the date forward does not drop records early, nor setting it back keep them late
   */
  readonly now?: () => number;
}

interface Entry {
  record: TaskRecord;
  /** Insertion order, for stable cursors. */
  readonly seq: number;
  /** Its result's bytes (`newResultBytes`), 0 until it has one. */
  bytes: number;
  /** When it expires, on the store's steady clock. */
  readonly dueAt: number;
}

export class MemoryTaskStore implements TaskStore {
  readonly #entries = new Map<string, Entry>();
  /** The same entries by holder (`holderOf`), each in insertion order: what `makeRoom` reads. */
  readonly #byHolder = new Map<string, Map<string, Entry>>();
  readonly #listeners = new Set<(record: TaskRecord) => void>();
  readonly #bounds: TaskBounds;
  readonly #now: () => number;
  /** What expiry counts on. */
  readonly #steady: () => number;
  /** What seals this store's `tasks/list` cursors (`task-cursor.ts`): they open here only. */
  readonly #cursorKey = newCursorKey();
  #seq = 0;
  /** Bytes of results kept, in all and by holder. */
  #resultBytes = 0;
  readonly #bytesByHolder = new Map<string, number>();
  /** Expired ids dropped since the last `sweep` (by it, by a read, by `create`): it reports them. */
  #unreported: string[] = [];

  constructor(options: MemoryTaskStoreOptions = {}) {
    this.#bounds = taskBounds(options);
    this.#now = options.now ?? Date.now;
    this.#steady = options.now ?? steadyClock.now;
  }

  async create(record: TaskRecord): Promise<void> {
    // Room first; what this drops is reported by the next `sweep`.
    this.#dropExpired();
    const victim = makeRoom(this.#ledger, record.owner, this.#bounds);
    // Stryker disable next-line ConditionalExpression: `#delete` finds no record of an unknown id either.
    if (victim !== undefined) this.#delete(victim);
    this.#seq += 1;
    // What is left of its TTL now, counted from here on the steady clock.
    const dueAt = this.#steady() + record.createdAt + record.ttlMs - this.#now();
    const entry: Entry = { record, seq: this.#seq, bytes: 0, dueAt };
    this.#entries.set(record.taskId, entry);
    const holder = holderOf(record.owner);
    const held = this.#byHolder.get(holder) ?? new Map<string, Entry>();
    held.set(record.taskId, entry);
    this.#byHolder.set(holder, held);
    this.#emit(record);
  }

  async get(taskId: string): Promise<TaskRecord | undefined> {
    return this.#live(taskId)?.record;
  }

  async update(taskId: string, patch: TaskPatch): Promise<TaskRecord | undefined> {
    const entry = this.#live(taskId);
    if (entry === undefined) return undefined;
    const next = applyPatch(entry.record, patch, this.#now());
    if (next === entry.record) return next;
    const bytes = newResultBytes(entry.record, next, this.#bounds);
    // Stryker disable next-line ConditionalExpression,EqualityOperator: keeping no result keeps 0 bytes and drops nothing.
    if (bytes > 0) this.#keep(entry, next.owner, bytes);
    entry.record = next;
    this.#emit(next);
    return next;
  }

  async list(options: { owner?: string; cursor?: string; limit: number }): Promise<TaskPage> {
    return listPage<Entry>(
      options,
      () => this.#cursorKey,
      () => {
        const at = this.#steady();
        return (entry) => this.#expired(entry, at);
      },
      (after) => this.#after(after),
    );
  }

  /** Whether `entry` has expired at `at`, on the steady clock. */
  #expired(entry: Entry, at: number): boolean {
    return at >= entry.dueAt;
  }

  /** The entries after place `after`, in insertion order (the map's). */
  *#after(after: number): Iterable<Entry> {
    for (const entry of this.#entries.values()) if (entry.seq > after) yield entry;
  }

  async sweep(): Promise<readonly string[]> {
    this.#dropExpired();
    const gone = this.#unreported;
    this.#unreported = [];
    return gone;
  }

  /** Drops every expired record, keeping its id for the next `sweep`. */
  #dropExpired(): void {
    const now = this.#steady();
    for (const [id, entry] of this.#entries) {
      if (this.#expired(entry, now)) {
        this.#delete(id);
        this.#unreported.push(id);
      }
    }
  }

  subscribe(listener: (record: TaskRecord) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  get size(): number {
    return this.#entries.size;
  }

  #live(taskId: string): Entry | undefined {
    const entry = this.#entries.get(taskId);
    if (entry === undefined) return undefined;
    if (!this.#expired(entry, this.#steady())) return entry;
    this.#delete(taskId);
    this.#unreported.push(taskId);
    return undefined;
  }

  #delete(taskId: string): void {
    const entry = this.#entries.get(taskId);
    // Stryker disable next-line ConditionalExpression: every caller passes a live id (a guard only; its kill until 2026-12-07 was incidental)
    if (entry === undefined) return;
    this.#entries.delete(taskId);
    const holder = holderOf(entry.record.owner);
    const held = this.#byHolder.get(holder);
    // Stryker disable next-line OptionalChaining: every live record is in its holder's map.
    held?.delete(taskId);
    // Stryker disable next-line ConditionalExpression,OptionalChaining: memory only, an empty holder's map holds no record and counts 0 (the Redis test checks its keys for the same).
    if (held?.size === 0) this.#byHolder.delete(holder);
    this.#addBytes(holder, -entry.bytes);
  }

  /** Makes room for `entry`'s new result of `bytes` (`resultVictim`), then counts it. */
  #keep(entry: Entry, owner: string | undefined, bytes: number): void {
    for (;;) {
      const victim = resultVictim(this.#results, owner, bytes, this.#bounds);
      if (victim === undefined) break;
      this.#delete(victim);
    }
    entry.bytes = bytes;
    this.#addBytes(holderOf(owner), bytes);
  }

  #addBytes(holder: string, bytes: number): void {
    this.#resultBytes += bytes;
    const held = (this.#bytesByHolder.get(holder) ?? 0) + bytes;
    // Stryker disable next-line ConditionalExpression,EqualityOperator: memory only, a holder at 0 bytes is never the largest (step 2 runs only with bytes kept).
    if (held > 0) this.#bytesByHolder.set(holder, held);
    else this.#bytesByHolder.delete(holder);
  }

  readonly #results: ResultLedger = {
    totalBytes: () => this.#resultBytes,
    bytes: (holder) => this.#bytesByHolder.get(holder) ?? 0,
    oldestKept: (holder): FinishedTask | undefined => {
      // Stryker disable next-line OptionalChaining,ArrayDeclaration: asked only of a holder keeping bytes, which has records.
      for (const entry of this.#byHolder.get(holder)?.values() ?? []) {
        if (entry.bytes > 0) return { taskId: entry.record.taskId, seq: entry.seq };
      }
      return undefined;
    },
    largestHolders: () => {
      const most = Math.max(0, ...this.#bytesByHolder.values());
      return [...this.#bytesByHolder].filter(([, bytes]) => bytes === most).map(([holder]) => holder);
    },
  };

  readonly #ledger: TaskLedger = {
    size: () => this.#entries.size,
    count: (holder) => this.#byHolder.get(holder)?.size ?? 0,
    oldestFinished: (holder): FinishedTask | undefined => {
      // Stryker disable next-line OptionalChaining,ArrayDeclaration: asked only of a holder with records.
      for (const entry of this.#byHolder.get(holder)?.values() ?? []) {
        if (isTerminal(entry.record.status)) return { taskId: entry.record.taskId, seq: entry.seq };
      }
      return undefined;
    },
    holders: () =>
      [...this.#byHolder].map(([holder, held]) => [holder, held.size] as const).sort((a, b) => b[1] - a[1]),
  };

  #emit(record: TaskRecord): void {
    for (const listener of this.#listeners) listener(record);
  }
}
