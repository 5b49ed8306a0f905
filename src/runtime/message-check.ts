/**
 * A chat request's messages, checked at `submit` as the MCP tools' schema checks them: from
 * JavaScript, no `messages` or `messages: "hi"` used to be queued and end `INTERNAL` (a TypeError
 * inside the provider call), and `{ role: 'usr' }` or a misspelt `contnet` went to the provider,
 * which answers 400 (or, simulated, answered as if nothing were wrong). Content is a string, an
 * array of content parts (vision models' `[{ type: 'text', ... }, { type: 'image_url', ... }]`,
 * passed through), or, on an assistant message (tool calls, Kimi's partial mode), null or absent.
 * Other message fields go to the provider as given.
 */
import { describe, runtimeError } from '../core/errors.js';

const ROLES: Readonly<Record<string, true>> = { system: true, user: true, assistant: true, tool: true };

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
    if (!contentFits(content, role === 'assistant')) {
      const absent = role === 'assistant' ? ', null or absent' : '';
      refuse(
        `messages[${i}].content to be a string or an array of content parts${absent}, got ${describe(content)}`,
      );
    }
    if (role === 'tool' && (typeof toolCallId !== 'string' || toolCallId === '')) {
      refuse(
        `messages[${i}].tool_call_id (a tool message answers one tool call) to be its id, got ${describe(toolCallId)}`,
      );
    }
  }
}

function contentFits(content: unknown, assistant: boolean): boolean {
  if (typeof content === 'string') return true;
  if (content === null || content === undefined) return assistant;
  return (
    Array.isArray(content) && content.every((part) => typeof (part as { type?: unknown })?.type === 'string')
  );
}

function refuse(expected: string): never {
  throw runtimeError('INVALID_REQUEST', `Expected ${expected}`);
}
