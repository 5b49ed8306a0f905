/**
 * The hints of a `withSession` tool's error results. troupe's own hints (`errors.ts`) name its tools'
 * arguments and tools (`timeout_ms`, `priority`, `max_tokens`, `list_models`, the `sessions` tool), which an
 * embedder's tool does not have: until 2026-12-07 a `withSession` tool past its deadline told the
 * client to "call again with a larger timeout_ms", an argument the tool did not take. The codes
 * whose hint names none of them keep troupe's.
 */
import type { TimeoutKind, TroupeErrorCode } from '../core/errors.js';
import { hintFor } from './errors.js';

const OWN_TOOL_HINTS: Partial<Readonly<Record<TroupeErrorCode, string>>> = {
  TIMED_OUT: 'The call passed its deadline. Call again with a shorter request, or later.',
  UNKNOWN_PROVIDER: 'The server has no such provider. Call again with another one.',
  MODEL_NOT_FOUND: 'The server has no such model. Call again with another one.',
  NOT_CONFIGURED: 'That provider has no API key configured on the server. Call again with another one.',
  BACKEND_UNAVAILABLE:
    'The session backend (Redis) is unavailable, and troupe does not retry a call for it (so retryable is false): call again in a few seconds, knowing the call may have run.',
  UNKNOWN_SESSION: 'The session is not live, or ended too long ago to be kept.',
  CONTEXT_TOO_LONG: "The request does not fit the model's context window. Shorten it, then call again.",
};

const QUEUE_HINT =
  'The call waited in the queue past its queue deadline without starting: the server was busy. Call again in a few seconds, or send fewer calls at once.';

/** The hint of an error of a tool of yours, `withSession`'s: troupe's, without troupe's tools' words. */
export function ownToolHint(code: TroupeErrorCode, timeout?: TimeoutKind): string {
  if (code === 'TIMED_OUT' && timeout === 'queue') return QUEUE_HINT;
  if (code === 'TIMED_OUT' && timeout === 'idle') return hintFor(code, timeout);
  return OWN_TOOL_HINTS[code] ?? hintFor(code, timeout);
}
