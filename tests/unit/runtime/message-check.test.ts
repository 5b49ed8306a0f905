/**
 * `checkMessages`: what `submit` takes as messages from JavaScript, where no type stops
 * `{ role: 'usr' }` or a misspelt `contnet`. Each refusal names the message and the field.
 */
import { describe, expect, it } from 'vitest';
import { TroupeError } from '../../../src/core/errors.js';
import { checkMessages } from '../../../src/runtime/message-check.js';

function refusal(messages: unknown): string {
  try {
    checkMessages(messages);
  } catch (error) {
    expect(error).toBeInstanceOf(TroupeError);
    expect((error as TroupeError).code).toBe('INVALID_REQUEST');
    return (error as TroupeError).message;
  }
  return 'taken';
}

const user = (content: unknown) => ({ role: 'user', content });

describe('checkMessages', () => {
  it('takes every shape the providers send: text, content parts, assistant tool calls and partial mode, tool answers', () => {
    const messages = [
      { role: 'system', content: 'be brief' },
      user('hi'),
      user([
        { type: 'text', text: 'what is in it?' },
        { type: 'image_url', image_url: { url: 'data:image/png;base64,AA==' } },
      ]),
      {
        role: 'assistant',
        content: null,
        tool_calls: [{ id: 'c1', type: 'function', function: { name: 'f', arguments: '{}' } }],
      },
      { role: 'tool', tool_call_id: 'c1', name: 'f', content: '42' },
      { role: 'assistant', content: 'The answer', partial: true },
      { role: 'assistant', tool_calls: [] },
    ];
    expect(refusal(messages)).toBe('taken');
    expect(refusal([user('')])).toBe('taken');
  });

  it('refuses no messages, an empty list and what is not a list', () => {
    expect(refusal(undefined)).toBe(
      'Expected `messages` to be a non-empty array of { role, content }, got `undefined`',
    );
    expect(refusal([])).toBe(
      'Expected `messages` to be a non-empty array of { role, content }, got `[]` (array)',
    );
    expect(refusal('hi')).toBe(
      'Expected `messages` to be a non-empty array of { role, content }, got `"hi"` (string)',
    );
    expect(refusal({ 0: user('hi'), length: 1 })).toMatch(/^Expected `messages` to be a non-empty array/);
  });

  it('refuses a message that is not an object, naming its place', () => {
    expect(refusal([user('a'), null])).toBe(
      'Expected messages[1] to be an object { role, content }, got `null`',
    );
    expect(refusal(['hi'])).toBe(
      'Expected messages[0] to be an object { role, content }, got `"hi"` (string)',
    );
    expect(refusal([[user('a')]])).toMatch(
      /^Expected messages\[0\] to be an object \{ role, content \}, got `\[/,
    );
  });

  it('refuses a role the providers do not take', () => {
    const expected = (got: string) =>
      `Expected messages[1].role to be one of system, user, assistant, tool, got ${got}`;
    expect(refusal([user('a'), { role: 'usr', content: 'b' }])).toBe(expected('`"usr"` (string)'));
    expect(refusal([user('a'), { content: 'b' }])).toBe(expected('`undefined`'));
    expect(refusal([user('a'), { role: 'toString', content: 'b' }])).toBe(expected('`"toString"` (string)'));
    expect(refusal([user('a'), { role: 'User', content: 'b' }])).toBe(expected('`"User"` (string)'));
    // A list whose text is a role's name is still not a role.
    expect(refusal([user('a'), { role: ['user'], content: 'b' }])).toBe(expected('`["user"]` (array)'));
  });

  it('refuses content that is missing (a misspelt field), of the wrong type, or with parts of no type', () => {
    const expected = (got: string) =>
      `Expected messages[0].content to be a string or an array of content parts, got ${got}`;
    expect(refusal([{ role: 'user', contnet: 'hi' }])).toBe(expected('`undefined`'));
    expect(refusal([user(null)])).toBe(expected('`null`'));
    expect(refusal([user(5)])).toBe(expected('`5` (number)'));
    expect(refusal([user({ text: 'hi' })])).toBe(expected('`{"text":"hi"}` (object)'));
    expect(refusal([user([{ text: 'hi' }])])).toBe(expected('`[{"text":"hi"}]` (array)'));
    expect(refusal([user(['hi'])])).toBe(expected('`["hi"]` (array)'));
    expect(refusal([user([{ type: 'text', text: 'a' }, 'b'])])).toBe(
      expected('`[{"type":"text","text":"a"},"b"]` (array)'),
    );
    expect(refusal([user([null])])).toBe(expected('`[null]` (array)'));
    expect(refusal([{ role: 'system' }])).toMatch(
      /^Expected messages\[0\]\.content to be a string or an array of content parts, got/,
    );
    expect(refusal([{ role: 'assistant', content: 3 }])).toBe(
      'Expected messages[0].content to be a string or an array of content parts, null or absent, got `3` (number)',
    );
  });

  it('refuses a tool message that names no tool call', () => {
    const expected = (got: string) =>
      `Expected messages[1].tool_call_id (a tool message answers one tool call) to be its id, got ${got}`;
    expect(refusal([user('a'), { role: 'tool', content: '42' }])).toBe(expected('`undefined`'));
    expect(refusal([user('a'), { role: 'tool', content: '42', tool_call_id: '' }])).toBe(
      expected('`""` (string)'),
    );
    expect(refusal([user('a'), { role: 'tool', content: '42', tool_call_id: 1 }])).toBe(
      expected('`1` (number)'),
    );
  });
});
