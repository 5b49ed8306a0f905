/**
 * Everything the MCP tools share across connections and HTTP requests: the runtime, the model
 * catalog, the file roots, server-held conversations and live-session tracking. One context
 * serves every MCP connection of a process, so limits and history are process-wide.
 */
import type { ServerContext } from '@modelcontextprotocol/server';
import { MAX_PRIORITY, MIN_PRIORITY } from '../core/scheduler.js';
import type { ConversationStore, ConversationStoreOptions } from '../ports/conversation-store.js';
import type { CostLedger } from '../ports/cost-ledger.js';
import type { LearnedWindow } from '../providers/registry.js';
import type { Runtime, SessionSummary } from '../runtime/types.js';
import { CallRegistry } from './call-registry.js';
import { callerOf, canSee, listingOwner } from './caller.js';
import { checkContextKeys } from './context-keys.js';
import { MemoryConversationStore } from './conversations.js';
import { MemoryCostLedger } from './cost-ledger.js';
import { LiveSessions } from './live-sessions.js';
import { OwnerCosts } from './owner-costs.js';
import { heartbeatMs } from './progress.js';
import { ResourceChanges } from './resource-changes.js';
import { RetryLogs } from './retry-logs.js';
import { RECENT_SCAN } from './scope.js';
import { type SessionOwners, sessionOwnersOf } from './session-owners.js';
import { TaskManager, type TaskOptions } from './tasks/task-manager.js';

/** One provider as `list_models` shows it. */
export interface CatalogProvider {
  readonly name: string;
  /** Whether the provider has what it needs (an API key) to take calls. */
  readonly configured: boolean;
  readonly models: readonly CatalogModel[];
}

/** One model as `list_models` shows it. */
export interface CatalogModel {
  readonly id: string;
  /** The catalogue's window (or the providers file's, or the vendor's list's), in tokens. */
  readonly contextWindow?: number;
  /** A smaller window this process learned from the vendor's overflow refusal: what routing checks calls against. */
  readonly learnedWindow?: LearnedWindow;
}

/** The model catalog the MCP front lists; built from the provider registry (see `bootstrap.ts`). */
export interface ModelCatalog {
  list(): readonly CatalogProvider[];
  /** Asks a provider for its live model list (cached); absent when the registry cannot. */
  refresh?(provider: string, options: { readonly signal: AbortSignal }): Promise<void>;
  readonly defaults: { readonly provider?: string; readonly model?: string };
  /**
   * True when the runtime's router would refuse `model` of `provider` as unknown (`MODEL_NOT_FOUND`):
   * a conversation held on it then goes to the default before any submission, so no refusal is
   * counted. Absent when the catalog cannot tell: such a model is tried, and its refusal counts.
   */
  lacks?(provider: string, model: string): boolean;
  /** True when no provider key was set and the simulated provider serves every call. */
  readonly simulated: boolean;
}

export interface FileLimits {
  /** Largest file `multi_file_chat` reads, in bytes. @default 262144 (256 KiB) */
  readonly maxFileBytes?: number;
  /** Largest total of all files in one call, in bytes. @default 1048576 (1 MiB) */
  readonly maxTotalBytes?: number;
  /** Most files in one call. @default 20 */
  readonly maxFiles?: number;
}

/** `multi_file_chat`'s caps when `McpContextOptions.files` gives none. */
export const DEFAULT_FILE_LIMITS: Required<FileLimits> = Object.freeze({
  maxFileBytes: 256 * 1024,
  maxTotalBytes: 1024 * 1024,
  maxFiles: 20,
});

/** The caps `files` gives (an `undefined` one keeps its default). */
function definedOf(files: FileLimits | undefined): FileLimits {
  return Object.fromEntries(Object.entries(files ?? {}).filter(([, value]) => value !== undefined));
}

