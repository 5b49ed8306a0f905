/**
 * An argument of the wrong kind, out of its bounds, or not among the tool's, is refused in troupe's
 * words, naming it, what it should be and what came: "Expected `priority` to be an integer from 0 to
 * 9, got `12` (number)" (STYLE.md, 8). Until 2026-12-07 the line carried zod's own, first for every
 * kind ("`models`: Invalid input: expected array, received undefined, got `undefined`"), then for
 * the bounds ("`priority`: Too big: expected number to be <=9, got `12` (number)").
 */
import { describe, expect, it } from 'vitest';
import { TOOLS } from '../../../src/mcp/register.js';
import { parseArgs } from '../../../src/mcp/tool.js';

const tool = (name: string) => {
  const found = TOOLS.find((t) => t.name === name);
  if (found === undefined) throw new Error(`no tool ${name}`);
  return found;
};
const refusal = (name: string, args: unknown): string => {
  const parsed = parseArgs(tool(name), args);
  if (parsed.ok) throw new Error('expected a refusal');
  return parsed.outcome.text;
};
const CHAT_KEYS =
  '`prompt`, `messages`, `system`, `continuation_id`, `tools`, `tool_choice`, `provider`, `model`, `fallbacks`, `temperature`, `max_tokens`, `thinking`, `priority`, `timeout_ms`, `extra`';

describe('tool arguments refused in troupe’s words', () => {
  it.each([
    // invalid_type: a missing one is "none", an integer's kind says its range
    ['consensus', { prompt: 'hi' }, 'Expected `models` to be an array, got none'],
    [
      'consensus',
      { prompt: 'hi', models: ['sim-fast'] },
      'Expected `models.0` to be an object, got `"sim-fast"` (string)',
    ],
    [
      'chat',
      { prompt: 'hi', temperature: '0.5' },
      'Expected `temperature` to be a number from 0 to 2, got `"0.5"` (string)',
    ],
    [
      'chat',
      { prompt: 'hi', priority: 2.5 },
      'Expected `priority` to be an integer from 0 to 9, got `2.5` (number)',
    ],
    [
      'multi_file_chat',
      { prompt: 'hi', files: 'README.md' },
      'Expected `files` to be an array, got `"README.md"` (string)',
    ],
    // too_big and too_small: the whole range, whichever end was passed
    [
      'chat',
      { prompt: 'hi', priority: 12 },
      'Expected `priority` to be an integer from 0 to 9, got `12` (number)',
    ],
    [
      'chat',
      { prompt: 'hi', priority: -1 },
      'Expected `priority` to be an integer from 0 to 9, got `-1` (number)',
    ],
    [
      'chat',
      { prompt: 'hi', temperature: 2.5 },
      'Expected `temperature` to be a number from 0 to 2, got `2.5` (number)',
    ],
    [
      'chat',
      { prompt: 'hi', max_tokens: 0 },
      'Expected `max_tokens` to be an integer of at least 1, got `0` (number)',
    ],
    [
      'chat',
      { prompt: 'hi', timeout_ms: 3_600_001 },
      'Expected `timeout_ms` to be an integer from 1 to 3600000, got `3600001` (number)',
    ],
    [
      'chat',
      { prompt: 'hi', model: '' },
      'Expected `model` to be a string of 1 to 256 characters, got 0 characters',
    ],
    [
      'chat',
      { prompt: 'hi', fallbacks: Array.from({ length: 5 }, () => ({ model: 'm' })) },
      'Expected `fallbacks` to be an array of at most 4 items, got 5 items',
    ],
    [
      'multi_file_chat',
      { prompt: 'hi', files: [] },
      'Expected `files` to be an array of at least 1 item, got 0 items',
    ],
    // invalid_value (an enum)
    [
      'chat',
      { prompt: 'hi', thinking: 'maybe' },
      'Expected `thinking` to be one of `"enabled"`, `"disabled"`, got `"maybe"` (string)',
    ],
    [
      'chat',
      { messages: [{ role: 'bot', content: 'x' }] },
      'Expected `messages.0.role` to be one of `"system"`, `"user"`, `"assistant"`, `"tool"`, got `"bot"` (string)',
    ],
    // unrecognized_keys: what the tool takes
    [
      'chat',
      { prompt: 'hi', max_token: 3 },
      `Expected the arguments to have only ${CHAT_KEYS}, got unknown \`max_token\``,
    ],
  ])('%s %j is refused as “%s”', (name, args, line) => {
    const text = refusal(name, args);
    expect(text).toContain(`INVALID_REQUEST: Invalid arguments for ${name}: ${line}\n`);
    expect(text).not.toMatch(/Invalid input|Invalid option|Too big|Too small|Unrecognized key|<=|>=/);
  });

  it('names each of several problems, in order', () => {
    expect(refusal('chat', { prompt: 5, priority: 10 })).toContain(
      'Invalid arguments for chat: Expected `prompt` to be a string, got `5` (number); Expected `priority` to be an integer from 0 to 9, got `10` (number)',
    );
  });

  it('never quotes a huge value: a string or an array by its length, a key cut', () => {
    const long = refusal('chat', { prompt: 'hi', model: 'm'.repeat(1_000_000) });
    expect(long).toContain('Expected `model` to be a string of 1 to 256 characters, got 1000000 characters');
    expect(long).not.toContain('mmm');
    const keys = refusal('chat', { prompt: 'hi', ['k'.repeat(1000)]: 1, b: 1, c: 1, d: 1, e: 1, f: 1, g: 1 });
    expect(keys).toContain(`got unknown \`${'k'.repeat(39)}…\`, \`b\`, \`c\`, \`d\`, \`e\` and 2 more`);
    expect(keys.length).toBeLessThan(600);
    const type = refusal('chat', { prompt: 'p'.repeat(100_000), temperature: 'x'.repeat(100_000) });
    expect(type).toContain(
      `Expected \`temperature\` to be a number from 0 to 2, got \`"${'x'.repeat(78)}…\` (string)`,
    );
  });

  it('keeps a refinement’s own words after the argument’s name', () => {
    expect(refusal('chat', {})).toContain(
      'Invalid arguments for chat: arguments: Expected `prompt` or `messages`, got neither',
    );
    expect(refusal('chat', { messages: [{ role: 'tool', content: 'x' }] })).toContain(
      '`messages.0.tool_call_id`: Expected the id of the tool call this tool message answers, got none',
    );
  });
});
