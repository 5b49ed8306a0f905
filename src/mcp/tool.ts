/**
 * The shape of a troupe tool and its registration on an `McpServer`.
 *
 * Arguments are validated here rather than by the SDK, so an invalid call comes back as a tool
 * error result naming `INVALID_REQUEST` and the exact argument, like every other troupe error.
 * The SDK still advertises the real JSON Schema: the schema handed to it keeps zod's JSON Schema
 * (converted once) and only defers `validate`.
 */
import type {
  CallToolResult,
  McpServer,
  ServerContext,
  StandardSchemaWithJSON,
} from '@modelcontextprotocol/server';
import type * as z from 'zod';
import { describe, runtimeError } from '../core/errors.js';
import { callerOf } from './caller.js';
import type { McpContext } from './context.js';
import { errorText, type ToolErrorInfo, toolErrorFrom, toolErrorInfo } from './errors.js';
import type { ProgressSink } from './progress.js';
import type { ToolCallContext } from './run-session.js';

export type ToolName =
  | 'chat'
  | 'multi_file_chat'
  | 'consensus'
  | 'list_models'
  | 'sessions'
  | 'cancel_session';

/** What a tool returns: the structured value (matching `output`) and the text a model reads. */
export interface ToolOutcome {
  readonly structured: { readonly ok: boolean; readonly error?: ToolErrorInfo } & Record<string, unknown>;
  readonly text: string;
}

export interface TroupeTool<I extends z.ZodType = z.ZodType, O extends z.ZodType = z.ZodType> {
  readonly name: ToolName;
  readonly title: string;
  readonly description: string;
  readonly input: I;
  readonly output: O;
  /** Whether the tool may run as an MCP task (it calls models and can take long). */
  readonly longRunning: boolean;
  readonly readOnly: boolean;
  run(args: z.output<I>, mcp: McpContext, call: ToolCallContext): Promise<ToolOutcome>;
}

/** A tool error outcome: `{ ok: false, error }` plus whatever else the caller adds. */
export function errorOutcome(error: ToolErrorInfo, extra: Record<string, unknown> = {}): ToolOutcome {
  return { structured: { ok: false, error, ...extra }, text: errorText(error) };
}

export function toCallToolResult(outcome: ToolOutcome): CallToolResult {
  return {
    content: [{ type: 'text', text: outcome.text }],
    structuredContent: outcome.structured,
    ...(outcome.structured.ok ? {} : { isError: true }),
  };
}

/** Validates raw arguments; the message names each wrong argument and what came. */
export function parseArgs<I extends z.ZodType>(
  tool: TroupeTool<I>,
  raw: unknown,
): { ok: true; args: z.output<I> } | { ok: false; outcome: ToolOutcome } {
  const parsed = tool.input.safeParse(raw ?? {});
  if (parsed.success) return { ok: true, args: parsed.data };
  const problems = parsed.error.issues.map((issue) => {
    const path = issue.path.length === 0 ? 'arguments' : `\`${issue.path.map(String).join('.')}\``;
    const got = issue.path.reduce<unknown>(
      (value, key) =>
        value !== null && typeof value === 'object'
          ? (value as Record<PropertyKey, unknown>)[key]
          : undefined,
      raw,
    );
    return `${path}: ${issue.message}${issue.path.length === 0 ? '' : `, got ${describe(got)}`}`;
  });
  const error = runtimeError('INVALID_REQUEST', `Invalid arguments for ${tool.name}: ${problems.join('; ')}`);
  return { ok: false, outcome: errorOutcome(toolErrorInfo(error.toData())) };
}

/** Runs a tool on raw arguments; never throws. Shared by plain calls and task-backed calls. */
export async function invokeTool(
  tool: TroupeTool,
  raw: unknown,
  mcp: McpContext,
  call: ToolCallContext,
): Promise<ToolOutcome> {
  const parsed = parseArgs(tool, raw);
  if (!parsed.ok) return parsed.outcome;
  try {
    return await tool.run(parsed.args, mcp, call);
  } catch (error) {
    mcp.log(
      `troupe mcp: tool ${tool.name} failed: ${error instanceof Error ? error.message : String(error)}`,
    );
    return errorOutcome(toolErrorFrom(error));
  }
}

