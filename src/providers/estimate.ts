/**
 * Token estimates made before a call, with no tokenizer and no network: what admission charges a
 * provider's tokens-per-minute and tokens-per-day limits, and what the context-window check
 * compares with the model's window. The provider's reported usage replaces the estimate once the
 * call ends (reconciliation), so the rule only has to be close, and on the high side for prose.
 *
 * The rule, documented in docs/providers.md ("Token estimates"):
 * - text: one token per 4 ASCII characters (rounded up, per string), one token per non-ASCII code
 *   point (Chinese, Japanese and Korean text is about one token per character or less in Kimi's and
 *   GLM's tokenizers; counting one each errs high);
 * - every message: 4 tokens of framing, plus its role's text, name, tool-call names and arguments,
 *   and `reasoning_content`; content given as parts: each text part by the text rule, each other
 *   part (an image, a video, a file) `MEDIA_PART_TOKENS`;
 * - tool definitions: their JSON, by the text rule;
 * - files: their text (by the text rule) when given as a string, one token per 4 bytes otherwise;
 * - completion: the request's `max_tokens`, else what the vendor's limiter counts without one when
 *   the provider says (`ChatProvider.rateLimitCompletion`), else the caller's default.
 */
import type { ChatMessage, ChatProvider, ChatRequest } from './port.js';

export interface TokenEstimate {
  /** Estimated prompt tokens. */
  readonly prompt: number;
  /** The completion budget charged: `max_tokens` or the default. */
  readonly completion: number;
  /** `prompt + completion`: what a tokens-per-minute limit is charged before the call. */
  readonly total: number;
}

const MESSAGE_FRAMING = 4;

/**
 * What a content part other than text (an image, a video, a file) counts: Moonshot bills "each
 * image at a fixed 1024 tokens, regardless of image size or resolution" (Kimi help center,
 * MoonshotAI/kimi-help-center b7cfbfd, `en-US/kimi-api/model-selection.md`); the same for other
 * kinds and vendors (*chosen*: none states a figure). Its URL or base64 data is not text the model
 * reads, so it is not counted by the text rule.
 */
export const MEDIA_PART_TOKENS = 1024;

/** Tokens of one string by the text rule. */
export function textTokens(text: string): number {
  let ascii = 0;
  let other = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) {
      ascii++;
    } else {
      other++;
      // A surrogate pair is one code point.
      if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length) i++;
    }
  }
  return Math.ceil(ascii / 4) + other;
}

function messageTokens(message: ChatMessage): number {
  let tokens = MESSAGE_FRAMING + textTokens(message.role);
  tokens += contentTokens(message.content);
  if (message.name !== undefined) tokens += textTokens(message.name);
  if (message.reasoning_content !== undefined) tokens += textTokens(message.reasoning_content);
  for (const call of message.tool_calls ?? []) {
    tokens += textTokens(call.function.name) + textTokens(call.function.arguments);
  }
  return tokens;
}

/** A message's content: a string by the text rule, parts each by its kind (until 2026-12-06 parts counted 0). */
function contentTokens(content: unknown): number {
  if (typeof content === 'string') return textTokens(content);
  if (!Array.isArray(content)) return 0;
  let tokens = 0;
  for (const part of content) {
    const { type, text } = (part ?? {}) as { type?: unknown; text?: unknown };
    if (type !== 'text') tokens += MEDIA_PART_TOKENS;
    else if (typeof text === 'string') tokens += textTokens(text);
  }
  return tokens;
}

/** Prompt tokens of a request by the rule above. */
export function estimatePromptTokens(request: ChatRequest): number {
  let tokens = 0;
  for (const message of request.messages) tokens += messageTokens(message);
  if (request.tools !== undefined && request.tools.length > 0)
    tokens += textTokens(JSON.stringify(request.tools));
  for (const file of request.files ?? []) {
    tokens += typeof file.data === 'string' ? textTokens(file.data) : Math.ceil(file.data.byteLength / 4);
  }
  return tokens;
}

/**
 * The estimate for a request: its prompt plus its completion budget (`max_tokens`, else what
 * `counted` says the vendor counts without one, else `defaultCompletion`).
 */
export function estimateTokens(
  request: ChatRequest,
  defaultCompletion: number,
  counted?: () => number | undefined,
): TokenEstimate {
  const prompt = estimatePromptTokens(request);
  const completion = completionBudget(request) ?? counted?.() ?? defaultCompletion;
  return { prompt, completion, total: prompt + completion };
}

/**
 * The completion budget a request sends, when it sends one: its `max_tokens`, or one given in
 * `extra` as `max_completion_tokens` (OpenAI's o-series take only that) or `max_tokens`; the largest
 * when several are given, since which one a server honours is its own. Token limits, budgets and
 * the context-window check all count this; until 2026-12-04 they read `max_tokens` alone, and a
 * budget in `extra` went to the vendor uncounted (library audit).
 */
export function completionBudget(request: ChatRequest): number | undefined {
  const extra = request.extra;
  let most: number | undefined;
  for (const value of [request.max_tokens, extra?.max_completion_tokens, extra?.max_tokens]) {
    if (typeof value === 'number' && Number.isFinite(value) && value > 0)
      most = Math.max(most ?? 0, Math.ceil(value));
  }
  return most;
}

/**
 * What admission charges a call of `request` to `model` at `provider` against limits in tokens:
 * `estimateTokens`, with the completion the provider's rate limiter counts when `max_tokens` is
 * not set (`ChatProvider.rateLimitCompletion`: Moonshot counts the budget troupe sends a thinking
 * model, or its 131072 for kimi-k3), so a burst is charged what the vendor will count before the
 * first answer corrects it.
 */
export function chargedTokens(
  request: ChatRequest,
  model: string,
  provider: ChatProvider | undefined,
  defaultCompletion: number,
): number {
  const counts = provider?.rateLimitCompletion;
  const counted =
    counts === undefined
      ? undefined
      : () => counts(model === request.model ? request : { ...request, model });
  return estimateTokens(request, defaultCompletion, counted).total;
}
