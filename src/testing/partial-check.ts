/**
 * `partialKept`: a session that ended without its answer after text reached its observers carries
 * that text as `partial` (docs/runtime.md, "What a failed stream had written").
 */
import type { SessionResult, TaskResult } from '../runtime/types.js';

/**
 * What is wrong with a result's partial answer, given the content and reasoning its observers got:
 * it must be that text exactly; absent when they got none, or when the provider's safety review
 * stopped the answer (`CONTENT_FILTERED`). `undefined` when nothing is wrong.
 */
export function partialViolation(
  id: string,
  written: string,
  reasoned: string,
  result: SessionResult | TaskResult<unknown>,
): string | undefined {
  if (result.ok) return undefined;
  const expected = (written !== '' || reasoned !== '') && result.error.code !== 'CONTENT_FILTERED';
  const partial = (result as Extract<SessionResult, { ok: false }>).partial;
  if (partial === undefined)
    return expected
      ? `session ${id} ended ${result.metadata.state} (${result.error.code}) after ${written.length + reasoned.length} characters reached its observers, with no partial`
      : undefined;
  if (!expected) return `session ${id} has a partial answer its observers never got (${result.error.code})`;
  if (partial.content === written && (partial.reasoning ?? '') === reasoned) return undefined;
  return `session ${id}: its partial answer has ${partial.content.length}+${partial.reasoning?.length ?? 0} characters, its observers got ${written.length}+${reasoned.length}`;
}