/**
 * The standard schema the SDK gets for a tool: zod's, with its JSON Schema converted once.
 *
 * The SDK converts a tool's input schema for every call it checks `Mcp-Param-*` headers against,
 * and a stateless (2026-07-28) server is a new `McpServer` per request, so its cache is always
 * empty: for troupe's `chat` schema that conversion was about a sixth of a call's CPU time. The
 * result is frozen, so a consumer that tried to change the shared copy would fail loudly.
 * `deferInput` also defers validation to `parseArgs`, for troupe's own error messages.
 */
function withCachedJsonSchema(schema: z.ZodType, deferInput: boolean): StandardSchemaWithJSON {
  const standard = schema['~standard'] as unknown as StandardSchemaWithJSON['~standard'];
  const converted = new Map<string, Record<string, unknown>>();
  const convert =
    (io: 'input' | 'output') =>
    (options: Parameters<StandardSchemaWithJSON['~standard']['jsonSchema']['input']>[0]) => {
      const key = `${io}:${options.target}`;
      let json = converted.get(key);
      if (json === undefined) {
        json = deepFreeze(standard.jsonSchema[io](options));
        converted.set(key, json);
      }
      return json;
    };
  return {
    '~standard': {
      ...standard,
      ...(deferInput ? { validate: (value: unknown) => ({ value }) } : {}),
      jsonSchema: { input: convert('input'), output: convert('output') },
    },
  };
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
}

/** Each tool's schemas, made once per process rather than per server (one server per request). */
const schemasOf = new WeakMap<
  TroupeTool,
  { input: StandardSchemaWithJSON; output: StandardSchemaWithJSON }
>();

function toolSchemas(tool: TroupeTool): { input: StandardSchemaWithJSON; output: StandardSchemaWithJSON } {
  let schemas = schemasOf.get(tool);
  if (schemas === undefined) {
    schemas = {
      input: withCachedJsonSchema(tool.input, true),
      output: withCachedJsonSchema(tool.output, false),
    };
    schemasOf.set(tool, schemas);
  }
  return schemas;
}

export function registerTool(server: McpServer, tool: TroupeTool, mcp: McpContext): void {
  const schemas = toolSchemas(tool);
  const registered = server.registerTool(
    tool.name,
    {
      title: tool.title,
      description: tool.description,
      inputSchema: schemas.input,
      outputSchema: schemas.output,
      annotations: {
        readOnlyHint: tool.readOnly,
        openWorldHint: tool.longRunning,
        idempotentHint: tool.readOnly,
      },
    },
    (raw: unknown, ctx: ServerContext) => callTool(tool, raw, mcp, ctx),
  );
  // 2025-11-25 clients may call model-calling tools as tasks (the SDK drops `execution` for 2026-07-28).
  if (tool.longRunning) registered.execution = { taskSupport: 'optional' };
}

/** A plain (not task) call: tracked so a closed HTTP stream can cancel it. */
export async function callTool(
  tool: TroupeTool,
  raw: unknown,
  mcp: McpContext,
  ctx: ServerContext,
): Promise<CallToolResult> {
  const tracked = mcp.calls.track(ctx.sessionId, ctx.mcpReq.id);
  try {
    return toCallToolResult(await invokeTool(tool, raw, mcp, callContext(ctx, tracked.signal)));
  } finally {
    tracked.release();
  }
}

/** The tool's view of an SDK request context. */
export function callContext(ctx: ServerContext, extraSignal?: AbortSignal): ToolCallContext {
  const token = ctx.mcpReq._meta?.progressToken;
  const progress: ProgressSink | undefined =
    token === undefined
      ? undefined
      : (progressValue, message) =>
          ctx.mcpReq.notify({
            method: 'notifications/progress',
            params: { progressToken: token, progress: progressValue, message },
          });
  return {
    signal: extraSignal === undefined ? ctx.mcpReq.signal : AbortSignal.any([ctx.mcpReq.signal, extraSignal]),
    requestId: String(ctx.mcpReq.id),
    caller: callerOf(ctx),
    ...(progress === undefined ? {} : { progress }),
  };
}
