/**
 * Moonshot's rule on an assistant turn that made tool calls: its `content`, when present, must hold
 * some text. `""`, whitespace, `null`, `[]` or only blank text parts get 400 `invalid_request_error`
 * "text content is empty", as Moonshot's own client records it (MoonshotAI/kimi-cli commit 2ad7e64b,
 * "omit content field on empty assistant tool-call messages": its CHANGELOG entry and its e2e test's
 * mock of the endpoint); leaving `content` out is accepted.
 */
import type { ServerResponse } from 'node:http';

function blank(content: unknown): boolean {
  if (content === null) return true;
  if (typeof content === 'string') return content.trim().length === 0;
  if (!Array.isArray(content)) return false;
  return content.every((part) => {
    const { type, text } = (part ?? {}) as { type?: unknown; text?: unknown };
    return type === 'text' && typeof text === 'string' && text.trim().length === 0;
  });
}

/** Answers 400 to an assistant tool-call message whose `content` is there but empty. Returns whether it did. */
export function sendKimiEmptyContentRule(res: ServerResponse, body: Record<string, unknown>): boolean {
  if (!Array.isArray(body.messages)) return false;
  const found = (body.messages as Record<string, unknown>[]).some(
    (m) =>
      m?.role === 'assistant' &&
      Array.isArray(m.tool_calls) &&
      m.tool_calls.length > 0 &&
      'content' in m &&
      blank(m.content),
  );
  if (!found) return false;
  res.writeHead(400, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ error: { message: 'text content is empty', type: 'invalid_request_error' } }));
  return true;
}
