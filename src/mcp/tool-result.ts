/**
 * What a `withSession` handler returned, held to MCP's `CallToolResult` before it is answered. The
 * SDK's server sends a handler's result as it is, and its client refuses one the schema does not
 * take: until 2026-12-07 a result with `content: 'text'`, a content block of an unknown `type` or
 * `isError: 'yes'` ended its session `done` and the client got "Invalid tools/call result" and zod's
 * issues, with no code or session; one JSON cannot carry (a bigint, a cycle) failed the transport's
 * write, and the client waited until its own timeout, with nothing answered.
 *
 * A result without `content` is answered with `content: []`. MCP's schema requires the field but
 * lets it be empty, and the SDK v2 takes a handler's result without it as empty (its `CallToolResult`
 * schema defaults it; its `McpServer` answers `{ content: [] }`, "v1 parity"), so `{}` or
 * `{ structuredContent }` alone is a valid result, not a mistake. Until 2026-12-07 troupe passed it
 * on as it came, and a path that did not add the field (a server of the embedder's own) sent a
 * result a strict client refuses (the Python SDK: "content Field required"). One without `content`
 * that carries another result's field (`task`, `inputRequests`, `requestState`) is refused, as the
 * SDK refuses it, rather than answered as an empty success.
 */
import { type CallToolResult, specTypeSchemas } from '@modelcontextprotocol/server';
import type * as z from 'zod';
import { runtimeError } from '../core/errors.js';
import { parseArguments } from './argument-issues.js';

const EXPECTED = "Expected the tool's handler to return a CallToolResult ({ content: [...] })";

/** Fields of other results, which a result without `content` must not carry (the SDK's `TOOL_RESULT_FOREIGN_FAMILY_KEYS`). */
const OTHER_RESULTS = ['task', 'inputRequests', 'requestState'] as const;

/** `value` if MCP and JSON can carry it as a tool's result (with `content: []` if it had none); else an `INTERNAL` error saying why. */
export function toolResult(value: CallToolResult): CallToolResult {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw runtimeError(
      'INTERNAL',
      `${EXPECTED}, got ${value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value}`,
    );
  const contentless = value.content === undefined;
  const other = contentless ? OTHER_RESULTS.find((key) => key in value) : undefined;
  if (other !== undefined)
    throw runtimeError(
      'INTERNAL',
      `${EXPECTED}, got one without \`content\` that carries \`${other}\`, another result's field`,
    );
  // The spec schemas are zod's, worded as the tools' arguments and the spec methods' params are.
  const checked = parseArguments(specTypeSchemas.CallToolResult as unknown as z.ZodType, value);
  if (!checked.ok) throw runtimeError('INTERNAL', `${EXPECTED}: ${checked.problems[0]}`);
  const refused = jsonRefusal(value, new Set());
  if (refused !== undefined)
    throw runtimeError('INTERNAL', `${EXPECTED} that JSON can carry, got one it cannot: ${refused}`);
  return contentless ? { ...value, content: [] } : value;
}

/**
 * Why `JSON.stringify` would refuse `value` (a bigint, a cycle, a `toJSON` that throws), or
 * `undefined`; read without building the text, and no string is read, so a long answer costs no more
 * than a short one (the transport serialises it once, after). Measured on a busy machine, a result
 * of a 1 MiB text and 1,000 rows: 15 ms to count its JSON bytes (`jsonBytes`), 1 ms for this walk.
 * A value nested past the stack is refused, as `JSON.stringify` refuses it.
 */
function jsonRefusal(value: unknown, above: Set<object>): string | undefined {
  if (typeof value === 'bigint') return 'a bigint';
  if (typeof value !== 'object' || value === null) return undefined;
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return stringifyRefusal(value);
  if (above.has(value)) return 'a cycle';
  above.add(value);
  try {
    for (const member of Array.isArray(value) ? value : Object.values(value)) {
      const refused = jsonRefusal(member, above);
      if (refused !== undefined) return refused;
    }
  } catch (error) {
    if (error instanceof RangeError) return 'nesting deeper than the stack';
    throw error;
  }
  above.delete(value);
  return undefined;
}

function stringifyRefusal(value: object): string | undefined {
  try {
    JSON.stringify(value);
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : 'a value JSON.stringify refuses';
  }
}