export interface McpContextOptions {
  readonly runtime: Runtime;
  /** @default a catalog naming only `runtime.providers`, each configured, with no models listed */
  readonly catalog?: ModelCatalog;
  /** Folders `multi_file_chat` may read under (resolved with realpath). @default [] (no file access) */
  readonly roots?: readonly string[];
  readonly files?: FileLimits;
  /** Caps of the default in-memory conversation store (see `conversations.ts`). */
  readonly conversations?: ConversationStoreOptions;
  /** Where conversations live (e.g. `RedisConversationStore`); `conversations` is then ignored. @default in memory */
  readonly conversationStore?: ConversationStore;
  /**
   * Where what each caller's ended sessions cost is kept, for `sessions`' `cost_total`: a
   * `RedisCostLedger` on a cluster, so every instance reads the same totals. Closed by whoever made
   * it, not by `close()`. @default a `MemoryCostLedger` (10,000 owners besides named tokens)
   */
  readonly costLedger?: CostLedger;
  /** MCP tasks: store, TTLs, limits. @default an in-memory store (see `TaskOptions`) */
  readonly tasks?: TaskOptions;
  /** How often a progress notification goes out while nothing changes, in ms. @default 5000 */
  readonly progressIntervalMs?: number;
  /**
   * Highest `priority` a client may ask of troupe's tools; higher gets INVALID_REQUEST. Admins are
   * not capped, nor is a call that asks none (it runs at the runtime's `defaults.priority`). On a
   * shared server, a client asking 9 for everything went ahead of every other client's calls: its
   * share of the queue bounds how many places it takes, not their order.
   * @default 9 (no cap)
   */
  readonly maxCallerPriority?: number;
  /** Where diagnostics go; never stdout. @default writes to stderr */
  readonly log?: (line: string) => void;
  /** Server version reported to clients. @default '0.1.0' */
  readonly version?: string;
  /**
   * Which sessions the caller of a request may see in the `troupe://sessions` resources (and get
   * updates for). `'owner'` applies the tools' rule (`caller.ts`: a caller sees what it started, an
   * admin everything); `troupe serve` sets it. @default undefined (every caller sees every session)
   */
  readonly sessionFilter?: SessionFilter | 'owner';
  /**
   * Statecharts served as `troupe://charts/{machine}`, as Mermaid text by name; the composition root
   * draws them (`src/observe` is outside this layer). @default {} (no chart resources)
   */
  readonly charts?: Readonly<Record<string, string>>;
}

/** Whether the caller behind `ctx` may see session `sessionId`. */
export type SessionFilter = (sessionId: string, ctx: ServerContext) => boolean;

export interface McpContext {
  readonly runtime: Runtime;
  readonly catalog: ModelCatalog;
  readonly roots: readonly string[];
  readonly files: Required<FileLimits>;
  readonly conversations: ConversationStore;
  readonly live: LiveSessions;
  /** Who started each session (see `caller.ts`), for scoping `sessions` and `cancel_session`. */
  readonly owners: SessionOwners;
  /** What each caller's ended sessions cost, for the `sessions` tool (`scope.ts`, `visibleCost`). */
  readonly costs: OwnerCosts;
  /** In-flight calls, for cancelling those whose HTTP response stream closed. */
  readonly calls: CallRegistry;
  /** Where each waiting call's session retries are logged to its client (see `retry-logs.ts`). */
  readonly retryLogs: RetryLogs;
  /** Tool calls run as MCP tasks. */
  readonly tasks: TaskManager;
  readonly progressIntervalMs: number;
  readonly maxCallerPriority: number;
  readonly log: (line: string) => void;
  readonly version: string;
  /** Resource URIs that changed, for `resources/subscribe` and `subscriptions/listen`. */
  readonly resourceChanges: ResourceChanges;
  readonly sessionFilter: SessionFilter | undefined;
  /** The newest ended sessions the caller behind `ctx` may see (`sessionFilter`), at most `limit`. */
  recentFor(ctx: ServerContext, limit: number): readonly SessionSummary[];
  readonly charts: Readonly<Record<string, string>>;
  /** Stops timers and the runtime subscription; does not shut the runtime down. */
  close(): void;
}

/** One of the stores the MCP layer keeps its state in, as its failure's log line names it. */
export type McpStore = 'conversation store' | 'cost ledger' | 'task store';

/**
 * A store's failure (Redis away or out of memory) in the log, one line saying which store failed
 * and its own words; what the client is told instead is the caller's to say.
 */
export function logStoreFailure(log: (line: string) => void, store: McpStore, error: unknown): void {
  log(`troupe mcp: ${store}: ${error instanceof Error ? error.message : String(error)}`);
}

