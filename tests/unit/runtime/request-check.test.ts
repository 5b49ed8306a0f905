/**
 * `checkMessages`: what `submit` takes as messages from JavaScript, where no type stops
 * `{ role: 'usr' }` or a misspelt `contnet`. Each refusal names the message and the field.
 */
import { describe, expect, it } from 'vitest';
import { TroupeError } from '../../../src/core/errors.js';
import { checkMessages, checkRequest } from '../../../src/runtime/request-check.js';
import type { SessionRequest } from '../../../src/runtime/types.js';

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

/** `checkRequest`'s refusal of a request with one field set, or 'taken'. */
function fieldRefusal(fields: Record<string, unknown>): string {
  try {
    checkRequest({ messages: [user('hi')], ...fields } as unknown as SessionRequest);
  } catch (error) {
    expect(error).toBeInstanceOf(TroupeError);
    expect((error as TroupeError).code).toBe('INVALID_REQUEST');
    return (error as TroupeError).message;
  }
  return 'taken';
}

describe('checkRequest', () => {
  it('takes every field of the types the providers read', () => {
    const file = { name: 'a.txt', data: new Uint8Array([104, 105]) };
    expect(
      fieldRefusal({
        provider: 'kimi',
        model: 'kimi-k2.6',
        stream: false,
        temperature: 0,
        top_p: 0.9,
        max_tokens: 1,
        stop: ['\n\n', 'END'],
        thinking: 'disabled',
        extra: { response_format: { type: 'json_object' }, n: 1, max_completion_tokens: 500, max_tokens: 7 },
        tools: [{ type: 'function', function: { name: 'f' } }, { type: 'web_search' }],
        tool_choice: 'auto',
        files: [file, { name: 'b.md', data: '# b' }],
      }),
    ).toBe('taken');
    expect(fieldRefusal({ stop: 'END', stream: true, thinking: 'enabled', tools: [], files: [] })).toBe(
      'taken',
    );
    expect(fieldRefusal({ provider: 'p'.repeat(256), model: 'm'.repeat(256) })).toBe('taken');
  });

  it.each([
    [{ provider: 5 }, 'Expected `provider` to be a string of 1 to 256 characters, got `5` (number)'],
    [{ provider: '' }, 'Expected `provider` to be a string of 1 to 256 characters, got `""` (string)'],
    [{ model: 5 }, 'Expected `model` to be a string of 1 to 256 characters, got `5` (number)'],
    [{ model: '' }, 'Expected `model` to be a string of 1 to 256 characters, got `""` (string)'],
    [
      { model: 'm'.repeat(257) },
      /^Expected `model` to be a string of 1 to 256 characters, got `"m+…` \(string\)$/,
    ],
    [
      { provider: 'p'.repeat(257) },
      /^Expected `provider` to be a string of 1 to 256 characters, got `"p+…` \(string\)$/,
    ],
    [{ stream: 'yes' }, 'Expected `stream` to be true or false, got `"yes"` (string)'],
    [{ temperature: 'hot' }, 'Expected `temperature` to be a number, got `"hot"` (string)'],
    [{ temperature: Number.NaN }, 'Expected `temperature` to be a number, got `NaN` (number)'],
    [{ top_p: null }, 'Expected `top_p` to be a number, got `null`'],
    [
      { max_tokens: -1 },
      'Expected `max_tokens` to be a positive integer of at most 9007199254740991, got `-1` (number)',
    ],
    [
      { max_tokens: 0 },
      'Expected `max_tokens` to be a positive integer of at most 9007199254740991, got `0` (number)',
    ],
    [
      { max_tokens: 1.5 },
      'Expected `max_tokens` to be a positive integer of at most 9007199254740991, got `1.5` (number)',
    ],
    [
      { max_tokens: '100' },
      'Expected `max_tokens` to be a positive integer of at most 9007199254740991, got `"100"` (string)',
    ],
    // An integer to JavaScript, and no budget: charged to the windows and sent as `1e+300` until 2026-12-07.
    [
      { max_tokens: 1e300 },
      'Expected `max_tokens` to be a positive integer of at most 9007199254740991, got `1e+300` (number)',
    ],
    [
      { max_tokens: 2 ** 53 },
      /^Expected `max_tokens` to be a positive integer of at most 9007199254740991, got `9007199254740992`/,
    ],
    [
      { extra: { max_completion_tokens: 1e300 } },
      /^Expected `extra.max_completion_tokens` to be a positive integer of at most/,
    ],
    [{ stop: 3 }, 'Expected `stop` to be a string or an array of strings, got `3` (number)'],
    [{ stop: ['a', 3] }, 'Expected `stop` to be a string or an array of strings, got `["a",3]` (array)'],
    [{ thinking: true }, "Expected `thinking` to be 'enabled' or 'disabled', got `true` (boolean)"],
    [{ extra: 'x' }, 'Expected `extra` to be an object of the provider\'s own fields, got `"x"` (string)'],
    [{ extra: null }, "Expected `extra` to be an object of the provider's own fields, got `null`"],
    [{ extra: [1] }, "Expected `extra` to be an object of the provider's own fields, got `[1]` (array)"],
    [
      { extra: { n: 2 } },
      'Expected `extra.n` to be 1 or absent (a session returns one answer: for several, submit a session each, or call the MCP tool `consensus`), got `2` (number)',
    ],
    [{ extra: { n: '1' } }, /^Expected `extra.n` to be 1 or absent .*, got `"1"` \(string\)$/],
    [{ extra: { n: 0 } }, /^Expected `extra.n` to be 1 or absent .*, got `0` \(number\)$/],
    [
      { extra: { max_tokens: '40000' } },
      'Expected `extra.max_tokens` to be a positive integer of at most 9007199254740991, got `"40000"` (string)',
    ],
    [
      { extra: { max_completion_tokens: 0 } },
      'Expected `extra.max_completion_tokens` to be a positive integer of at most 9007199254740991, got `0` (number)',
    ],
    [
      { extra: { max_completion_tokens: 1.5 } },
      /^Expected `extra.max_completion_tokens` to be a positive integer/,
    ],
    [
      { tools: 'x' },
      'Expected `tools` to be an array of tool definitions, each with a `type`, got `"x"` (string)',
    ],
    [
      { tools: [{ type: 'function' }, { function: {} }] },
      'Expected `tools` to be an array of tool definitions, each with a `type`, got `[{"type":"function"},{"function":{}}]` (array)',
    ],
    [
      { tools: [null] },
      'Expected `tools` to be an array of tool definitions, each with a `type`, got `[null]` (array)',
    ],
    [
      { files: 'x' },
      'Expected `files` to be an array of { name, data: string or Uint8Array }, got `"x"` (string)',
    ],
    [
      { files: [{ name: 'a', data: 5 }] },
      'Expected `files` to be an array of { name, data: string or Uint8Array }, got `[{"name":"a","data":5}]` (array)',
    ],
    [
      { files: [{ data: 'x' }] },
      'Expected `files` to be an array of { name, data: string or Uint8Array }, got `[{"data":"x"}]` (array)',
    ],
    [
      { files: [null] },
      'Expected `files` to be an array of { name, data: string or Uint8Array }, got `[null]` (array)',
    ],
  ])('refuses %o', (fields, expected) => {
    if (expected instanceof RegExp) expect(fieldRefusal(fields)).toMatch(expected);
    else expect(fieldRefusal(fields)).toBe(expected);
  });

  it('checks the messages after the fields', () => {
    expect(fieldRefusal({ messages: [{ role: 'usr', content: 'x' }] })).toMatch(
      /^Expected messages\[0\]\.role/,
    );
  });
});

