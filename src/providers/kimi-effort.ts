/**
 * Kimi K3's reasoning depth: the top-level `reasoning_effort`, one of `low`, `high` and `max` (the
 * default), as the Kimi help center and the K3 model card give it (docs/providers.md [K18]). K3
 * always thinks and takes no `thinking` switch (`kimi-rules.ts` drops it), so the depth travels only
 * here. A value outside the three is refused before sending: a third party reports Moonshot
 * ignoring an unknown level without a word, which would run the call at `max`.
 */
import type { RequestDraft } from './request-rules.js';

/** The levels Moonshot documents for kimi-k3, `max` its default. */
export const KIMI_K3_EFFORTS: readonly string[] = ['low', 'high', 'max'];

/**
 * Judges a kimi-k3 request's `reasoning_effort`. The depth given as `thinking.effort` (the form
 * Moonshot's own client sends, MoonshotAI/kimi-code `withThinking`) goes out as `reasoning_effort`,
 * the field the vendor's pages document, when the caller set none (`thinking` itself is dropped
 * later, as for every K3 request); one set at the top level wins.
 */
export function k3Effort(draft: RequestDraft): void {
  const carried = effortIn(draft.get('thinking'));
  if (!draft.has('reasoning_effort') && carried !== undefined) {
    draft.set('reasoning_effort', carried);
    draft.note(
      `sent \`thinking.effort\` as \`reasoning_effort\`: \`${draft.model}\` takes its depth in that top-level field`,
    );
  }
  const effort = draft.get('reasoning_effort');
  if (effort !== undefined && !KIMI_K3_EFFORTS.includes(effort as string))
    throw draft.refuse(
      'reasoning_effort',
      '`low`, `high` or `max` (the levels Moonshot documents for K3; `max` is its default)',
    );
}

function effortIn(thinking: unknown): unknown {
  if (typeof thinking !== 'object' || thinking === null || Array.isArray(thinking)) return undefined;
  return (thinking as { readonly effort?: unknown }).effort;
}
