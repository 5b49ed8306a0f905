/**
 * `chat`'s `messages` over MCP, checked by the tool's schema as the runtime checks a submit's
 * (`src/runtime/request-check.ts`), so a refusal names the client's own message: the runtime sees
 * `system` and a continuation's history in front of it, and would count them in the index.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness, text } from './harness.js';

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

describe.each(['legacy', 'modern'] as const)('chat messages over MCP (%s era)', (era) => {
  it('refuses a tool message without its tool_call_id, naming the message as the client sent it', async () => {
    const client = await h.client(era);
    const refused = await client.callTool({
      name: 'chat',
      arguments: {
        system: 'be brief',
        messages: [
          { role: 'user', content: 'what is 6 x 7?' },
          { role: 'tool', content: '42' },
        ],
      },
    });
    expect(refused.isError).toBe(true);
    expect(text(refused)).toMatch(/^INVALID_REQUEST: /);
    expect(text(refused)).toContain(
      '`messages.1.tool_call_id`: Expected the id of the tool call this tool message answers, got none',
    );
  });

  it('refuses null content on a user message, and takes it on an assistant message with tool calls', async () => {
    const client = await h.client(era);
    const refused = await client.callTool({
      name: 'chat',
      arguments: { system: 'be brief', messages: [{ role: 'user', content: null }] },
    });
    expect(refused.isError).toBe(true);
    expect(text(refused)).toContain(
      '`messages.0.content`: Expected a string (null only on an assistant message)',
    );
    const call = { id: 'c1', type: 'function', function: { name: 'mul', arguments: '{"a":6,"b":7}' } };
    const taken = await client.callTool({
      name: 'chat',
      arguments: {
        messages: [
          { role: 'user', content: 'what is 6 x 7?' },
          { role: 'assistant', content: null, tool_calls: [call] },
          { role: 'tool', tool_call_id: 'c1', content: '42' },
        ],
      },
    });
    expect(taken.isError, text(taken)).toBeFalsy();
  });
});