/**
 * An array that says it holds `length` entries, each `entry`, counting the entries read (JSON
 * cannot make one); past 100,000 reads it throws, so a walk of all 1e9 fails at once.
 */
function counted(length: number, entry: unknown): { array: unknown[]; reads: () => number } {
  let reads = 0;
  const array = new Proxy([entry], {
    get(target, key, receiver) {
      if (key === 'length') return length;
      if (typeof key === 'string' && /^\d+$/.test(key)) {
        if (++reads > 100_000) throw new Error(`read entry ${key}: walked`);
        return entry;
      }
      return Reflect.get(target, key, receiver);
    },
  });
  return { array, reads: () => reads };
}

describe('checkRequest under the size bound', () => {
  const bound = 256 * 1024 * 1024;
  const tooLarge = (least: number, why: string) =>
    `Expected a request of at most ${bound} bytes of JSON (limits.maxQueuedBytes), got at least ${least} bytes (${why}); send a smaller request (fewer or shorter messages, smaller tool arguments), or raise maxQueuedBytes`;
  function refusal(request: Record<string, unknown>): string {
    try {
      checkRequest(request as unknown as SessionRequest, bound);
    } catch (error) {
      expect((error as TroupeError).code).toBe('INVALID_REQUEST');
      return (error as TroupeError).message;
    }
    return 'taken';
  }

  it('refuses an array of length 1e9 by its length, before reading entry 0', () => {
    for (const field of ['messages', 'stop', 'tools', 'files']) {
      const { array, reads } = counted(1e9, field === 'messages' ? user('x') : 'x');
      const request = { messages: [user('hi')], [field]: array };
      expect(refusal(request)).toBe(tooLarge(2 + 2e9 + 1, `\`${field}\` has 1000000000 entries`));
      expect(reads()).toBe(0);
    }
    const { array: parts, reads } = counted(1e9, { type: 'text', text: 'x' });
    expect(refusal({ messages: [user('a'), user(parts)] })).toBe(
      tooLarge(2 + 5 + 2e9 + 1, 'messages[1].content has 1000000000 entries'),
    );
    expect(reads()).toBe(0);
    const { array: calls, reads: callReads } = counted(1e9, { id: 'c', type: 'function' });
    expect(refusal({ messages: [{ role: 'assistant', content: null, tool_calls: calls }] })).toBe(
      tooLarge(2 + 3 + 2e9 + 1, 'messages[0].tool_calls has 1000000000 entries'),
    );
    expect(callReads()).toBe(0);
    // A sparse array, as `length = 1e9` makes one: the same.
    const sparse = [user('x')];
    sparse.length = 1e9;
    expect(refusal({ messages: sparse })).toBe(tooLarge(2 + 2e9 + 1, '`messages` has 1000000000 entries'));
  });

  it('weighs every content array together: one shared by many messages is refused once they add up', () => {
    // Each message's 1,000 parts are within a bound of 100,000 bytes; 1,000 of them are not (JSON repeats them).
    const { array: parts, reads } = counted(1000, { type: 'text', text: 'x' });
    const message = user(parts);
    const messages = Array.from({ length: 1000 }, () => message);
    let refused: unknown;
    try {
      checkRequest({ messages } as unknown as SessionRequest, 100_000);
    } catch (error) {
      refused = error;
    }
    expect((refused as TroupeError).message).toContain(
      'got at least 100052 bytes (messages[48].content has 1000 entries)', // 2 + 2,001 + 49 × 2,001,
    );
    // 48 messages' parts read, not 1,000's.
    expect(reads()).toBe(48 * 1000);
  });

  it('takes a request whose arrays weigh exactly the bound', () => {
    // `{}` and `[m]`: 2 + 3 bytes at least.
    const request = { messages: [user('hi')] } as unknown as SessionRequest;
    expect(() => checkRequest(request, 5)).not.toThrow();
    expect(() => checkRequest(request, 4)).toThrow('got at least 5 bytes (`messages` has 1 entries)');
  });

  it('reads an array’s length once: a length that grows after it was weighed is not walked', () => {
    let lengthReads = 0;
    const growing = new Proxy(['a'], {
      get(target, key, receiver) {
        if (key === 'length') return lengthReads++ === 0 ? 1 : 1e12;
        return Reflect.get(target, key, receiver);
      },
    });
    expect(refusal({ messages: [user('hi')], stop: growing })).toBe('taken');
  });

  it('refuses a hole where an entry must be, as JSON would send `null` there', () => {
    const expected = (field: string) => expect.stringContaining(`Expected \`${field}\` to be`);
    // biome-ignore lint/suspicious/noSparseArray: a hole, as JavaScript can make one
    expect(refusal({ messages: [user('hi')], stop: ['a', , 'b'] })).toEqual(expected('stop'));
    // biome-ignore lint/suspicious/noSparseArray: a hole
    expect(refusal({ messages: [user('hi')], tools: [, { type: 'function' }] })).toEqual(expected('tools'));
    // biome-ignore lint/suspicious/noSparseArray: a hole
    expect(refusal({ messages: [user([, { type: 'text', text: 'x' }])] })).toMatch(
      /^Expected messages\[0\]\.content/,
    );
  });
});
