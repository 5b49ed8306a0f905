/**
 * What every `TaskStore` shares: when a record has expired, and opaque page cursors.
 */
import { InvalidCursorError, type TaskRecord } from './task-store.js';

export function expired(record: TaskRecord, now: number): boolean {
  return now >= record.createdAt + record.ttlMs;
}

/** An opaque cursor for position `seq`; `tag` keeps one store's cursors from another's. */
export function encodeCursor(tag: string, seq: number): string {
  return Buffer.from(`${tag}${seq}`).toString('base64url');
}

export function decodeCursor(tag: string, cursor: string): number {
  const text = Buffer.from(cursor, 'base64url').toString();
  if (!text.startsWith(tag) || !/^\d+$/.test(text.slice(tag.length))) throw new InvalidCursorError(cursor);
  return Number(text.slice(tag.length));
}
