/**
 * The tool contract's vocabulary: its named properties, the options of `checkToolContract`, its
 * report and the error it throws. Types only, and the error class, so `troupe/testing` exports
 * them without loading the MCP SDK or fast-check.
 */
import type { McpServer } from '@modelcontextprotocol/server';
import type { Runtime, RuntimeOptions } from '../../runtime/types.js';
import { ContractBroken, type PropertyFailure } from '../broken.js';

/** One name per behaviour of a `withSession` tool. */
export type ToolContractPropertyName =
  | 'signalHonoured'
  | 'abortEnds'
  | 'resultMetadata'
  | 'progressDelivered'
  | 'disconnectEnds';

export const TOOL_CONTRACT_PROPERTIES: readonly ToolContractPropertyName[] = [
  'signalHonoured',
  'abortEnds',
  'resultMetadata',
  'progressDelivered',
  'disconnectEnds',
];

/** How the suite's client reaches your tool. */
export type ToolContractTransport = 'memory' | 'http';

/** Arguments of one call of the tool. */
export type ToolArguments = Readonly<Record<string, unknown>>;

export interface ToolContractOptions {
  /**
   * Registers your tool on the server, as your own server does
   * (`server.registerTool(name, config, withSession(runtime, handler, options))`; `registerTools`
   * beside it is fine). `runtime` is the suite's in-memory runtime, watched: use it, not one of yours.
   * It may return (or resolve with) a function the suite calls when it is done (`registerTools(...).close`).
   * Over `transport: 'http'` it runs for each request, on that request's fresh server, and what it
   * returns is called when that request's exchange ends.
   */
  readonly register: (server: McpServer, runtime: Runtime) => unknown;
  /** The tool to call. @default the one tool `register` added (more than one must be named) */
  readonly tool?: string;
  /**
   * Arguments to call it with, or several sets, one drawn per run. They must make the handler
   * take a while (a slow fake vendor, a delay) for an abort to meet it running. @default `{}`
   */
  readonly args?: ToolArguments | readonly ToolArguments[];
  /** Options of the suite's runtime (limits for your lanes, providers your tool chats with). @default `{ providers: [] }` */
  readonly runtime?: RuntimeOptions;
  /** Runs per property. @default 20, or TROUPE_CONTRACT_RUNS */
  readonly numRuns?: number;
  /** Replays a failure: the error prints the seed. @default random */
  readonly seed?: number;
  /** How soon after its signal aborts the handler must settle, in ms. @default 100 */
  readonly abortWithinMs?: number;
  /** How long a call left alone may take, in ms; longer fails `resultMetadata`. @default 10000 */
  readonly callTimeoutMs?: number;
  /** Only these properties. @default all */
  readonly only?: readonly ToolContractPropertyName[];
  /**
   * How the client reaches your tool: the SDK's in-memory transport, or Streamable HTTP on
   * 127.0.0.1 at a free port (the SDK's per-request handler, a fresh server from `register` for
   * each request, the client on protocol 2026-07-28), closed when the check is done. @default 'memory'
   */
  readonly transport?: ToolContractTransport;
  /**
   * Fail `progressDelivered` when the handler reports no progress (`session.progress(...)`) on a
   * call whose client asked for it. @default false (a handler that reports none passes; `observed.progressReports` says so)
   */
  readonly requireProgress?: boolean;
}

export type ToolContractFailure = PropertyFailure<ToolContractPropertyName>;

export interface ToolContractReport {
  readonly tool: string;
  readonly seed: number;
  readonly numRuns: number;
  /** How long the handler took on a first call left alone, in ms: aborts are drawn within it. */
  readonly handlerMs: number;
  /** Properties checked, with how long each took. */
  readonly checked: readonly { readonly property: ToolContractPropertyName; readonly ms: number }[];
  /** The transport the client used. */
  readonly transport: ToolContractTransport;
  /**
   * What the runs met: aborts (cancel, deadline) and disconnects that found the handler running,
   * and progress reports the handler made.
   */
  readonly observed: {
    readonly abortsInFlight: number;
    readonly disconnectsInFlight: number;
    readonly progressReports: number;
  };
  readonly failures: readonly ToolContractFailure[];
}

/** Thrown by `checkToolContract` when a property breaks; `failures` names each one. */
export class ToolContractError extends ContractBroken<ToolContractPropertyName, ToolContractReport> {
  constructor(report: ToolContractReport) {
    super(`Tool contract broken by "${report.tool}"`, report);
    this.name = 'ToolContractError';
  }
}
