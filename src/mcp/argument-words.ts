/**
 * `withArgumentWords(schema)`: an embedder's own tool refused in troupe's words. The SDK checks a
 * tool's arguments it answers itself (`server.registerTool`) through the schema's Standard Schema
 * `validate`, in zod's words ("word: Invalid input: expected string, received number"); this wraps
 * a zod schema so that `validate` parses with troupe's per-parse map (`argument-issues.ts`), as
 * troupe's tools do: "Expected `word` to be a string, got `5` (number)". Nothing global changes
 * (`z.config` would reword every zod error in the process); the JSON Schema `tools/list` shows is
 * the schema's own.
 */
import type { StandardSchemaWithJSON } from '@modelcontextprotocol/server';
import type * as z from 'zod';
import { parseArguments } from './argument-issues.js';

/** `schema`, validated in troupe's words; pass it as `inputSchema` (or any Standard Schema slot). */
export function withArgumentWords<S extends z.ZodType>(
  schema: S,
): StandardSchemaWithJSON<z.input<S>, z.output<S>> {
  return {
    '~standard': {
      ...schema['~standard'],
      validate(value) {
        const parsed = parseArguments(schema, value);
        return parsed.ok
          ? { value: parsed.data }
          : { issues: parsed.problems.map((message) => ({ message })) };
      },
    },
  };
}
