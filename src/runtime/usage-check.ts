/**
 * A call's reported usage as the runtime counts it: token counts are whole numbers from 0 up, the
 * largest a double holds exactly at most. Until 2026-12-04 they were taken as sent (library audit):
 * one answer with `prompt_tokens: -1e12` gave that much back to the tokens-per-minute window and
 * showed in `metrics()`, and `completion_tokens: 1e308` held every later request of the provider
 * until its queue deadline (with `tokensPerDay`, a day). An adapter of your own is held to the
 * same, as are the built-in ones. A usage whose prompt or completion count is not such a number is
 * no usage (the call's estimate stands, as for a call that reported none); a total that is not is
 * their sum; a cached, reasoning or rate-limit count that is not is left out.
 */
import type { UsageData } from '../../machines/session.js';

const count = (n: unknown): n is number => Number.isSafeInteger(n) && (n as number) >= 0;

export function usableUsage(usage: UsageData | undefined): UsageData | undefined {
  if (usage === undefined) return undefined;
  const { promptTokens, completionTokens, totalTokens, cachedTokens, reasoningTokens, rateLimitTokens } =
    usage;
  if (!count(promptTokens) || !count(completionTokens)) return undefined;
  const total = count(totalTokens) ? totalTokens : promptTokens + completionTokens;
  const cachedOk = count(cachedTokens);
  const reasoningOk = count(reasoningTokens);
  const limitOk = count(rateLimitTokens);
  // The same object when nothing was wrong: the common case allocates nothing.
  if (
    total === totalTokens &&
    (cachedOk || cachedTokens === undefined) &&
    (reasoningOk || reasoningTokens === undefined) &&
    (limitOk || rateLimitTokens === undefined)
  )
    return usage;
  const out: { -readonly [K in keyof UsageData]: UsageData[K] } = {
    promptTokens,
    completionTokens,
    totalTokens: total,
  };
  if (cachedOk) out.cachedTokens = cachedTokens;
  if (reasoningOk) out.reasoningTokens = reasoningTokens;
  if (limitOk) out.rateLimitTokens = rateLimitTokens;
  return out;
}
