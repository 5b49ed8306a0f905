/**
 * A chat request's fields, checked at `submit` as the MCP tools' schemas check them. From
 * JavaScript, no `messages` or `messages: "hi"` used to be queued and end `INTERNAL` (a TypeError
 * inside the provider call), as did `model: 5`; `{ role: 'usr' }`, a misspelt `contnet`,
 * `temperature: 'hot'` or `stream: 'yes'` went to the provider, which answers 400 (or, simulated,
 * answered as if nothing were wrong). Each is refused here, naming the field.
 *
 * Messages: content is a string, an array of content parts (vision models'
 * `[{ type: 'text', ... }, { type: 'image_url', ... }]`, passed through), or, on an assistant
 * message (tool calls, Kimi's partial mode), null or absent; other message fields go to the
 * provider as given. Fields: types only, not the vendors' ranges (a provider's rules say those).
 *
 * Each array is read entry by entry, so its length is weighed first: an array of length L is at
 * least 2L + 1 bytes of JSON, and a request over `limits.maxQueuedBytes` by its arrays' lengths
 * alone is refused before they are read. From JavaScript a `messages`, `stop` or content array of
 * length 1e9 (`a.length = 1e9`, or a Proxy) used to be walked index by index: 68 s for one `submit`.
 */
import { describe, runtimeError, type TroupeError } from '../core/errors.js';
import { leastArrayBytes } from '../core/json-bytes.js';
import { isName, MAX_NAME_CHARS } from '../core/metadata.js';
import type { SessionRequest } from './types.js';

const ROLES: Readonly<Record<string, true>> = { system: true, user: true, assistant: true, tool: true };

/**
 * The size bound's refusal (`limits.maxQueuedBytes`): a request of `got` bytes of JSON, at least,
 * never fits; `why` says how that is known when its entries were not all counted.
 */
export function tooLarge(limit: number, got: number, why = ''): TroupeError {
  return runtimeError(
    'INVALID_REQUEST',
    `Expected a request of at most ${limit} bytes of JSON (limits.maxQueuedBytes), got at least ${got} bytes${why}; send a smaller request (fewer or shorter messages, smaller tool arguments), or raise maxQueuedBytes`,
  );
}

/** The bytes of JSON a request is at least, from the lengths of the arrays weighed so far; over `max`, refused. */
class Least {
  private bytes = 2; // `{}`

  constructor(private readonly max: number) {}

  /**
   * Weighs `value` if it is an array, before any of its entries is read; its length, read once
   * (what a Proxy of an array says its length is may change from one read to the next), or 0.
   * `where` names it in a refusal: a top-level field, or with `message` the field of that message
   * (the name is built only for a refusal, not for every message of every request).
   */
  weigh(value: unknown, where: string, message?: number): number {
    if (!Array.isArray(value)) return 0;
    const length: number = value.length;
    this.bytes += leastArrayBytes(length);
    if (this.bytes > this.max) {
      const name = message === undefined ? `\`${where}\`` : `messages[${message}].${where}`;
      throw tooLarge(this.max, this.bytes, ` (${name} has ${length} entries)`);
    }
    return length;
  }
}

/** Whether `test` holds for the first `length` entries of `array` (a hole is `undefined`). */
function all(array: unknown, length: number, test: (entry: unknown) => boolean): boolean {
  if (!Array.isArray(array)) return false;
  for (let i = 0; i < length; i++) if (!test(array[i])) return false;
  return true;
}

/**
 * Every field of a submitted chat request, then its messages; one over `maxBytes`
 * (`limits.maxQueuedBytes`) by its arrays' lengths is refused as too large before they are read.
 */
