/**
 * The composition root shared by `troupe serve` and `troupe stdio`: providers and their registry,
 * the runtime, and the MCP context, from the environment, with the simulated provider when no
 * provider key is set. Transports, flags and signals stay with each command.
 */
import { stat } from 'node:fs/promises';
import { delimiter, parse } from 'node:path';
import { TroupeError } from '../core/errors.js';
import { namedCallerKey } from '../mcp/caller.js';
import { catalogFromRegistry } from '../mcp/catalog.js';
import { createMcpContext, type McpContext } from '../mcp/context.js';
import type { TaskOptions } from '../mcp/tasks/task-manager.js';
import { chartMermaid, MACHINES } from '../observe/chart.js';
import type { Logger } from '../observe/logger.js';
import type { ConversationStore } from '../ports/conversation-store.js';
import type { CostLedger } from '../ports/cost-ledger.js';
import { type LoadedProviders, loadProviders } from '../providers/config.js';
import type { RuntimeBackend } from '../runtime/backend.js';
import { createRuntime } from '../runtime/runtime.js';
import type { RuntimeEvent, RuntimeOptions } from '../runtime/types.js';
import { type ResolvedConfig, runtimeOptionsFrom, taskBoundsFrom } from './config.js';
import { logKeyRefusals } from './key-refusals.js';
import { troupeVersion } from './version.js';

/** Runtime options that come from flags rather than the config: inspection and tracing. */
export type WatchOptions = Pick<RuntimeOptions, 'inspect' | 'inspectSampleRate' | 'tracer'>;

export interface Bootstrapped {
  readonly mcp: McpContext;
  /** True when no provider key was set and the simulated provider serves every call. */
  readonly simulated: boolean;
  /** Releases the providers' pooled connections; after the runtime has shut down. */
  readonly closeProviders: () => Promise<void>;
}

/** Builds the runtime and MCP context from the environment (provider keys, TROUPE_PROVIDERS_FILE, TROUPE_ROOTS). */
export async function bootstrap(
  env: NodeJS.ProcessEnv,
  logger?: Logger,
  backend?: RuntimeBackend,
  tasks?: TaskOptions,
  config?: ResolvedConfig,
  /** Stores shared by a cluster's instances (Redis); in memory where absent. */
  stores: { readonly conversations?: ConversationStore; readonly costs?: CostLedger } = {},
  /** Scope the session resources to their caller (HTTP, where clients are many); stdio has one. */
  scopeResources = false,
  watch: WatchOptions = {},
  /** The providers, when the caller loaded them first (to refuse a bad file before connecting). */
  preloaded?: LoadedProviders,
): Promise<Bootstrapped> {
  const loaded = preloaded ?? (await loadProviders({ env }));
  const { registry, simulated } = loaded;
  const settings =
    config === undefined ? undefined : runtimeOptionsFrom(config, scopeResources ? 'many' : 'one');
  if (simulated && settings?.budgets !== undefined) logger?.warn(BUDGETS_WITHOUT_PRICES);
  for (const x of loaded.ignored) logger?.warn(`${x.setting} ${x.why}`);
  const noRoots = rootsNotice(env);
  if (noRoots !== undefined) logger?.warn(noRoots);
  const runtime = createRuntime({
    providers: loaded.providers,
    router: registry.router,
    limits: { ...settings?.limits, perProvider: loaded.perProviderLimits, providers: loaded.providerLimits },
    defaults: { ...settings?.defaults, ...loaded.defaults },
    prices: loaded.prices,
    ...(settings?.breakers === undefined ? {} : { breakers: settings.breakers }),
    // A named token keeps a budget of its own however many MCP sessions others open.
    ...(settings?.budgets === undefined
      ? {}
      : { budgets: { ...settings.budgets, trackAlways: namedCallerKey } }),
    ...(backend === undefined ? {} : { backend }),
    // Failures nobody awaits (a throwing subscriber, a cluster close that had to be forced) go to
    // the server's log, scrubbed like every line, instead of a bare Node warning.
    ...(logger === undefined
      ? {}
      : {
          onError: (error: unknown) =>
            logger.error(
              { err: error },
              `runtime: ${error instanceof Error ? error.message : String(error)}`,
            ),
        }),
    ...watch,
  });
  // At `debug`: each retry, fallback and session end, one line each (metadata, never content).
  if (logger?.isLevelEnabled('debug') === true) runtime.subscribe((event) => logSession(logger, event));
  // A refused key is the operator's to fix: at `warn`, once per provider (`key-refusals.ts`).
  if (logger?.isLevelEnabled('warn') === true) logKeyRefusals(runtime, logger);
  const roots = rootsFrom(env);
  // A store given (Redis) took its bounds when it was made; the in-memory one takes them here.
  const taskOptions =
    tasks?.store !== undefined || config === undefined ? tasks : { ...tasks, ...taskBoundsFrom(config) };
  const mcp = createMcpContext({
    runtime,
    version: troupeVersion(),
    catalog: catalogFromRegistry(registry, { simulated, defaults: defaultTarget(loaded) }),
    roots,
    charts: Object.fromEntries(
      Object.entries(MACHINES).map(([name, machine]) => [name, chartMermaid(machine)]),
    ),
    ...(taskOptions === undefined ? {} : { tasks: taskOptions }),
    ...(stores.conversations === undefined ? {} : { conversationStore: stores.conversations }),
    ...(stores.costs === undefined ? {} : { costLedger: stores.costs }),
    ...(scopeResources ? { sessionFilter: 'owner' as const } : {}),
    ...(logger === undefined ? {} : { log: (line: string) => logger.warn(line) }),
    ...(config === undefined
      ? {}
      : {
          progressIntervalMs: config.values.progressMs,
          maxCallerPriority: config.values.maxCallerPriority,
        }),
  });
  return { mcp, simulated, closeProviders: () => loaded.close() };
}

