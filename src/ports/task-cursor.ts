/**
 * What every `TaskStore` shares: when a record has expired, and opaque page cursors.
 */
import { InvalidCursorError, type TaskRecord } from './task-store.js';

export function expired(record: TaskRecord, now: number): boolean {
  return now >= record.createdAt + record.ttlMs;
}

/**
 * An opaque cursor after the task `taskId`, the last one a page listed; `tag` keeps one store's
 * cursors from another's. It names one of the caller's own tasks, where it named a position in
 * the store's one sequence, which told a caller how many tasks every caller had made (an audit,
 * 2026-12-05). A store refuses a cursor whose task is not the caller's or is gone.
 */
export function encodeCursor(tag: string, taskId: string): string {
  return Buffer.from(`${tag}${taskId}`).toString('base64url');
}

export function decodeCursor(tag: string, cursor: string): string {
  const text = Buffer.from(cursor, 'base64url').toString();
  const taskId = text.slice(tag.length);
  if (!text.startsWith(tag) || !/^[\w-]{1,128}$/.test(taskId)) throw new InvalidCursorError(cursor);
  return taskId;
}
