/**
 * `withArgumentWords` (src/mcp/argument-words.ts), called directly through the Standard Schema
 * `validate` the SDK calls: the value parsed, or one issue per wrong argument in troupe's words.
 * Over the SDK's client and server: tests/integration/mcp/argument-words.test.ts.
 */
import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import { withArgumentWords } from '../../../src/mcp/argument-words.js';

const lookup = z.object({ word: z.string().min(1), limit: z.int().min(1).max(9).default(3) });

describe('withArgumentWords', () => {
  it('gives the parsed value, defaults filled in, and no issues', async () => {
    const worded = withArgumentWords(lookup);
    expect(await worded['~standard'].validate({ word: 'tide' })).toEqual({
      value: { word: 'tide', limit: 3 },
    });
  });

  it('gives one issue per wrong argument, each a message in troupe’s words', async () => {
    const worded = withArgumentWords(lookup);
    expect(await worded['~standard'].validate({ word: 5, limit: 12 })).toEqual({
      issues: [
        { message: 'Expected `word` to be a string, got `5` (number)' },
        { message: 'Expected `limit` to be an integer from 1 to 9, got `12` (number)' },
      ],
    });
  });

  it('keeps the schema’s own Standard Schema parts: its vendor, version and JSON Schema', () => {
    const standard = withArgumentWords(lookup)['~standard'];
    expect(standard.vendor).toBe('zod');
    expect(standard.version).toBe(1);
    expect(standard.jsonSchema.input({ target: 'draft-2020-12' })).toEqual(
      lookup['~standard'].jsonSchema.input({ target: 'draft-2020-12' }),
    );
  });
});
