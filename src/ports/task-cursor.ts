/**
 * What every `TaskStore` shares: `tasks/list`'s pages and cursors. When a record has expired is each
 * store's own (the memory store counts on the steady clock, the Redis store on the shared wall clock).
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { InvalidCursorError, ownedBy, type TaskPage, type TaskRecord } from './task-store.js';

/** A record and its place in its store's one sequence (1, 2, ... in the order created). */
export interface Placed {
  readonly record: TaskRecord;
  readonly seq: number;
}

/** A new key for a store's cursors (32 random bytes): cursors sealed under another key do not open. */
export function newCursorKey(): Buffer {
  return randomBytes(32);
}

const NONCE_BYTES = 12;
const SEQ_BYTES = 8;
const TAG_BYTES = 16;

/**
 * The cursor after place `seq`, its page's last task's, sealed under the store's `key` (AES-256-GCM)
 * for the listing of `owner` (`undefined`: every owner's). It marks a place, not a task, so the
 * listing goes on after it once that task has gone (expired, or dropped to make room), where a
 * cursor naming the task was refused (until 2026-12-05). Sealed, it tells the caller nothing of the
 * store's sequence, which counts every caller's tasks (an audit, 2026-12-05: a plain position did),
 * and the same length at any place; it opens only for the listing it was given to, so another
 * caller's cursor, or one made up or changed, is refused (`openCursor`).
 */
export function sealCursor(key: Uint8Array, owner: string | undefined, seq: number): string {
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, nonce).setAAD(listingOf(owner));
  const place = Buffer.alloc(SEQ_BYTES);
  place.writeBigUInt64BE(BigInt(seq));
  const sealed = Buffer.concat([nonce, cipher.update(place), cipher.final(), cipher.getAuthTag()]);
  return sealed.toString('base64url');
}

/** The place a cursor `sealCursor` gave `owner`'s listing marks; `InvalidCursorError` for any other. */
export function openCursor(key: Uint8Array, owner: string | undefined, cursor: string): number {
  const sealed = Buffer.from(cursor, 'base64url');
  if (sealed.length !== NONCE_BYTES + SEQ_BYTES + TAG_BYTES) throw new InvalidCursorError(cursor);
  const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, NONCE_BYTES))
    .setAAD(listingOf(owner))
    .setAuthTag(sealed.subarray(NONCE_BYTES + SEQ_BYTES));
  try {
    const place = Buffer.concat([
      decipher.update(sealed.subarray(NONCE_BYTES, NONCE_BYTES + SEQ_BYTES)),
      decipher.final(),
    ]);
    return Number(place.readBigUInt64BE());
  } catch {
    throw new InvalidCursorError(cursor); // not sealed under this key for this listing
  }
}

/** Whose listing a cursor is for: one owner's, or every owner's (an admin's). */
// Stryker disable next-line StringLiteral: every owner's listing needs only a name no owner's has, and each owner's starts `owner:`.
const listingOf = (owner: string | undefined) => Buffer.from(owner === undefined ? '*' : `owner:${owner}`);

/**
 * One page of `tasks/list`, both stores': the live records of `owner` (every owner's without one)
 * among `placed(after)`, the store's records after place `after` in sequence order, from the place
 * the cursor marks (the start without one), and the cursor after the page's last when more follow.
 * `key` is the store's cursor key, asked for only when a cursor is opened or sealed; `expiry`, once
 * a page, tells which records have expired as of then (on the store's own clock).
 */
export async function listPage<P extends Placed>(
  options: { readonly owner?: string; readonly cursor?: string; readonly limit: number },
  key: () => Uint8Array | Promise<Uint8Array>,
  expiry: () => (placed: P) => boolean,
  placed: (after: number) => Iterable<P> | AsyncIterable<P>,
): Promise<TaskPage> {
  const { owner, cursor, limit } = options;
  const after = cursor === undefined ? 0 : openCursor(await key(), owner, cursor);
  const gone = expiry();
  const page: P[] = [];
  for await (const next of placed(after)) {
    if (gone(next) || !ownedBy(next.record, owner)) continue;
    if (page.length === limit) {
      const last = page.at(-1);
      const tasks = page.map((p) => p.record);
      // Stryker disable next-line ConditionalExpression,ObjectLiteral: with more to come the page is full, so `last` is there (a limit of 0 lists nothing).
      return last === undefined ? { tasks } : { tasks, nextCursor: sealCursor(await key(), owner, last.seq) };
    }
    page.push(next);
  }
  return { tasks: page.map((p) => p.record) };
}
