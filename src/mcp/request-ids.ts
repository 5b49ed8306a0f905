/**
 * A JSON-RPC request id as troupe keeps it past the request: in a session's metadata (`requestId`,
 * kept with the ended-session history, 1,000 of them) and in the aborts remembered for calls that
 * have not started (`call-registry.ts`, 1,000 for 30 s). A client picks its ids, and a string id may
 * fill a whole 4 MiB body: before 2026-12-03, 140 chat calls with 3 MB ids took `troupe serve` from
 * 94 MB to 700 MB (the history kept each), and 150 closed batches with a 3.9 MB id each took it to
 * 930 MB (the remembered aborts). An id up to `MAX_REQUEST_ID_LENGTH` characters is kept as it is;
 * a longer one as its first `MAX_REQUEST_ID_LENGTH` characters and its length, a copy of its own
 * (a slice of a long string may keep the whole string alive).
 */
import { Buffer } from 'node:buffer';
import { createHash } from 'node:crypto';

/** Longest request id kept whole. */
export const MAX_REQUEST_ID_LENGTH = 128;

export function keptRequestId(id: string | number): string {
  return keptText(String(id), MAX_REQUEST_ID_LENGTH);
}

/**
 * A client's text as kept past its request: whole up to `max` characters, else its first `max` and
 * its length (`… (N characters)`), a string of its own (a cancellation's reason, a request id).
 */
export function keptText(text: string, max: number): string {
  if (text.length <= max) return text;
  // Through bytes: a string of its own, not a view of the client's text.
  const head = Buffer.from(text.slice(0, max), 'utf16le').toString('utf16le');
  return `${head}… (${text.length} characters)`;
}

/**
 * A request's key within `scope` (an MCP session, a caller): its id, or for an id longer than
 * `MAX_REQUEST_ID_LENGTH` its length and a SHA-256 of it, so a key held while the request is in
 * flight (or its abort remembered) holds no client's megabytes and two ids stay two requests; `1`
 * and `'1'` are two ids. Keyed by the id as kept (its first 128 characters and its length) before
 * 2026-12-04, two calls whose ids differed past that shared one controller: closing one's stream
 * cancelled both (found by an audit). Hashed by its UTF-16 code units: read as UTF-8 (until
 * 2026-12-07) every lone surrogate was U+FFFD, and ids that differed only there were one request.
 * Keys live in this process only. Used by `call-registry.ts` and `cancellations.ts`.
 */
export function requestKey(scope: string, requestId: string | number): string {
  const id =
    typeof requestId === 'string' && requestId.length > MAX_REQUEST_ID_LENGTH
      ? `${requestId.length}#${createHash('sha256').update(requestId, 'utf16le').digest('base64')}`
      : String(requestId);
  return `${scope}\u0000${typeof requestId}:${id}`;
}
