/**
 * The MCP server factory: one fresh `McpServer` per connection (stdio, 2025-era HTTP session) or
 * per request (2026-07-28 HTTP), all sharing one `McpContext` and so one runtime.
 */
import {
  type Implementation,
  type McpRequestContext,
  McpServer,
  specTypeSchemas,
} from '@modelcontextprotocol/server';
import { runtimeError } from '../core/errors.js';
import type { McpContext } from './context.js';
import { pickTools, registerTools } from './register.js';
import { installResources, type ResourceUpdates } from './resources.js';
import { checkSpecParams } from './spec-params.js';
import type { ToolName } from './tool.js';
import { installToolCalls } from './tool-calls.js';

export { TOOLS } from './register.js';

const ABOUT =
  'troupe runs every model call as a session: queued by priority, limited per provider, retried, cancellable.';
const RESOURCES =
  'Resources: troupe://sessions, troupe://sessions/{id} (subscribable), troupe://models, troupe://charts/{machine}.';
const INSTRUCTIONS =
  `${ABOUT} Use list_models to see providers and models, chat / multi_file_chat / consensus to call ` +
  `them, sessions to see what is running, cancel_session to stop a call. ${RESOURCES}`;

/** troupe's own instructions: all its tools, or (beside an embedder's) only those it has here. */
function troupeInstructions(tools: readonly ToolName[] | undefined): string {
  if (tools === undefined) return INSTRUCTIONS;
  return `${ABOUT}${tools.length > 0 ? ` troupe's tools here: ${tools.join(', ')}.` : ''} ${RESOURCES}`;
}

/**
 * Who a server says it is and what it tells the host's model, for an embedder's server
 * (`createHttpApp`'s `serverInfo` and `instructions`): your name and any other field of the
 * spec's `Implementation`, the version defaulting to the context's; instructions as given, or
 * made from troupe's own by a function.
 */
export interface ServerIdentity {
  readonly serverInfo?: (Omit<Implementation, 'version'> & { readonly version?: string }) | undefined;
  readonly instructions?: string | ((troupe: string) => string) | undefined;
}

export interface ServerOptions {
  /**
   * How resource updates reach this server's client (see `ResourceUpdates`).
   * @default 'subscribed' (a 2025-era connection)
   */
  readonly resourceUpdates?: ResourceUpdates;
  /** Which of troupe's tools to register; a prompt comes only with its tool. @default all six */
  readonly tools?: readonly ToolName[];
  /** `initialize`'s `serverInfo` and `instructions`, checked (`identityOf`). @default troupe's */
  readonly identity?: { readonly serverInfo: Implementation; readonly instructions: string };
}

export function createMcpServer(mcp: McpContext, options: ServerOptions = {}): McpServer {
  const { tools } = options;
  const { serverInfo, instructions } = options.identity ?? identityOf(mcp, tools, {});
  const server = new McpServer(serverInfo, {
    capabilities: { tools: {}, logging: {}, resources: {}, prompts: {} },
    instructions,
  });
  // Each prompt beside its tool (`registerTools`' `prompts`).
  registerTools(server, mcp.runtime, {
    context: mcp,
    prompts: true,
    ...(tools === undefined ? {} : { tools }),
  });
  // None of troupe's: its `tools/call` still tracks the embedder's tools (`tool-calls.ts`).
  if (tools?.length === 0) installToolCalls(server, mcp, []);
  installResources(server, mcp, options.resourceUpdates ?? 'subscribed');
  // Last, once every handler it guards is installed (McpServer installs the prompt and resource
  // handlers with their capabilities, so an embedder's prompts added later are checked too).
  checkSpecParams(server);
  return server;
}

/** What an embedder adds to every server `createHttpApp` builds (`HttpAppOptions`). */
export interface ServerSetup extends ServerIdentity {
  readonly tools?: readonly ToolName[] | undefined;
  readonly setup?: ((server: McpServer, context: McpRequestContext) => void | Promise<void>) | undefined;
}

/**
 * `createMcpServer` with an embedder's `tools` and `setup` (called after troupe's registrations).
 * The tool names are checked here, once, rather than at the first request.
 */
export function serverBuilder(mcp: McpContext, { tools, setup, serverInfo, instructions }: ServerSetup) {
  if (tools !== undefined) pickTools(tools);
  // Not a function, it failed every request with -32603, saying why only to the log.
  if (setup !== undefined && typeof setup !== 'function') {
    throw runtimeError(
      'INVALID_REQUEST',
      `Expected \`setup\` to be a function (server, context) => void | Promise<void>, got ${setup === null ? 'null' : typeof setup}`,
    );
  }
  const identity = identityOf(mcp, tools, { serverInfo, instructions });
  return (context: McpRequestContext, resourceUpdates: ResourceUpdates): McpServer | Promise<McpServer> => {
    const server = createMcpServer(mcp, {
      resourceUpdates,
      identity,
      ...(tools === undefined ? {} : { tools }),
    });
    const done: unknown = setup?.(server, context);
    // Any thenable is awaited, not only a native Promise: a server was connected before such a
    // setup had registered its tools.
    return typeof (done as PromiseLike<void> | undefined)?.then === 'function'
      ? Promise.resolve(done).then(() => server)
      : server;
  };
}

/**
 * A server's `serverInfo` and `instructions` from an embedder's choice, checked once: a field the
 * spec's `Implementation` refuses (a `title` that is no string, an empty object) would otherwise
 * fail every client's `initialize`, and instructions that are no string would be left out unsaid.
 */
function identityOf(
  mcp: McpContext,
  tools: readonly ToolName[] | undefined,
  { serverInfo, instructions }: ServerIdentity,
): { readonly serverInfo: Implementation; readonly instructions: string } {
  if (serverInfo !== undefined && (typeof serverInfo !== 'object' || serverInfo === null))
    throw runtimeError(
      'INVALID_REQUEST',
      `Expected \`serverInfo\` to be an object, got ${String(serverInfo)}`,
    );
  const info = { name: 'troupe', ...serverInfo, version: serverInfo?.version ?? mcp.version };
  // The SDK's own schema of the spec type (it has no async refinements, so it answers at once).
  const checked = specTypeSchemas.Implementation['~standard'].validate(info);
  if (checked instanceof Promise || checked.issues !== undefined) {
    const issues = checked instanceof Promise ? [] : checked.issues;
    const said = issues
      .map(
        ({ path, message }) =>
          `${(path ?? []).map((at) => String(typeof at === 'object' ? at.key : at)).join('.')}: ${message}`,
      )
      .join('; ');
    throw runtimeError(
      'INVALID_REQUEST',
      `Expected \`serverInfo\` to be an MCP Implementation (a string \`name\` and \`version\`, and optional \`title\`, \`description\`, \`websiteUrl\`, \`icons\`), got ${said}`,
    );
  }
  const troupe = troupeInstructions(tools);
  const text = typeof instructions === 'function' ? instructions(troupe) : (instructions ?? troupe);
  if (typeof text !== 'string')
    throw runtimeError(
      'INVALID_REQUEST',
      `Expected \`instructions\` to be a string or a function returning one, got ${typeof text}`,
    );
  return { serverInfo: checked.value as Implementation, instructions: text };
}
