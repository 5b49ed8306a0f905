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
import type { ChatMessage } from '../providers/port.js';

export interface ConversationLimits {
  /** Most messages kept per conversation, system messages included. @default 40 */
  readonly maxMessages: number;
  /** Most bytes (UTF-8 JSON of every message) kept per conversation. @default 262144 (256 KiB) */
  readonly maxBytes: number;
}

export const DEFAULT_CONVERSATION_LIMITS: ConversationLimits = { maxMessages: 40, maxBytes: 256 * 1024 };

export function messageBytes(message: ChatMessage): number {
  return Buffer.byteLength(JSON.stringify(message));
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
  const pinned = pinnedSystem([...prior, ...turn]);
  const turnOnly = turn.filter((m) => m !== pinned);
  const bytes = (pinned === undefined ? 0 : messageBytes(pinned)) + conversationBytes(turnOnly);
  if (bytes > limits.maxBytes) {
    return runtimeError(
      'INVALID_REQUEST',
      `Expected this turn (with the conversation's system message) to fit the conversation cap of ${limits.maxBytes} bytes, got ${bytes} bytes. Send less, or start a conversation with a shorter system message.`,
    );
  }
  return undefined;
}

/**
 * The conversation cut to its bounds: the pinned system message, then the newest messages that
 * fit. It never starts (after the pinned message) with an assistant reply or a tool answer whose
 * question was cut.
 */
export function trimConversation(
  messages: readonly ChatMessage[],
  limits: ConversationLimits,
): { readonly messages: ChatMessage[]; readonly bytes: number } {
  const pinned = pinnedSystem(messages);
  const pinnedBytes = pinned === undefined ? 0 : messageBytes(pinned);
  const rest = messages.filter((m) => m !== pinned);
  const sizes = rest.map(messageBytes);
  let bytes = pinnedBytes;
  for (const size of sizes) bytes += size;
  let start = 0;
  const room = limits.maxMessages - (pinned === undefined ? 0 : 1);
  const over = () => rest.length - start > room || bytes > limits.maxBytes;
  while (start < rest.length && over()) {
    bytes -= sizes[start] ?? 0;
    start += 1;
    while (start < rest.length && rest[start]?.role !== 'user') {
      bytes -= sizes[start] ?? 0;
      start += 1;
    }
  }
  const kept = rest.slice(start);
  // Only reachable when the pinned message alone is over the cap, which `checkTurn` refuses.
  if (bytes > limits.maxBytes) return { messages: [], bytes: 0 };
  return { messages: pinned === undefined ? kept : [pinned, ...kept], bytes };
}

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
