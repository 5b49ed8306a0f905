/**
 * Params of the spec methods the SDK answers itself, checked before it sees them. The SDK validates
 * `prompts/get`, `completion/complete`, `resources/read`, the list methods and `logging/setLevel`
 * against its own schema and answers a wrongly typed param with -32603 and zod's raw dump as the
 * message (SDK issue modelcontextprotocol/typescript-sdk#2284). troupe checks the same spec schema
 * (`specTypeSchemas`) first and answers -32602, one line saying what was expected and what came:
 * "Invalid params for prompts/get: Expected `params.name` to be a string, got `42` (number)".
 * `tools/call` is not among them: troupe's own handler checks it (`tool-calls.ts`), and it is the hot path.
 */
import { type McpServer, type StandardSchemaV1, specTypeSchemas } from '@modelcontextprotocol/server';
import { describe } from '../core/errors.js';
import { typeNoun } from '../core/type-noun.js';
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
} as const;

export type CheckedMethod = keyof typeof SCHEMAS;

/** The zod issue fields read here (the spec schemas are zod's; others give only a message). */
interface Issue {
  readonly code?: string;
  readonly message: string;
  readonly path?: readonly (PropertyKey | { readonly key: PropertyKey })[] | undefined;
  readonly expected?: string;
  readonly values?: readonly unknown[];
  readonly errors?: readonly (readonly Issue[])[];
}

type Params = Record<string, unknown>;

/** A params schema for `setRequestHandler` that refuses with one line; built once per method. */
function paramsSchema(method: CheckedMethod): StandardSchemaV1<Params, Params> {
  const spec = SCHEMAS[method]['~standard'];
  return {
    '~standard': {
      version: 1,
      vendor: 'troupe',
      validate(params) {
        const checked = spec.validate({ method, params });
        // The spec schemas have no async refinements; were a new SDK's to have one, the SDK checks.
        if (checked instanceof Promise || checked.issues === undefined) return { value: params as Params };
        const [first] = checked.issues as readonly Issue[];
        return { issues: [{ message: first === undefined ? 'Invalid params' : said(first, { params }) }] };
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

/** "Expected `params.name` to be a string, got `42` (number)", from the first issue. */
export function said(issue: Issue, request: { readonly params: unknown }): string {
  const path = keys(issue.path);
  const got = path.reduce<unknown>(
    (value, key) =>
      value !== null && typeof value === 'object' ? (value as Record<PropertyKey, unknown>)[key] : undefined,
    request,
  );
  return `Expected \`${shown(path)}\` to be ${wanted(issue)}, got ${got === undefined ? 'none' : describe(got)}`;
}

/** What the issue asks for, as a noun: `a string`, `one of "debug", "info"`, a union's forms. */
function wanted(issue: Issue): string {
  if (issue.code === 'invalid_type' && issue.expected !== undefined) return typeNoun(issue.expected);
  if (issue.code === 'invalid_value' && issue.values !== undefined)
    return issue.values.length === 1
      ? JSON.stringify(issue.values[0])
      : `one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
  if (issue.code === 'invalid_union' && issue.errors !== undefined) {
    const forms = issue.errors.map((branch) => {
      const top = branch.find((i) => keys(i.path).length === 0);
      if (top !== undefined) return wanted(top);
      return `{ ${branch.map((i) => `${shown(keys(i.path))}: ${wanted(i)}`).join(', ')} }`;
    });
    return [...new Set(forms)].join(' or ');
  }
  return `as the MCP schema says (${issue.message})`;
}

function keys(path: Issue['path']): PropertyKey[] {
  return (path ?? []).map((at) => (typeof at === 'object' && at !== null ? at.key : at));
}

/**
 * A path on one line and short: a key is the client's own (`params.arguments`' names), so one with a
 * line break or of 64 KiB is escaped and cut, not echoed whole.
 */
function shown(path: readonly PropertyKey[]): string {
  return path
    .map((key) => {
      const text = JSON.stringify(String(key)).slice(1, -1);
      return text.length > MAX_KEY_CHARS ? `${text.slice(0, MAX_KEY_CHARS - 1)}…` : text;
    })
    .join('.');
}

const MAX_KEY_CHARS = 64;
