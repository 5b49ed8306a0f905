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
 */
import { describe, runtimeError } from '../core/errors.js';
import { isName, MAX_NAME_CHARS } from '../core/metadata.js';
import type { SessionRequest } from './types.js';

const ROLES: Readonly<Record<string, true>> = { system: true, user: true, assistant: true, tool: true };

/** Every field of a submitted chat request, then its messages. */
export function checkRequest(request: SessionRequest): void {
  const r = request as unknown as Record<string, unknown>;
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
  const max = r.max_tokens;
  if (max !== undefined && !(Number.isInteger(max) && (max as number) > 0)) {
    refuse(`\`max_tokens\` to be a positive integer, got ${describe(max)}`);
  }
  const stop = r.stop;
  if (
    stop !== undefined &&
    typeof stop !== 'string' &&
    !(Array.isArray(stop) && stop.every((s) => typeof s === 'string'))
  ) {
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
    if (budget !== undefined && !(Number.isInteger(budget) && (budget as number) > 0))
      refuse(`\`extra.${field}\` to be a positive integer, got ${describe(budget)}`);
  }
  // A session reads one choice; with `n` > 1 the others were paid for and dropped, and a stream's
  // choices interleave their chunks, which were joined into one garbled answer.
  const n = extra?.n;
  if (n !== undefined && n !== 1)
    refuse(
      `\`extra.n\` to be 1 or absent (a session returns one answer: for several, submit a session each, or call the MCP tool \`consensus\`), got ${describe(n)}`,
    );
  if (
    r.tools !== undefined &&
    !(Array.isArray(r.tools) && r.tools.every((t) => typeof (t as { type?: unknown })?.type === 'string'))
  ) {
    refuse(`\`tools\` to be an array of tool definitions, each with a \`type\`, got ${describe(r.tools)}`);
  }
  if (r.files !== undefined && !(Array.isArray(r.files) && r.files.every(isFile))) {
    refuse(`\`files\` to be an array of { name, data: string or Uint8Array }, got ${describe(r.files)}`);
  }
  checkMessages(r.messages);
}

export function checkMessages(messages: unknown): void {
  if (!Array.isArray(messages) || messages.length === 0) {
    refuse(`\`messages\` to be a non-empty array of { role, content }, got ${describe(messages)}`);
  }
  for (let i = 0; i < messages.length; i++) {
    const message: unknown = messages[i];
    if (typeof message !== 'object' || message === null || Array.isArray(message)) {
      refuse(`messages[${i}] to be an object { role, content }, got ${describe(message)}`);
    }
    const { role, content, tool_call_id: toolCallId } = message as Record<string, unknown>;
    if (typeof role !== 'string' || ROLES[role] !== true) {
      refuse(`messages[${i}].role to be one of ${Object.keys(ROLES).join(', ')}, got ${describe(role)}`);
    }
    if (!contentFits(content, role)) {
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
export function contentFits(content: unknown, role: unknown): boolean {
  if (typeof content === 'string') return true;
  if (content === null || content === undefined) return role === 'assistant';
  return (
    Array.isArray(content) && content.every((part) => typeof (part as { type?: unknown })?.type === 'string')
  );
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
