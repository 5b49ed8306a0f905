/**
 * What a `withSession` handler returned, held to MCP's `CallToolResult` before it is answered. The
 * SDK's server sends a handler's result as it is, and its client refuses one the schema does not
 * take: until 2026-12-07 a result with `content: 'text'`, a content block of an unknown `type` or
 * `isError: 'yes'` ended its session `done` and the client got "Invalid tools/call result" and zod's
 * issues, with no code or session; one JSON cannot carry (a bigint, a cycle) failed the transport's
 * write, and the client waited until its own timeout, with nothing answered.
 */
import { type CallToolResult, specTypeSchemas } from '@modelcontextprotocol/server';
import type * as z from 'zod';
import { runtimeError } from '../core/errors.js';
import { jsonBytes } from '../core/json-bytes.js';
import { parseArguments } from './argument-issues.js';

const EXPECTED = "Expected the tool's handler to return a CallToolResult ({ content: [...] })";

/** `value` if MCP and JSON can carry it as a tool's result; else an `INTERNAL` error saying why. */
export function toolResult(value: CallToolResult): CallToolResult {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw runtimeError(
      'INTERNAL',
      `${EXPECTED}, got ${value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value}`,
    );
  // The spec schemas are zod's, worded as the tools' arguments and the spec methods' params are.
  const checked = parseArguments(specTypeSchemas.CallToolResult as unknown as z.ZodType, value);
  if (!checked.ok) throw runtimeError('INTERNAL', `${EXPECTED}: ${checked.problems[0]}`);
  try {
    // Counted without building the text; throws where JSON.stringify would.
    jsonBytes(value);
  } catch (error) {
    throw runtimeError(
      'INTERNAL',
      `${EXPECTED} that JSON can carry, got one it cannot: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  return value;
}