export function checkRequest(request: SessionRequest, maxBytes = Number.POSITIVE_INFINITY): void {
  const r = request as unknown as Record<string, unknown>;
  const least = new Least(maxBytes);
  const { messages, stop, tools, files } = r;
  const stops = least.weigh(stop, 'stop');
  const toolCount = least.weigh(tools, 'tools');
  const fileCount = least.weigh(files, 'files');
  const messageCount = least.weigh(messages, 'messages');
  for (const field of ['provider', 'model'] as const) {
    const value = r[field];
    if (value !== undefined && !isName(value)) {
      refuse(`\`${field}\` to be a string of 1 to ${MAX_NAME_CHARS} characters, got ${describe(value)}`);
    }
  }
  if (r.stream !== undefined && typeof r.stream !== 'boolean')
    refuse(`\`stream\` to be true or false, got ${describe(r.stream)}`);
  for (const field of ['temperature', 'top_p'] as const) {
    if (r[field] !== undefined && !Number.isFinite(r[field]))
      refuse(`\`${field}\` to be a number, got ${describe(r[field])}`);
  }
  // A safe integer: a budget of 1e300 (an integer to JavaScript) was charged to token windows and
  // budgets and sent to the vendor as `1e+300` until 2026-12-07.
  const max = r.max_tokens;
  if (max !== undefined && !(Number.isSafeInteger(max) && (max as number) > 0)) {
    refuse(
      `\`max_tokens\` to be a positive integer of at most ${Number.MAX_SAFE_INTEGER}, got ${describe(max)}`,
    );
  }
  if (stop !== undefined && typeof stop !== 'string' && !all(stop, stops, (s) => typeof s === 'string')) {
    refuse(`\`stop\` to be a string or an array of strings, got ${describe(stop)}`);
  }
  if (r.thinking !== undefined && r.thinking !== 'enabled' && r.thinking !== 'disabled') {
    refuse(`\`thinking\` to be 'enabled' or 'disabled', got ${describe(r.thinking)}`);
  }
  if (r.extra !== undefined && !isRecord(r.extra))
    refuse(`\`extra\` to be an object of the provider's own fields, got ${describe(r.extra)}`);
  const extra = r.extra as Record<string, unknown> | undefined;
  // A completion budget in `extra` is counted as the typed one is (`completionBudget`), so it must
  // be one: a positive integer.
  for (const field of ['max_tokens', 'max_completion_tokens'] as const) {
    const budget = extra?.[field];
    if (budget !== undefined && !(Number.isSafeInteger(budget) && (budget as number) > 0))
      refuse(
        `\`extra.${field}\` to be a positive integer of at most ${Number.MAX_SAFE_INTEGER}, got ${describe(budget)}`,
      );
  }
  // A session reads one choice; with `n` > 1 the others were paid for and dropped, and a stream's
  // choices interleave their chunks, which were joined into one garbled answer.
  const n = extra?.n;
  if (n !== undefined && n !== 1)
    refuse(
      `\`extra.n\` to be 1 or absent (a session returns one answer: for several, submit a session each, or call the MCP tool \`consensus\`), got ${describe(n)}`,
    );
  if (
    tools !== undefined &&
    !all(tools, toolCount, (t) => typeof (t as { type?: unknown })?.type === 'string')
  ) {
    refuse(`\`tools\` to be an array of tool definitions, each with a \`type\`, got ${describe(tools)}`);
  }
  if (files !== undefined && !all(files, fileCount, isFile)) {
    refuse(`\`files\` to be an array of { name, data: string or Uint8Array }, got ${describe(files)}`);
  }
  checkMessages(messages, least, messageCount);
}

/**
 * The messages, `length` of them, each content array weighed before it is read (`least`: what the
 * request's own arrays weighed).
 */
export function checkMessages(
  messages: unknown,
  least = new Least(Number.POSITIVE_INFINITY),
  length = Array.isArray(messages) ? messages.length : 0,
): void {
  if (!Array.isArray(messages) || length === 0) {
    refuse(`\`messages\` to be a non-empty array of { role, content }, got ${describe(messages)}`);
  }
  for (let i = 0; i < length; i++) {
    const message: unknown = messages[i];
    if (typeof message !== 'object' || message === null || Array.isArray(message)) {
      refuse(`messages[${i}] to be an object { role, content }, got ${describe(message)}`);
    }
    const {
      role,
      content,
      tool_call_id: toolCallId,
      tool_calls: toolCalls,
    } = message as Record<string, unknown>;
    const parts = least.weigh(content, 'content', i);
    // Not checked here (the provider reads them), but walked by the token estimate at routing.
    least.weigh(toolCalls, 'tool_calls', i);
    if (typeof role !== 'string' || ROLES[role] !== true) {
      refuse(`messages[${i}].role to be one of ${Object.keys(ROLES).join(', ')}, got ${describe(role)}`);
    }
    if (!contentFits(content, role, parts)) {
      const absent = role === 'assistant' ? ', null or absent' : '';
      refuse(
        `messages[${i}].content to be a string or an array of content parts${absent}, got ${describe(content)}`,
      );
    }
    if (!answersToolCall(role, toolCallId)) {
      refuse(
        `messages[${i}].tool_call_id (a tool message answers one tool call) to be its id, got ${describe(toolCallId)}`,
      );
    }
  }
}

/**
 * A message's content as the providers take it: a string or content parts, null or absent only on
 * an assistant message. The MCP `chat` schema asks the same (`chatMessageSchema`).
 */
export function contentFits(
  content: unknown,
  role: unknown,
  parts = Array.isArray(content) ? content.length : 0,
): boolean {
  if (typeof content === 'string') return true;
  if (content === null || content === undefined) return role === 'assistant';
  return all(content, parts, (part) => typeof (part as { type?: unknown })?.type === 'string');
}

/** A tool message names the call it answers; other roles need not. The MCP `chat` schema asks the same. */
export function answersToolCall(role: unknown, toolCallId: unknown): boolean {
  return role !== 'tool' || (typeof toolCallId === 'string' && toolCallId !== '');
}

function isRecord(value: unknown): boolean {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isFile(file: unknown): boolean {
  const { name, data } = (file ?? {}) as { name?: unknown; data?: unknown };
  return typeof name === 'string' && (typeof data === 'string' || data instanceof Uint8Array);
}

function refuse(expected: string): never {
  throw runtimeError('INVALID_REQUEST', `Expected ${expected}`);
}