/**
 * What a call naming no provider or model gets, as `list_models` shows it. It showed
 * `simulated/sim-fast` whatever the keys: with a Kimi key, calls went to Kimi's default model.
 */
function defaultTarget(loaded: LoadedProviders): { provider?: string; model?: string } {
  try {
    const { provider, model } = loaded.registry.resolve({ ...loaded.defaults });
    return { provider, model };
  } catch {
    // No default resolves (an open provider with no default model): say the provider alone.
    return loaded.defaults.provider === undefined ? {} : { provider: loaded.defaults.provider };
  }
}

function logSession(logger: Logger, event: RuntimeEvent): void {
  if (event.type === 'session.retry')
    logger.debug(
      { sessionId: event.sessionId, attempt: event.attempt, code: event.error.code, delayMs: event.delayMs },
      `session ${event.sessionId}: ${event.error.code}, attempt ${event.attempt} in ${event.delayMs} ms`,
    );
  else if (event.type === 'session.fallback')
    logger.debug(
      { sessionId: event.sessionId, code: event.error.code, from: event.from, to: event.to },
      `session ${event.sessionId}: ${event.error.code}, falling back to ${event.to.provider}/${event.to.model}`,
    );
  else if (event.type === 'session.ended') {
    const m = event.result.metadata;
    logger.debug(
      {
        sessionId: m.sessionId,
        state: m.state,
        provider: m.provider,
        model: m.model,
        attempts: m.attempts,
        code: m.code,
        totalMs: m.totalMs,
      },
      `session ${m.sessionId}: ${m.state}${m.code === undefined ? '' : ` (${m.code})`} on ${m.provider}/${m.model} after ${m.attempts} attempt(s), ${m.totalMs} ms`,
    );
  }
}

export const SIMULATED_NOTICE =
  'no provider key set (MOONSHOT_API_KEY, ZHIPUAI_API_KEY, ...): using the simulated provider';

/** The start line's word on who answers: the providers, or that the simulated provider does. */
export function answeredBy(simulated: boolean, providers: readonly string[]): string {
  return simulated ? SIMULATED_NOTICE : `providers: ${providers.join(', ')}`;
}

/**
 * A budget refuses every call to a model without a price (docs/routing.md#budgets), and the
 * simulated provider has none (nor can the providers file give it one): said once at start, so
 * the refusals that follow are not a surprise.
 */
export const BUDGETS_WITHOUT_PRICES =
  'budgets are set (--budget-per-caller, --budget-global), but the simulated provider has no prices: every call will be refused with INVALID_REQUEST; set a provider key (and prices for its models) to use budgets, or leave them out';

/**
 * The providers from the environment and TROUPE_PROVIDERS_FILE, or the line that says what is wrong
 * with them (a usage error, exit code 2). Loaded before anything is connected: when `serve --redis`
 * loaded them after connecting, a bad base URL was printed as `troupe: ...` and the open Redis
 * connections kept the process alive, so it never exited for a supervisor to see.
 */
export async function providersOrRefusal(
  command: string,
  env: NodeJS.ProcessEnv,
): Promise<LoadedProviders | { readonly refusal: string }> {
  try {
    return await loadProviders({ env });
  } catch (error) {
    if (!(error instanceof TroupeError) || error.code !== 'INVALID_REQUEST') throw error;
    return { refusal: `troupe ${command}: ${error.message}` };
  }
}

/**
 * TROUPE_ROOTS as a list of folders (separated by the platform's delimiter); unset: the working
 * directory, unless that is the filesystem's root. A host that starts `troupe stdio` chooses that
 * directory, and Claude Desktop's is `/` on macOS (the MCP debugging guide: "may be undefined (like
 * `/` on macOS)"): before, multi_file_chat then read any file on the machine that is not hidden.
 */
export function rootsFrom(env: NodeJS.ProcessEnv, cwd: string = process.cwd()): string[] {
  if (env.TROUPE_ROOTS === undefined) return isFilesystemRoot(cwd) ? [] : [cwd];
  return env.TROUPE_ROOTS.split(delimiter).filter((r) => r.trim() !== '');
}

/** The start line saying multi_file_chat reads nothing, when the default root was the filesystem's. */
export function rootsNotice(env: NodeJS.ProcessEnv, cwd: string = process.cwd()): string | undefined {
  if (env.TROUPE_ROOTS !== undefined || !isFilesystemRoot(cwd)) return undefined;
  return `TROUPE_ROOTS is not set and the working directory is the filesystem's root (${cwd}), as an MCP host may start troupe there: multi_file_chat reads no file; set TROUPE_ROOTS (in the host's "env" for stdio) to the folders it may read`;
}

function isFilesystemRoot(dir: string): boolean {
  return parse(dir).root === dir;
}

/**
 * The line refusing a TROUPE_ROOTS entry that is not a folder here, or undefined. Before, such a
 * root was taken and every multi_file_chat call was refused later ("None of the configured root
 * folders exists"), far from the typo that caused it.
 */
export async function rootsRefusal(command: string, env: NodeJS.ProcessEnv): Promise<string | undefined> {
  for (const root of rootsFrom(env)) {
    const found = await stat(root).then(
      (s) => (s.isDirectory() ? undefined : 'not a folder'),
      (error: NodeJS.ErrnoException) => error.code ?? 'unreadable',
    );
    if (found !== undefined) {
      return `troupe ${command}: Expected TROUPE_ROOTS to name folders that exist (separated by "${delimiter}"), got \`${root}\`: ${found}`;
    }
  }
  return undefined;
}
