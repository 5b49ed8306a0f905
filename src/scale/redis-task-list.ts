/**
 * `RedisTaskStore.list`: one page of live records, oldest first (`listPage`, as in memory), walking
 * the index (task ids scored by their store-wide sequence) in batches. The cursor marks a place in
 * that sequence, sealed under the store's cursor key (`task-cursor.ts`), which every instance of the
 * cluster reads from `cursorKey`: the first to seal or open a cursor sets it.
 */
import type { Redis } from 'ioredis';
import { listPage, newCursorKey, type Placed } from '../ports/task-cursor.js';
import type { TaskPage, TaskRecord } from '../ports/task-store.js';

export interface TaskListKeys {
  readonly redis: Redis;
  readonly index: string;
  /** Where the store's cursor key is kept. */
  readonly cursorKey: string;
  recordKey(taskId: string): string;
  now(): number;
}

/** The cursor key: the one kept, or `ARGV[1]` kept now if none is. */
const CURSOR_KEY = `
local key = redis.call('GET', KEYS[1])
if key then return key end
redis.call('SET', KEYS[1], ARGV[1])
return ARGV[1]`;

/**
 * Whether `record` has expired at `now`, on the wall clock every instance shares (its `createdAt`'s):
 * Redis keeps a record a grace past this, for a read in flight.
 */
export function expired(record: TaskRecord, now: number): boolean {
  return now >= record.createdAt + record.ttlMs;
}

export function listTasks(
  keys: TaskListKeys,
  options: { owner?: string; cursor?: string; limit: number },
): Promise<TaskPage> {
  // Read once a page, and only for a page that opens or seals a cursor.
  let read: Promise<Buffer> | undefined;
  const key = () =>
    (read ??= keys.redis
      .eval(CURSOR_KEY, 1, keys.cursorKey, newCursorKey().toString('hex'))
      .then((hex) => Buffer.from(String(hex), 'hex')));
  const expiry = () => {
    const at = keys.now();
    return (next: Placed) => expired(next.record, at);
  };
  return listPage(options, key, expiry, (after) => placed(keys, after, Math.max(options.limit + 1, 50)));
}

/** The records after place `after`, in sequence order, read `batch` at a time. */
async function* placed(keys: TaskListKeys, after: number, batch: number): AsyncIterable<Placed> {
  const { redis, index } = keys;
  for (let from = after; ; ) {
    const ids = await redis.zrangebyscore(index, `(${from}`, '+inf', 'WITHSCORES', 'LIMIT', 0, batch);
    if (ids.length === 0) return;
    const pairs: { id: string; seq: number }[] = [];
    for (let i = 0; i + 1 < ids.length; i += 2) pairs.push({ id: ids[i]!, seq: Number(ids[i + 1]) });
    const raws = await redis.mget(...pairs.map((p) => keys.recordKey(p.id)));
    for (const [i, raw] of raws.entries()) {
      if (raw !== null && raw !== undefined)
        yield { record: JSON.parse(raw) as TaskRecord, seq: pairs[i]!.seq };
    }
    from = pairs.at(-1)!.seq;
  }
}
