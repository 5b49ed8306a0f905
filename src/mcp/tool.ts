/**
 * The shape of a troupe tool: its schemas, how it runs, and how it is listed.
 *
 * Arguments are validated here, so an invalid call comes back as a tool error result naming
 * `INVALID_REQUEST` and the exact argument, like every other troupe error.
 */
import type { CallToolResult, ServerContext, Tool } from '@modelcontextprotocol/server';
import type * as z from 'zod';
import { runtimeError } from '../core/errors.js';
import { MAX_PRIORITY } from '../core/scheduler.js';
import type { Runtime, RuntimeStatus } from '../runtime/types.js';
import { AnswerBudgetSpent } from './answer-budget.js';
import { parseArguments } from './argument-issues.js';
import { callerOf } from './caller.js';
import type { McpContext } from './context.js';
import { errorText, type ToolErrorInfo, toolErrorFrom, toolErrorInfo } from './errors.js';
import { portableSchema } from './portable-schema.js';
import type { ProgressSink } from './progress.js';
import { keptRequestId } from './request-ids.js';
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
  /**
   * The description for one server, when it depends on the server's settings (`multi_file_chat`
   * states its file caps): `tools/list` shows it in place of `description`.
   */
  readonly describe?: (mcp: McpContext) => string;
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
  const result: CallToolResult = {
    content: [{ type: 'text', text: outcome.text }],
    structuredContent: outcome.structured,
  };
  if (!outcome.structured.ok) result.isError = true;
  return result;
}

/**
 * Validates raw arguments; the message names each wrong argument, what it should be and what came
 * (`parseArguments`: troupe's words for the common kinds, a refinement's own after the argument's
 * name, as `chat`'s "Expected `prompt` or `messages`").
 */
export function parseArgs<I extends z.ZodType>(
  tool: TroupeTool<I>,
  raw: unknown,
): { ok: true; args: z.output<I> } | { ok: false; outcome: ToolOutcome } {
  const parsed = parseArguments(tool.input, raw ?? {});
  if (parsed.ok) return { ok: true, args: parsed.data };
  const error = runtimeError(
    'INVALID_REQUEST',
    `Invalid arguments for ${tool.name}: ${parsed.problems.join('; ')}`,
  );
  return { ok: false, outcome: errorOutcome(toolErrorInfo(error.toData())) };
}

/**
 * Runs a tool on raw arguments. Throws only `AnswerBudgetSpent` (`answer-budget.ts`: a call of an
 * HTTP request whose answers carried their budget). Shared by plain calls and task-backed calls.
 */
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
    // The HTTP request's answer budget is spent: a JSON-RPC error for the client, not a tool's.
    if (error instanceof AnswerBudgetSpent) throw error;
    mcp.log(
      `troupe mcp: tool ${tool.name} failed: ${error instanceof Error ? error.message : String(error)}`,
    );
    return errorOutcome(toolErrorFrom(error));
  }
}

/** A tool as `tools/list` shows it. */
export interface ToolDefinition {
  readonly name: string;
  readonly title: string;
  readonly description: string;
  readonly inputSchema: Tool['inputSchema'];
  readonly outputSchema: NonNullable<Tool['outputSchema']>;
  readonly annotations: {
    readonly readOnlyHint: boolean;
    readonly openWorldHint: boolean;
    readonly idempotentHint: boolean;
  };
  /** 2025-11-25 clients may call model-calling tools as tasks (the SDK drops `execution` for 2026-07-28). */
  readonly execution?: { readonly taskSupport: 'optional' };
}

/**
 * Each schema's JSON Schema, converted once per process. A stateless (2026-07-28) server is a new
 * `McpServer` per request, so a per-server cache would always be empty; for `chat` the conversion
 * was about a sixth of a call's CPU time. Frozen, so a consumer that changed the shared copy would
 * fail loudly. Kept apart for input and output: one schema converts differently for each (a field
 * with a default is optional in what a caller sends, always there in what it gets).
 */
const jsonSchemas = {
  input: new WeakMap<z.ZodType, Tool['inputSchema']>(),
  output: new WeakMap<z.ZodType, Tool['inputSchema']>(),
};

