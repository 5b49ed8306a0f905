/**
 * An argument of the wrong kind, or a required one left out, is refused in troupe's words:
 * "`models`: Expected an array, got none". Until 2026-12-07 the line carried zod's own, which
 * said it twice and showed a missing argument as `undefined`:
 * "`models`: Invalid input: expected array, received undefined, got `undefined`".
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

describe('tool arguments of the wrong kind', () => {
  it.each([
    ['consensus', { prompt: 'hi' }, '`models`: Expected an array, got none'],
    [
      'consensus',
      { prompt: 'hi', models: ['sim-fast'] },
      '`models.0`: Expected an object, got `"sim-fast"` (string)',
    ],
    ['chat', { prompt: 'hi', temperature: '0.5' }, '`temperature`: Expected a number, got `"0.5"` (string)'],
    [
      'multi_file_chat',
      { prompt: 'hi', files: 'README.md' },
      '`files`: Expected an array, got `"README.md"` (string)',
    ],
  ])('%s %j is refused as “%s”', (name, args, line) => {
    const text = refusal(name, args);
    expect(text).toContain(`INVALID_REQUEST: Invalid arguments for ${name}: ${line}`);
    expect(text).not.toContain('Invalid input');
  });

  it('keeps zod’s words where they say something else (a bound)', () => {
    expect(refusal('chat', { prompt: 'hi', priority: 12 })).toContain('`priority`: Too big');
  });
});
