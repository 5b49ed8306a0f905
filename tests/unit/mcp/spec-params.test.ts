import { describe, expect, it } from 'vitest';
import { said } from '../../../src/mcp/spec-params.js';

describe('said: a spec params issue as one line', () => {
  it('says the path, what was expected and what came', () => {
    const issue = { code: 'invalid_type', expected: 'record', path: ['params', 'arguments'], message: 'x' };
    expect(said(issue, { params: { arguments: [1] } })).toBe(
      'Expected `params.arguments` to be an object, got `[1]` (array)',
    );
    expect(said({ ...issue, expected: 'string', path: ['params', 'name'] }, { params: {} })).toBe(
      'Expected `params.name` to be a string, got none',
    );
  });

  it('keeps a client’s key on one line and short', () => {
    const key = `a\n${'k'.repeat(100_000)}`;
    const issue = {
      code: 'invalid_type',
      expected: 'string',
      path: ['params', 'arguments', key],
      message: 'x',
    };
    const line = said(issue, { params: { arguments: { [key]: 1 } } });
    expect(line).not.toContain('\n');
    expect(line).toBe(
      `Expected \`params.arguments.a\\n${'k'.repeat(60)}…\` to be a string, got \`1\` (number)`,
    );
  });

  it('falls back to the schema’s own words for an issue it has no words for', () => {
    const issue = { code: 'too_big', path: ['params', 'cursor'], message: 'Too big: expected at most 3' };
    expect(said(issue, { params: { cursor: 'abcd' } })).toBe(
      'Expected `params.cursor` to be as the MCP schema says (Too big: expected at most 3), got `"abcd"` (string)',
    );
  });
});
