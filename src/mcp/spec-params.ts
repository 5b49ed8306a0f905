/**
 * Params of the spec methods the SDK answers itself, checked before it sees them. The SDK validates
 * `prompts/get`, `completion/complete`, `resources/read`, the list methods and `logging/setLevel`
 * against its own schema and answers a wrongly typed param with -32603 and zod's raw dump as the
 * message (SDK issue modelcontextprotocol/typescript-sdk#2284). troupe checks the same spec schema
 * (`specTypeSchemas`) first and answers -32602, one line saying what was expected and what came, in
 * the tools' arguments' words (`argument-issues.ts`; until 2026-12-07 its own, and zod's for a kind
 * it had none for): "Invalid params for prompts/get: Expected `params.name` to be a string, got `42` (number)".
 * `tools/call` is not among them: troupe's own handler checks it (`tool-calls.ts`), and it is the hot path.
 * `initialize` is (the SDK's handshake, over stdio; HTTP answers a refused one before any session,
 * `initializeRefused`).
 */
import { type McpServer, type StandardSchemaV1, specTypeSchemas } from '@modelcontextprotocol/server';
import type * as z from 'zod';
import { parseArguments } from './argument-issues.js';
import { checkParamsFirst } from './sdk-internals.js';

/** Each checked method's request schema in the spec. */
const SCHEMAS = {
  'prompts/get': specTypeSchemas.GetPromptRequest,
  'prompts/list': specTypeSchemas.ListPromptsRequest,
  'completion/complete': specTypeSchemas.CompleteRequest,
  'resources/read': specTypeSchemas.ReadResourceRequest,
  'resources/list': specTypeSchemas.ListResourcesRequest,
  'resources/templates/list': specTypeSchemas.ListResourceTemplatesRequest,
  // troupe's own handlers check `uri` too, in zod's words ("uri: Invalid input: expected string, …").
  'resources/subscribe': specTypeSchemas.SubscribeRequest,
  'resources/unsubscribe': specTypeSchemas.UnsubscribeRequest,
  'tools/list': specTypeSchemas.ListToolsRequest,
  'logging/setLevel': specTypeSchemas.SetLevelRequest,
  // The SDK's own handshake: answered -32603 with zod's dump over stdio (until 2026-12-08).
  initialize: specTypeSchemas.InitializeRequest,
} as const;

export type CheckedMethod = keyof typeof SCHEMAS;

type Params = Record<string, unknown>;

/**
 * The line a client reads after "Invalid params for <method>: " (the first problem), or `undefined`
 * for params the spec takes. The spec schemas are zod's (the SDK's `StandardSchemaV1Sync`: no async
 * refinements), so they parse with troupe's per-parse map as the tools' arguments do.
 */
export function paramsRefusal(method: CheckedMethod, params: unknown): string | undefined {
  const checked = parseArguments(SCHEMAS[method] as unknown as z.ZodType, { method, params });
  return checked.ok ? undefined : checked.problems[0];
}

/**
 * The answer to a 2025-era HTTP `initialize` (not in a batch) whose params the spec refuses, by its
 * id; `undefined` for anything else. The SDK's transport takes only a well-formed one as opening a
 * session, so such a request was told "Mcp-Session-Id header required (or send initialize)" (until
 * 2026-12-08), to a client that had sent initialize.
 */
export function initializeRefused(body: unknown): object | undefined {
  const request = body as { method?: unknown; id?: unknown; params?: unknown } | null;
  if (Array.isArray(body) || request?.method !== 'initialize') return undefined;
  const problem = paramsRefusal('initialize', request.params);
  if (problem === undefined) return undefined;
  const id = typeof request.id === 'string' || typeof request.id === 'number' ? request.id : null;
  return {
    jsonrpc: '2.0',
    id,
    error: { code: -32602, message: `Invalid params for initialize: ${problem}` },
  };
}

/** A params schema for `setRequestHandler` that refuses with one line; built once per method. */
function paramsSchema(method: CheckedMethod): StandardSchemaV1<Params, Params> {
  return {
    '~standard': {
      version: 1,
      vendor: 'troupe',
      validate(params) {
        const message = paramsRefusal(method, params);
        return message === undefined ? { value: params as Params } : { issues: [{ message }] };
      },
    },
  };
}

const PARAMS = Object.fromEntries(
  Object.keys(SCHEMAS).map((method) => [method, paramsSchema(method as CheckedMethod)]),
) as Record<CheckedMethod, StandardSchemaV1<Params, Params>>;

/** Puts the check in front of each of these methods' handlers that `server` has. */
export function checkSpecParams(server: McpServer): void {
  for (const method of Object.keys(PARAMS) as CheckedMethod[])
    checkParamsFirst(server, method, PARAMS[method]);
}
