/**
 * The bounds of one server-held conversation, as pure functions shared by every conversation
 * store (memory, Redis). Bytes are UTF-8 bytes of each message's JSON, so a system message counts
 * like any other: nothing a client sends is kept outside the bound.
 *
 * The conversation's first system message (its instructions) is pinned: later turns go first when
 * the conversation is over a bound. A turn that cannot fit beside the pinned message is refused
 * before any model is called, with `INVALID_REQUEST` naming the cap.
 */
import { runtimeError, type TroupeError } from '../core/errors.js';
import { messageBytes as countedBytes } from '../core/request-bytes.js';
import type { ChatMessage } from '../providers/port.js';

export interface ConversationLimits {
  /** Most messages kept per conversation, system messages included. @default 40 */
  readonly maxMessages: number;
  /** Most bytes (UTF-8 JSON of every message) kept per conversation. @default 262144 (256 KiB) */
  readonly maxBytes: number;
}

export const DEFAULT_CONVERSATION_LIMITS: ConversationLimits = { maxMessages: 40, maxBytes: 256 * 1024 };

/**
 * A message's bytes: UTF-8 of its JSON, counted without serialising it (`json-bytes.ts`), and
 * remembered for a kept (frozen) message, as the runtime counts a request (`request-bytes.ts`).
 */
export function messageBytes(message: ChatMessage): number {
  return countedBytes(message);
}

export function conversationBytes(messages: readonly ChatMessage[]): number {
  let total = 0;
  for (const message of messages) total += messageBytes(message);
  return total;
}

/**
 * Refuses a call whose new messages can never be kept: the pinned system message plus the turn
 * over `maxBytes` (a turn of too many messages is only trimmed: the newest are kept). `prior` is what the conversation holds before the turn.
 */
export function checkTurn(
  prior: readonly ChatMessage[],
  turn: readonly ChatMessage[],
  limits: ConversationLimits,
): TroupeError | undefined {
  const pinned = pinnedSystem(prior.length === 0 ? turn : prior);
  let bytes = pinned === undefined ? 0 : messageBytes(pinned);
  for (const message of turn) if (message !== pinned) bytes += messageBytes(message);
  if (bytes > limits.maxBytes) {
    return runtimeError(
      'INVALID_REQUEST',
      `Expected this turn (with the conversation's system message) to fit the conversation cap of ${limits.maxBytes} bytes, got ${bytes} bytes. Send less, or start a conversation with a shorter system message.`,
    );
  }
  return undefined;
}

/** A conversation cut to its bounds, with each kept message's bytes (`sizes[i]` for `messages[i]`). */
export interface TrimmedConversation {
  readonly messages: readonly ChatMessage[];
  readonly sizes: readonly number[];
  readonly bytes: number;
}

/**
 * The conversation cut to its bounds: the pinned system message, then the newest messages that
 * fit. It never starts (after the pinned message) with an assistant reply or a tool answer whose
 * question was cut. `known[i]`, where given, is `messages[i]`'s bytes already counted (a store
 * keeps them with what it holds, so a turn counts only its new messages). Nothing over a bound:
 * `messages` itself comes back.
 */
export function trimConversation(
  messages: readonly ChatMessage[],
  limits: ConversationLimits,
  known: readonly number[] = NO_SIZES,
): TrimmedConversation {
  const sizes: number[] = new Array(messages.length);
  let bytes = 0;
  for (let i = 0; i < messages.length; i++) {
    const size = known[i] ?? messageBytes(messages[i] as ChatMessage);
    sizes[i] = size;
    bytes += size;
  }
  const pinned = pinnedSystem(messages) === undefined ? 0 : 1;
  let start = pinned;
  const room = limits.maxMessages - pinned;
  const over = () => messages.length - start > room || bytes > limits.maxBytes;
  while (start < messages.length && over()) {
    bytes -= sizes[start] ?? 0;
    start += 1;
    while (start < messages.length && messages[start]?.role !== 'user') {
      bytes -= sizes[start] ?? 0;
      start += 1;
    }
  }
  // Only reachable when the pinned message alone is over the cap, which `checkTurn` refuses.
  if (bytes > limits.maxBytes) return { messages: [], sizes: [], bytes: 0 };
  if (start === pinned) return { messages, sizes, bytes };
  const keep = (_: unknown, i: number) => i < pinned || i >= start;
  return { messages: messages.filter(keep), sizes: sizes.filter(keep), bytes };
}

const NO_SIZES: readonly number[] = [];

/** The conversation's instructions: its first system message, if it opens with one. */
function pinnedSystem(messages: readonly ChatMessage[]): ChatMessage | undefined {
  const first = messages[0];
  return first?.role === 'system' ? first : undefined;
}

export function positiveInt(name: string, value: number | undefined, fallback: number): number {
  const chosen = value ?? fallback;
  if (!Number.isSafeInteger(chosen) || chosen < 1) {
    throw runtimeError(
      'INVALID_REQUEST',
      `Expected \`${name}\` to be a positive integer, got ${String(value)}`,
    );
  }
  return chosen;
}
