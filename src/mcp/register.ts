/**
 * `registerTools`: troupe's tools on an `McpServer` someone else owns, with the same progress,
 * cancellation, tasks and session metadata as `troupe serve` (which is built on it).
 */
import type { McpServer } from '@modelcontextprotocol/server';
import { runtimeError } from '../core/errors.js';
import { onlyKeys } from '../runtime/option-keys.js';
import type { Runtime } from '../runtime/types.js';
import { createMcpContext, type McpContext, type McpContextOptions } from './context.js';
import { CONTEXT_KEYS } from './context-keys.js';
import { installPrompts } from './prompts.js';
import { installResources } from './resources.js';
import { installTasks } from './tasks/task-handlers.js';
import type { ToolName, TroupeTool } from './tool.js';
import { installToolCalls } from './tool-calls.js';
import { cancelSessionTool } from './tools/cancel-session.js';
import { chatTool } from './tools/chat.js';
import { consensusTool } from './tools/consensus.js';
import { listModelsTool } from './tools/list-models.js';
import { multiFileChatTool } from './tools/multi-file-chat.js';
import { sessionsTool } from './tools/sessions.js';

export const TOOLS: readonly TroupeTool[] = [
  chatTool,
  multiFileChatTool,
  consensusTool,
  listModelsTool,
  sessionsTool,
  cancelSessionTool,
] as readonly TroupeTool[];

/** Every troupe tool name, in the order `tools/list` shows them. */
export const TOOL_NAMES: readonly ToolName[] = TOOLS.map((tool) => tool.name);

export interface RegisterToolsOptions extends Omit<McpContextOptions, 'runtime'> {
  /** Which tools to add. @default all six (`TOOL_NAMES`) */
  readonly tools?: readonly ToolName[];
  /** Put before every tool name (`'troupe_'` gives `troupe_chat`). @default '' */
  readonly prefix?: string;
  /**
   * Share one context (conversations, tasks, live sessions) across several servers, e.g. one per
   * HTTP connection. The context's options (`createMcpContext`'s: `catalog`, `sessionFilter`, ...)
   * are then its own: one given here too throws `INVALID_REQUEST`; `tools`, `prefix`, `resources`
   * and `prompts` stay this call's. @default a new context
   */
  readonly context?: McpContext;
  /**
   * Also add troupe's resources, as `troupe serve` has them: `troupe://sessions` and
   * `troupe://sessions/{id}` (subscribable, filtered by `sessionFilter`), `troupe://models` and
   * `troupe://charts/{machine}` (the `charts` given). @default false
   */
  readonly resources?: boolean;
  /** Also add troupe's prompts (`second_opinion`, `review`), as `troupe serve` has them. @default false */
  readonly prompts?: boolean;
}

// What registerTools takes: the context's options but its runtime, and its own three. From
// JavaScript a misspelt `tool: ["chat"]` used to be ignored, and all six tools were registered.
const { runtime: _runtime, ...CONTEXT_OPTION_KEYS } = CONTEXT_KEYS;
const OPTION_KEYS = {
  tools: true,
  prefix: true,
  context: true,
  resources: true,
  prompts: true,
  ...CONTEXT_OPTION_KEYS,
} as const satisfies Record<keyof RegisterToolsOptions, true>;

export interface RegisteredTools {
  /** The names as registered, prefix included. */
  readonly names: readonly string[];
  readonly context: McpContext;
  /** Stops the context's timers if `registerTools` created it; never shuts the runtime down. */
  close(): void;
}

/**
 * Adds troupe's tools to `server`. Call it before `server.connect()` (it declares the tasks
 * capability). Tools you register yourself, before or after, keep working: troupe's `tools/list`
 * and `tools/call` (plain calls and MCP tasks, `tool-calls.ts`) pass every other name to yours.
 * A name troupe registers hides one of yours with the same name.
 */
