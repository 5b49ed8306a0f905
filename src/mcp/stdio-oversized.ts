/**
 * An answer too large for stdout's bound on what waits unsent (`maxUnsentBytes`, `stdio-output.ts`)
 * even with nothing else waiting: a provider's answer near its own 64 MiB cap is one (its text goes
 * in `content` and again in `structuredContent`, escaped). It can never be sent within the bound,
 * and the host has done nothing wrong, so it goes as an error for its id instead: the host hears
 * why, and the server goes on. Until 2026-12-07 such an answer was taken for a host that stopped
 * reading: `troupe stdio` stopped, every call of the host's cancelled and this one never answered.
 */
import { runtimeError } from '../core/errors.js';
import { toolErrorInfo } from './errors.js';
import { errorOutcome, toCallToolResult } from './tool.js';

/** JSON-RPC's "Internal error", for an answer that was no tool result. */
const INTERNAL_ERROR = -32603;

/**
 * The line to send in place of `line`, one JSON-RPC message longer than `limit` characters: a tool
 * result (`tools/call`, a task's `tasks/result`) becomes an `isError` result keeping the session's
 * metadata (what the call did and cost) and `_meta`, any other answer a -32603 error, both for the
 * same id. `undefined` when `line` is no answer (a notification or a request): nobody waits on it.
 */
export function oversizedAnswer(line: string, limit: number): string | undefined {
  const text = `Expected an answer of at most ${limit} characters on stdout, got ${line.length}: it was not sent; ask for a shorter one (max_tokens)`;
  const answer = answerInstead(line, text);
  return answer === undefined ? undefined : `${answer}\n`;
}

/**
 * The line to send in place of `line`, one JSON-RPC answer that does not fit beside the answers
 * waiting for the host under `limit` characters (several large answers at once, read slowly), as
 * `oversizedAnswer`; `undefined` when `line` is no answer.
 */
export function answerBeside(line: string, limit: number): string | undefined {
  const text = `Expected an answer to fit the ${limit} characters that may wait unsent on stdout beside the answers waiting for the host, got ${line.length}: it was not sent; ask again once they are read, or for a shorter one (max_tokens)`;
  const answer = answerInstead(line, text);
  return answer === undefined ? undefined : `${answer}\n`;
}

/**
 * The JSON-RPC message to send in place of `json`, an answer too large to send, saying `text`:
 * as `oversizedAnswer` (also over HTTP, `http-oversized.ts`); `undefined` when `json` is no answer.
 */
export function answerInstead(json: string, text: string): string | undefined {
  let message: unknown;
  try {
    // Stryker disable BlockStatement: the catch block below; emptied, `message` stays undefined, which has no `id` either.
    message = JSON.parse(json);
  } catch {
    // Stryker restore BlockStatement
    return undefined;
  }
  // A primitive has no `id`, and JSON has no `undefined`: an answer is an object with an id and a
  // `result` or an `error`.
  const { id, result, error } = (message ?? {}) as { id?: unknown; result?: unknown; error?: unknown };
  if ((typeof id !== 'string' && typeof id !== 'number') || (result === undefined && error === undefined))
    return undefined;
  const answer = toolResult(result, text) ?? { error: { code: INTERNAL_ERROR, message: text } };
  return JSON.stringify({ jsonrpc: '2.0', id, ...answer });
}

function toolResult(result: unknown, text: string): { result: Record<string, unknown> } | undefined {
  if (typeof result !== 'object' || result === null) return undefined;
  // `resultType` too: a 2026-07-28 client refuses a result without the one its server sent.
  const { content, structuredContent, _meta, resultType } = result as Record<string, unknown>;
  if (!Array.isArray(content)) return undefined;
  const session = (structuredContent as { session?: unknown } | undefined)?.session;
  const info = toolErrorInfo(runtimeError('INVALID_REQUEST', text).toData());
  // A key whose value is `undefined` is left out of the line: no session, `_meta` or `resultType`, none sent.
  return { result: { ...toCallToolResult(errorOutcome(info, { session })), _meta, resultType } };
}
