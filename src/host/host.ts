/**
 * `createHost`: many remote MCP servers behind one runtime, one lane per server, so a fan-out of
 * tool calls keeps each server under its own concurrency limit and a slow server only queues its
 * own calls.
 */
import { describe, runtimeError, toErrorData } from '../core/errors.js';
import { onlyKeys } from '../runtime/option-keys.js';
import { createRuntime } from '../runtime/runtime.js';
import type { Runtime, ShutdownOptions, ShutdownReport } from '../runtime/types.js';
import {
  type HostCallOptions,
  type HostCallResult,
  type HostClient,
  type HostClientOptions,
  refusedMetadata,
  type ToolCaller,
  wrapClient,
} from './client.js';

export interface HostServer extends Omit<HostClientOptions, 'lane'> {
  /** A connected SDK v2 `Client` (anything with its `callTool`). */
  readonly client: ToolCaller;
  /**
   * Calls to this server at once. Only when the host makes its own runtime; with yours, set
   * `limits.perProvider[<server name>]` instead. @default 4
   */
  readonly maxConcurrent?: number;
}

export interface HostOptions {
  /** Remote servers by name; the name is the server's lane. A bare client takes every default. */
  readonly servers: Readonly<Record<string, ToolCaller | HostServer>>;
  /** Run calls on your runtime (sharing its global limit with your model calls). @default a runtime of the host's own */
  readonly runtime?: Runtime;
  /** Own runtime only: calls in flight across all servers. @default 64 */
  readonly maxConcurrent?: number;
  /** Own runtime only: calls waiting across all servers; one more is refused with `QUEUE_FULL`. @default 10000 */
  readonly maxQueued?: number;
  /**
   * Own runtime only: bytes of JSON the waiting calls' parameters (name and arguments) may hold
   * together; one more is refused with `QUEUE_FULL`, a call larger than it with `INVALID_REQUEST`.
   * @default 268435456 (256 MiB)
   */
  readonly maxQueuedBytes?: number;
}

export interface Host {
  readonly runtime: Runtime;
  readonly servers: readonly string[];
  /** Calls `params.name` on `server` as a session; never throws, every result has `metadata`. */
  callTool(
    server: string,
    params: Parameters<HostClient['callTool']>[0],
    options?: HostCallOptions,
  ): Promise<HostCallResult>;
  /** One server's wrapped client. */
  server(name: string): HostClient;
  /**
   * The host's own runtime: shuts it down, waiting for calls in flight (cancelling them at the
   * deadline). Your `runtime`: does nothing (resolves `{ finished: 0, cancelled: [] }`); shut it down yourself.
   */
  shutdown(options?: ShutdownOptions): Promise<ShutdownReport>;
}

const DEFAULT_PER_SERVER = 4;

// What createHost takes, held to its interfaces at compile time: from JavaScript a misspelt field
// (`maxConcurent`) used to be ignored, leaving the default limit in place.
const HOST_KEYS = {
  servers: true,
  runtime: true,
  maxConcurrent: true,
  maxQueued: true,
  maxQueuedBytes: true,
} as const satisfies Record<keyof HostOptions, true>;
const SERVER_KEYS = {
  client: true,
  maxConcurrent: true,
  retrySafe: true,
  maxAttempts: true,
  priority: true,
  timeoutMs: true,
} as const satisfies Record<keyof HostServer, true>;

export function createHost(options: HostOptions): Host {
  onlyKeys('createHost options', options, HOST_KEYS);
  const entries = Object.entries(options.servers).map(
    ([name, server]) => [name, isHostServer(server) ? server : { client: server }] as const,
  );
  for (const [name, server] of entries) {
    onlyKeys(`servers.${name}`, server, SERVER_KEYS);
    checkClient(name, server.client);
  }
  if (entries.length === 0) throw runtimeError('INVALID_REQUEST', 'Expected at least one server, got none');
  const own = options.runtime === undefined;
  if (!own) {
    const named = entries.find(([, server]) => server.maxConcurrent !== undefined);
    if (named !== undefined) {
      throw runtimeError(
        'INVALID_REQUEST',
        `Expected no \`maxConcurrent\` for server "${named[0]}" with your own runtime; set \`limits.perProvider.${named[0]}\` on it instead`,
      );
    }
    // The host's own runtime's limits: with yours they did nothing until 2026-12-05, silently.
    const limit = (['maxConcurrent', 'maxQueued', 'maxQueuedBytes'] as const).find(
      (k) => options[k] !== undefined,
    );
    if (limit !== undefined)
      throw runtimeError(
        'INVALID_REQUEST',
        `Expected no \`${limit}\` in \`createHost options\` with your own runtime (it sets the host's own runtime's limit); set \`limits.${limit}\` on your runtime instead`,
      );
  }
  const runtime =
    options.runtime ??
    createRuntime({
      providers: [],
      limits: {
        ...(options.maxConcurrent === undefined ? {} : { maxConcurrent: options.maxConcurrent }),
        ...(options.maxQueued === undefined ? {} : { maxQueued: options.maxQueued }),
        ...(options.maxQueuedBytes === undefined ? {} : { maxQueuedBytes: options.maxQueuedBytes }),
        perProvider: Object.fromEntries(
          entries.map(([name, server]) => [name, server.maxConcurrent ?? DEFAULT_PER_SERVER]),
        ),
      },
    });
  const clients = new Map<string, HostClient>(
    entries.map(([name, { client, maxConcurrent: _, ...rest }]) => [
      name,
      wrapClient(client, runtime, { ...rest, lane: name }),
    ]),
  );
  const unknownServer = (name: string) =>
    runtimeError(
      'INVALID_REQUEST',
      `Expected a server from ${[...clients.keys()].join(', ')}, got ${JSON.stringify(name)}`,
    );
  const server = (name: string): HostClient => {
    const client = clients.get(name);
    if (client === undefined) throw unknownServer(name);
    return client;
  };
  return {
    runtime,
    servers: [...clients.keys()],
    // Never throws, as documented: a server it does not have is a refused call, like QUEUE_FULL.
    callTool: async (name, params, callOptions) => {
      const client = clients.get(name);
      if (client !== undefined) return client.callTool(params, callOptions);
      const error = unknownServer(name);
      return {
        ok: false,
        error: toErrorData(error),
        metadata: refusedMetadata(name, params.name, callOptions?.priority ?? 5, error),
      };
    },
    server,
    shutdown: async (shutdownOptions) =>
      own ? runtime.shutdown(shutdownOptions) : { finished: 0, cancelled: [] },
  };
}

/** An entry `{ client, ... }` rather than a client itself (which has `callTool`). */
function isHostServer(value: ToolCaller | HostServer): value is HostServer {
  return (
    typeof (value as ToolCaller | undefined)?.callTool !== 'function' &&
    typeof value === 'object' &&
    value !== null &&
    'client' in value
  );
}

/**
 * A server's client must have `callTool`. Until 2026-12-04 an entry whose `client` had none (an
 * un-awaited `connect()`) was taken for a client itself: its options were dropped, no misspelt key
 * was refused, and every call failed later as a provider's `BAD_RESPONSE`.
 */
function checkClient(name: string, client: unknown): void {
  if (typeof (client as ToolCaller | undefined)?.callTool === 'function') return;
  const promise = typeof (client as PromiseLike<unknown> | undefined)?.then === 'function';
  throw runtimeError(
    'INVALID_REQUEST',
    `servers.${name}: Expected a connected MCP client (an object with callTool), got ${promise ? 'a Promise: await the connection first' : describe(client)}`,
  );
}
