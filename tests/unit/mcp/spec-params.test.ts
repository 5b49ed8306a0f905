/**
 * The spec methods' params in the tools' arguments' words (`argument-issues.ts`): the line a client
 * reads after "Invalid params for <method>: " (over the SDK's real client:
 * `tests/integration/security/spec-params.test.ts`).
 */
import { describe, expect, it } from 'vitest';
import { paramsRefusal } from '../../../src/mcp/spec-params.js';

describe('paramsRefusal: a spec params issue as one line', () => {
  it('says the path, what was expected and what came', () => {
    expect(paramsRefusal('prompts/get', { name: 'chat', arguments: [1] })).toBe(
      'Expected `params.arguments` to be an object, got `[1]` (array)',
    );
    expect(paramsRefusal('prompts/get', {})).toBe('Expected `params.name` to be a string, got none');
    expect(paramsRefusal('prompts/get', 'x')).toBe('Expected `params` to be an object, got `"x"` (string)');
  });

  it('takes the params the spec takes', () => {
    expect(paramsRefusal('prompts/get', { name: 'chat', arguments: { topic: 'tides' } })).toBeUndefined();
    expect(paramsRefusal('tools/list', undefined)).toBeUndefined();
    expect(paramsRefusal('logging/setLevel', { level: 'debug' })).toBeUndefined();
  });

  it('names a literal as a tool’s argument has it, and a union by its forms', () => {
    expect(paramsRefusal('logging/setLevel', { level: 'loud' })).toBe(
      'Expected `params.level` to be one of `"debug"`, `"info"`, `"notice"`, `"warning"`, `"error"`, `"critical"`, `"alert"`, `"emergency"`, got `"loud"` (string)',
    );
    expect(paramsRefusal('tools/list', { _meta: { progressToken: true } })).toBe(
      'Expected `params._meta.progressToken` to be a string or a number, got `true` (boolean)',
    );
    expect(
      paramsRefusal('completion/complete', { ref: { type: 'ref/x' }, argument: { name: 'a', value: '' } }),
    ).toBe(
      'Expected `params.ref` to be { type: `"ref/prompt"`, name: a string } or { type: `"ref/resource"`, uri: a string }, got `{"type":"ref/x"}` (object)',
    );
  });

  it('keeps a client’s key on one line and short', () => {
    const key = `a\n${'k'.repeat(100_000)}`;
    const line = paramsRefusal('prompts/get', { name: 'chat', arguments: { [key]: 1 } });
    expect(line).not.toContain('\n');
    expect(line).toBe(
      `Expected \`params.arguments.a\\n${'k'.repeat(36)}…\` to be a string, got \`1\` (number)`,
    );
  });

  it('says the first wrong param only', () => {
    expect(paramsRefusal('prompts/get', { name: 1, arguments: { a: 2 } })).toBe(
      'Expected `params.name` to be a string, got `1` (number)',
    );
  });
});
