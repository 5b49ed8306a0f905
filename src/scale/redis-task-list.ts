/**
 * `RedisTaskStore.list`: one page of live records, oldest first, walking the index (task ids
 * scored by their store-wide sequence) in batches. The cursor names the page's last task, one of
 * the caller's own (`task-cursor.ts`): its position stays inside the store.
 */
import type { Redis } from 'ioredis';
import { decodeCursor, encodeCursor, expired } from '../ports/task-cursor.js';
import { InvalidCursorError, ownedBy, type TaskPage, type TaskRecord } from '../ports/task-store.js';

export interface TaskListKeys {
  readonly redis: Redis;
  readonly index: string;
  recordKey(taskId: string): string;
  now(): number;
}

export async function listTasks(
  keys: TaskListKeys,
  options: { owner?: string; cursor?: string; limit: number },
): Promise<TaskPage> {
  const { redis, index } = keys;
  let after = options.cursor === undefined ? 0 : await positionOf(keys, options.cursor, options.owner);
  const now = keys.now();
  const page: TaskRecord[] = [];
  const batch = Math.max(options.limit + 1, 50);
  for (;;) {
    const ids = await redis.zrangebyscore(index, `(${after}`, '+inf', 'WITHSCORES', 'LIMIT', 0, batch);
    if (ids.length === 0) break;
    const pairs: { id: string; seq: number }[] = [];
    for (let i = 0; i + 1 < ids.length; i += 2) pairs.push({ id: ids[i]!, seq: Number(ids[i + 1]) });
    const raws = await redis.mget(...pairs.map((p) => keys.recordKey(p.id)));
    for (const raw of raws) {
      if (raw === null || raw === undefined) continue;
      const record = JSON.parse(raw) as TaskRecord;
      if (expired(record, now) || !ownedBy(record, options.owner)) continue;
      if (page.length === options.limit) {
        const last = page.at(-1);
        return { tasks: page, ...(last === undefined ? {} : { nextCursor: encodeCursor('r', last.taskId) }) };
      }
      page.push(record);
    }
    after = pairs.at(-1)!.seq;
  }
  return { tasks: page };
}

/** Where the cursor's task stands in the index; refused unless it is a task of `owner` still held. */
async function positionOf(keys: TaskListKeys, cursor: string, owner: string | undefined): Promise<number> {
  const taskId = decodeCursor('r', cursor);
  const [score, raw] = await Promise.all([
    keys.redis.zscore(keys.index, taskId),
    keys.redis.get(keys.recordKey(taskId)),
  ]);
  if (score === null || raw === null || !ownedBy(JSON.parse(raw) as TaskRecord, owner))
    throw new InvalidCursorError(cursor);
  return Number(score);
}
