/**
 * What a stream's chunks said besides their deltas (count, characters, finish reason, usage, web
 * search), for its end; and the tokens a vendor's rate limiter counted for a call, when it counts
 * other than the usage it reports.
 */
import { providerError } from '../core/errors.js';
import type { ChatDelta, ChatResponse, FinishReason, TokenUsage } from './port.js';
import { fromChunk } from './wire.js';

/**
 * The completion budget a body sent (`max_completion_tokens`, else `max_tokens`), when it is a
 * positive number; what Moonshot's gateway counts against TPM and TPD besides the prompt.
 */
export function sentBudget(body: Readonly<Record<string, unknown>>): number | undefined {
  const value = body.max_completion_tokens ?? body.max_tokens;
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? Math.ceil(value) : undefined;
}

/**
 * Usage with `rateLimitTokens`: the prompt tokens plus the budget sent, whatever was generated.
 * Moonshot counts its rate limits so (kimi.com/help, "速率限制的计算逻辑"); without a budget sent
 * the vendor counts its own default, which it does not state, and the usage stays as reported.
 */
export function withRateLimitTokens(usage: TokenUsage, budget: number | undefined): TokenUsage {
  return budget === undefined ? usage : { ...usage, rateLimitTokens: usage.promptTokens + budget };
}

/** A whole answer with its usage's `rateLimitTokens` (see `withRateLimitTokens`). */
export function countedAnswer(answer: ChatResponse, budget: number | undefined): ChatResponse {
  return answer.usage === undefined
    ? answer
    : { ...answer, usage: withRateLimitTokens(answer.usage, budget) };
}

/**
 * The note a whole answer (a `complete()`, or a server that answered a stream with one JSON body)
 * carries when it gave no `finish_reason`: as a stream ended by `[DONE]` without one, the answer
 * stands with no reason rather than an invented `stop`.
 */
export const NO_FINISH_NOTE = 'the server answered with no finish_reason: the answer is taken as whole';

/** `notes`, and `NO_FINISH_NOTE` when the answer has no finish reason. */
export function notesOf(answer: ChatResponse, notes: readonly string[]): readonly string[] {
  return answer.finishReason === undefined ? [...notes, NO_FINISH_NOTE] : notes;
}

/** What a stream's chunks said besides their deltas, for its end. */
export class StreamTally {
  count = 0;
  chars = 0;
  finish: FinishReason | undefined;
  /** A chunk gave a finish reason, even one not kept (`ChunkParts.ended`). */
  private ended = false;
  private webSearch: ChatResponse['webSearch'];
  private usage: ChatResponse['usage'];

  constructor(private readonly provider: string) {}

  /** One chunk: its deltas, in order; the rest is kept for `closing`. */
  add(chunk: unknown): readonly ChatDelta[] {
    this.count += 1;
    const parts = fromChunk(this.provider, chunk);
    const deltas = parts.deltas;
    for (let i = 0; i < deltas.length; i++) {
      const delta = deltas[i] as ChatDelta;
      if (delta.type === 'content') this.chars += delta.text.length;
    }
    if (parts.usage !== undefined) this.usage = parts.usage;
    if (parts.webSearch !== undefined) this.webSearch = mergeResults(this.webSearch, parts.webSearch);
    this.finish ??= parts.finishReason;
    if (parts.ended === true) this.ended = true;
    return deltas;
  }

  /**
   * At the end of the body, when no chunk said why the answer ended: OpenAI, Moonshot and Z.ai each
   * send a `finish_reason` in an answer's last chunk (docs/providers.md, "The adapter"), so a body
   * that ends without one and without `[DONE]`, even cleanly and before its first chunk, was cut (a
   * proxy, a restart): it throws `NETWORK`. A server that said `[DONE]` ended it on purpose (some
   * OpenAI-compatible servers leave `finish_reason` out): the answer stands, with this note.
   * `undefined` when a chunk gave the reason.
   */
  unfinished(doneSeen: boolean): string | undefined {
    // Nothing before `[DONE]`: the server answered nothing (before the body's end: it was cut).
    if (this.count === 0 && doneSeen)
      throw providerError('BAD_RESPONSE', `${this.provider}: Expected stream chunks, got none`);
    if (this.ended) return undefined;
    if (doneSeen)
      return 'the server ended its stream with [DONE] but no finish_reason: the answer is taken as whole';
    throw providerError(
      'NETWORK',
      `${this.provider}: Expected the stream to end with a finish_reason or [DONE], got the end of the body after ${this.chars} character(s): the connection was cut mid-answer`,
    );
  }

  /**
   * Usage and annotations go last, so a first attempt that fails before any content can still be
   * retried (the session stops retrying once any delta reached observers). `budget`: the
   * completion budget the vendor's rate limiter counts, when it counts one (`withRateLimitTokens`).
   */
  closing(notes: readonly string[], budget?: number): ChatDelta[] {
    const out: ChatDelta[] = [];
    if (this.usage !== undefined) out.push({ type: 'usage', usage: withRateLimitTokens(this.usage, budget) });
    if (this.webSearch !== undefined) out.push({ type: 'web_search', results: this.webSearch });
    for (const text of notes) out.push({ type: 'note', text });
    if (this.finish !== undefined) out.push({ type: 'finish', reason: this.finish });
    return out;
  }
}

/**
 * Web-search results from a later chunk, after those kept: an entry equal to one an earlier chunk
 * gave (the same JSON) is left out, so a vendor that repeats the array in a later chunk does not
 * list each result twice, and one that sends more results later has them all, in order. One
 * chunk's array is kept as sent, as in a whole answer. Neither reference says which chunks carry
 * GLM's `web_search` (docs/providers.md, GLM "Stream shape").
 */
function mergeResults(
  kept: ChatResponse['webSearch'],
  more: NonNullable<ChatResponse['webSearch']>,
): NonNullable<ChatResponse['webSearch']> {
  if (kept === undefined) return more;
  const seen = new Set(kept.map((entry) => JSON.stringify(entry)));
  return [...kept, ...more.filter((entry) => !seen.has(JSON.stringify(entry)))];
}