export function registerTools(
  server: McpServer,
  runtime: Runtime,
  options: RegisterToolsOptions = {},
): RegisteredTools {
  onlyKeys('registerTools options', options, OPTION_KEYS);
  refuseUnused(options);
  const own = options.context === undefined;
  const {
    tools: _tools,
    prefix: _prefix,
    context: given,
    resources: _resources,
    prompts: _prompts,
    ...contextOptions
  } = options;
  const context = given ?? createMcpContext({ ...contextOptions, runtime });
  if (context.runtime !== runtime) {
    throw runtimeError('INVALID_REQUEST', 'Expected `context` to be built on the same runtime as `runtime`');
  }
  const chosen = pickTools(options.tools);
  const prefix = toolPrefix(options.prefix, chosen);
  const tools = chosen.map((tool) =>
    prefix === '' ? tool : ({ ...tool, name: `${prefix}${tool.name}` as ToolName } as TroupeTool),
  );
  if (tools.length > 0) {
    installTasks(server, context);
    installToolCalls(server, context, tools);
  }
  if (options.resources === true) installResources(server, context, 'subscribed');
  // A prompt comes only with its tool, named as registered (`prompts.ts`); until 2026-12-06 both came
  // whatever `tools` chose, and told the host's model to call `chat` whatever the prefix.
  if (options.prompts === true)
    installPrompts(
      server,
      context,
      chosen.map((tool) => tool.name),
      prefix,
    );
  return {
    names: tools.map((tool) => tool.name),
    context,
    close: () => {
      if (own) context.close();
    },
  };
}

/**
 * `charts` and `sessionFilter` shape troupe's resources only: given without `resources: true` they
 * did nothing (until 2026-12-04, silently), so they are refused by name.
 */
function refuseUnused(options: RegisterToolsOptions): void {
  // Beside a context of yours, the context's own options apply: one given here would do nothing
  // (`{ context, resources: true, sessionFilter }` listed every caller's sessions until 2026-12-04).
  if (options.context !== undefined) {
    const ignored = Object.keys(CONTEXT_OPTION_KEYS).find(
      (key) => options[key as keyof RegisterToolsOptions] !== undefined,
    );
    if (ignored !== undefined) {
      throw runtimeError(
        'INVALID_REQUEST',
        `Expected no \`${ignored}\` beside \`context\`: the context's own options apply; give it to createMcpContext`,
      );
    }
  }
  if (options.resources === true) return;
  for (const key of ['charts', 'sessionFilter'] as const) {
    if (options[key] !== undefined) {
      throw runtimeError(
        'INVALID_REQUEST',
        `Expected \`resources: true\` with \`${key}\`: it shapes troupe's resources (troupe://sessions, troupe://charts), which registerTools adds only when asked`,
      );
    }
  }
}

/**
 * MCP's tool-name format (SEP-986, which the SDK's `registerTool` checks, and hosts rely on: some
 * refuse a server whose tool names break it): 1 to 128 of letters, digits, `_`, `-` and `.`.
 */
const TOOL_NAME = /^[A-Za-z0-9._-]{1,128}$/;

/**
 * `prefix`, once each name it makes of `tools` is a tool name in MCP's format: registerTools adds
 * its tools past the SDK's `registerTool`, whose check warns of such a name, so until 2026-12-06 a
 * prefix of `troupe/`, or of 200 characters, gave names the format refuses, without a word.
 */
function toolPrefix(prefix: string | undefined, tools: readonly TroupeTool[]): string {
  if (prefix === undefined) return '';
  if (typeof prefix === 'string' && tools.every((tool) => TOOL_NAME.test(`${prefix}${tool.name}`)))
    return prefix;
  const shown =
    typeof prefix !== 'string'
      ? `a ${typeof prefix}`
      : `${JSON.stringify(prefix.length > 64 ? `${prefix.slice(0, 64)}…` : prefix)} (${prefix.length} characters)`;
  throw runtimeError(
    'INVALID_REQUEST',
    `Expected \`prefix\` to make tool names of 1 to 128 letters, digits, \`_\`, \`-\` and \`.\` (MCP's format), got ${shown}`,
  );
}

export function pickTools(names: readonly ToolName[] | undefined): readonly TroupeTool[] {
  if (names === undefined) return TOOLS;
  if (!Array.isArray(names)) {
    throw runtimeError(
      'INVALID_REQUEST',
      `Expected \`tools\` to be an array of tool names from ${TOOL_NAMES.join(', ')}, got ${JSON.stringify(names)}`,
    );
  }
  return names.map((name, i) => {
    // Listed twice, a tool was in `tools/list` twice (and in the front's instructions), which MCP's
    // unique tool names forbid; until 2026-12-06 it was taken.
    if (names.indexOf(name) !== i) {
      throw runtimeError(
        'INVALID_REQUEST',
        `Expected each tool name once in \`tools\`, got ${JSON.stringify(name)} twice`,
      );
    }
    const tool = TOOLS.find((candidate) => candidate.name === name);
    if (tool === undefined) {
      throw runtimeError(
        'INVALID_REQUEST',
        `Expected tool names from ${TOOL_NAMES.join(', ')}, got ${JSON.stringify(name)}`,
      );
    }
    return tool;
  });
}