export function createMcpContext(options: McpContextOptions): McpContext {
  // Checked before anything subscribes or starts a timer.
  checkContextKeys(options);
  const progressIntervalMs = heartbeatMs(options.progressIntervalMs, 'registerTools (createMcpContext)');
  const live = new LiveSessions(options.runtime);
  const conversations = options.conversationStore ?? new MemoryConversationStore(options.conversations);
  const resourceChanges = new ResourceChanges(options.runtime);
  const owners = sessionOwnersOf(options.runtime);
  const retryLogs = new RetryLogs(options.runtime);
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const costs = new OwnerCosts(options.runtime, options.costLedger ?? new MemoryCostLedger(), (error) =>
    logStoreFailure(log, 'cost ledger', error),
  );
  const tasks = new TaskManager(live, {
    onError: (error) => logStoreFailure(log, 'task store', error),
    cancelSession: (sessionId, reason) => void options.runtime.cancel(sessionId, reason),
    ...options.tasks,
  });
  return {
    runtime: options.runtime,
    catalog: options.catalog ?? runtimeOnlyCatalog(options.runtime),
    roots: options.roots ?? [],
    files: { ...DEFAULT_FILE_LIMITS, ...definedOf(options.files) },
    conversations,
    live,
    owners,
    costs,
    calls: new CallRegistry(),
    retryLogs,
    tasks,
    progressIntervalMs,
    maxCallerPriority: priorityCap(options.maxCallerPriority),
    log,
    version: options.version ?? '0.1.0',
    resourceChanges,
    sessionFilter:
      options.sessionFilter === 'owner'
        ? (id, ctx) => canSee(callerOf(ctx), owners.ownerOf(id))
        : options.sessionFilter,
    recentFor: recentReader(options.runtime, options.sessionFilter),
    charts: options.charts ?? {},
    close() {
      live.close();
      costs.close();
      resourceChanges.close();
      retryLogs.close();
      void conversations.close();
      tasks.close();
    },
  };
}

function runtimeOnlyCatalog(runtime: Runtime): ModelCatalog {
  return {
    list: () => runtime.providers.map((name) => ({ name, configured: true, models: [] })),
    defaults: {},
    simulated: false,
  };
}

function priorityCap(cap: number | undefined): number {
  if (cap === undefined) return MAX_PRIORITY;
  if (!Number.isInteger(cap) || cap < MIN_PRIORITY || cap > MAX_PRIORITY)
    throw new RangeError(
      `Expected \`maxCallerPriority\` to be an integer from ${MIN_PRIORITY} to ${MAX_PRIORITY}, got ${String(cap)}`,
    );
  return cap;
}

/**
 * The newest ended sessions a caller may see. With `'owner'` (what `troupe serve` sets) they are
 * read from the caller's own list in the history (`status({ owner })`), so a caller finds its own
 * however many sessions other callers ended since; before, the newest 20 of every caller's were
 * read and filtered, and on a busy server a caller's list came back empty. A filter of a library's
 * own is applied to the newest `RECENT_SCAN`.
 */
function recentReader(
  runtime: Runtime,
  filter: SessionFilter | 'owner' | undefined,
): (ctx: ServerContext, limit: number) => readonly SessionSummary[] {
  if (filter === undefined) return (_ctx, limit) => runtime.status({ recent: limit }).recent;
  if (filter === 'owner')
    return (ctx, limit) => {
      const caller = callerOf(ctx);
      // Checked again by owner, as every other list is: what is shown never rests on one read alone.
      return runtime
        .status({ recent: limit, owner: listingOwner(caller) })
        .recent.filter((s) => canSee(caller, s.owner));
    };
  return (ctx, limit) =>
    runtime
      .status({ recent: RECENT_SCAN })
      .recent.filter((s) => filter(s.sessionId, ctx))
      .slice(0, limit);
}

/**
 * `build`, run once per context and its result kept with it (dropped with the context): for what
 * every server of a context may share, since a server is built per request on the 2026-07-28 HTTP
 * path (the prompts' schemas, the resource templates: `npm run bench -- mcp`).
 */
export function perContext<T>(build: (mcp: McpContext) => T): (mcp: McpContext) => T {
  const built = new WeakMap<McpContext, T>();
  return (mcp) => {
    if (!built.has(mcp)) built.set(mcp, build(mcp));
    return built.get(mcp) as T;
  };
}