/** Troupe's schemas are all `z.object`s, so the JSON Schema has `type: 'object'`. */
function jsonSchemaOf(schema: z.ZodType, io: 'input' | 'output'): Tool['inputSchema'] {
  let json = jsonSchemas[io].get(schema);
  if (json === undefined) {
    // The SDK's conversion for a registered tool's schemas (JSON Schema 2020-12), made portable.
    json = deepFreeze(
      portableSchema(schema['~standard'].jsonSchema[io]({ target: 'draft-2020-12' })) as Tool['inputSchema'],
    );
    jsonSchemas[io].set(schema, json);
  }
  return json;
}

/** `Object.isFrozen` says true of a primitive, so only objects not yet frozen are walked. */
function deepFreeze<T>(value: T): T {
  if (!Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value as object)) deepFreeze(inner);
  }
  return value;
}

/** The tool as `tools/list` shows it; with `mcp`, its description for that server (`describe`). */
export function toolDefinition(tool: TroupeTool, mcp?: McpContext): ToolDefinition {
  const inputSchema = jsonSchemaOf(tool.input, 'input');
  return {
    name: tool.name,
    title: tool.title,
    description: describedFor(tool, inputSchema, mcp),
    inputSchema,
    outputSchema: jsonSchemaOf(tool.output, 'output'),
    annotations: {
      readOnlyHint: tool.readOnly,
      openWorldHint: tool.longRunning,
      idempotentHint: tool.readOnly,
    },
    ...(tool.longRunning ? { execution: { taskSupport: 'optional' as const } } : {}),
  };
}

/**
 * A tool's description on one server: its own for that server; the run deadline and the priority a
 * call that gives none gets, as this server's runtime resolved them (until 2026-12-07 `timeout_ms`
 * said "120000 unless set" on a server started with `--timeout-ms 300000`, so a model that wanted
 * 5 minutes asked for less); and, where the server caps `priority` below the schema's 9, that cap,
 * which a call past is refused by (until 2026-12-07 only the refusal said so: a model read "0
 * (lowest) to 9 (highest)", sent 9, and was refused).
 */
function describedFor(
  tool: TroupeTool,
  inputSchema: Tool['inputSchema'],
  mcp: McpContext | undefined,
): string {
  if (mcp === undefined) return tool.description;
  const said = [tool.describe === undefined ? tool.description : tool.describe(mcp)];
  const takes = inputSchema.properties ?? {};
  if (takes.timeout_ms !== undefined && takes.priority !== undefined) {
    const { timeoutMs, priority } = defaultsOf(mcp.runtime);
    said.push(
      `On this server a call that gives no \`timeout_ms\` has ${timeoutMs} ms to run, and one that gives no \`priority\` runs at ${priority}.`,
    );
  }
  if (mcp.maxCallerPriority < MAX_PRIORITY && takes.priority !== undefined) {
    said.push(
      `On this server \`priority\` is at most ${mcp.maxCallerPriority} (calls with an admin token excepted); a higher one is refused.`,
    );
  }
  return said.join(' ');
}

/** A runtime's defaults, read once: a stateless server lists its tools on every request. */
const runtimeDefaults = new WeakMap<Runtime, RuntimeStatus['defaults']>();

function defaultsOf(runtime: Runtime): RuntimeStatus['defaults'] {
  let defaults = runtimeDefaults.get(runtime);
  if (defaults === undefined) {
    // Stryker disable next-line ObjectLiteral: `recent: 0` only spares building the ended sessions' list; the defaults are the same.
    defaults = runtime.status({ recent: 0 }).defaults;
    runtimeDefaults.set(runtime, defaults);
  }
  return defaults;
}

/** The tool's view of an SDK request context; `signal` (default the request's) is the call's abort signal. */
export function callContext(ctx: ServerContext, signal: AbortSignal = ctx.mcpReq.signal): ToolCallContext {
  const token = ctx.mcpReq._meta?.progressToken;
  const progress: ProgressSink | undefined =
    token === undefined
      ? undefined
      : (progressValue, message) =>
          ctx.mcpReq.notify({
            method: 'notifications/progress',
            params: { progressToken: token, progress: progressValue, message },
          });
  const call: { -readonly [K in keyof ToolCallContext]: ToolCallContext[K] } = {
    signal,
    requestId: keptRequestId(ctx.mcpReq.id),
    caller: callerOf(ctx),
    log: (level, data) => {
      ctx.mcpReq.log(level, data, 'troupe').catch(() => {
        // The client may be gone; its cancellation reaches the session by the signal.
      });
    },
  };
  if (progress !== undefined) call.progress = progress;
  if (ctx.http?.req !== undefined) call.httpRequest = ctx.http.req;
  return call;
}
