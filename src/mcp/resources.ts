/**
 * troupe's MCP resources: what the runtime is doing, the model catalog and the statecharts.
 *
 * - `troupe://sessions`: live sessions by state, queue depth, providers against their limits, and
 *   recent sessions (JSON);
 * - `troupe://sessions/{id}`: one session's summary and live progress (JSON); subscribable, and
 *   updated as the session moves;
 * - `troupe://models`: providers, models, defaults (JSON);
 * - `troupe://charts/{machine}`: the statecharts the composition root drew (`McpContext.charts`),
 *   as Mermaid text.
 *
 * Every session a caller sees passes `mcp.sessionFilter` (per-client scoping), in lists, reads and
 * subscriptions alike.
 */
import {
  type McpServer,
  ProtocolError,
  ProtocolErrorCode,
  type ReadResourceResult,
  ResourceNotFoundError,
  ResourceTemplate,
  type ServerContext,
} from '@modelcontextprotocol/server';
import * as z from 'zod';
import { jsonBytes } from '../core/json-bytes.js';
import type { SessionSummary } from '../runtime/types.js';
import { checkAnswerBudget, takeAnswerBytes } from './answer-budget.js';
import { completeSessionId } from './completions.js';
import { type McpContext, perContext } from './context.js';
import { SESSIONS_URI, sessionUri } from './resource-changes.js';
import { livePages } from './sessions-page.js';

export const MODELS_URI = 'troupe://models';

/** Most resource URIs one 2025-era connection holds subscriptions to; one more is refused. */
export const MAX_SUBSCRIPTIONS = 1000;
/** The longest session id a kept subscription may name, encoded (troupe's are 36-character UUIDs). */
const MAX_SUBSCRIBED_ID = 128;

/**
 * How a server tells its client about changed resources: `subscribed` sends
 * `notifications/resources/updated` for the URIs the client subscribed to (2025-11-25);
 * `all` sends every change and lets the serving entry route them onto `subscriptions/listen`
 * streams (2026-07-28 over stdio); `{ wants }` sends only the changes `wants(uri)` allows, for the
 * entry to route the same way (`troupe stdio` passes its `ListenInterest`); `none` sends nothing
 * (2026-07-28 over HTTP, where the handler's event bus carries them: see `http.ts`).
 */
export type ResourceUpdates =
  | 'subscribed'
  | 'all'
  /** `wantsAny`, when given, says whether `wants` could be true for any URI now. */
  | { readonly wants: (uri: string) => boolean; readonly wantsAny?: () => boolean }
  | 'none';

/**
 * The resource templates, built once per context (their lists and completions read only the
 * context): a server is built per request on the 2026-07-28 HTTP path, where parsing them again
 * took about 30 µs of each (2026-12-06).
 */
const templatesOf = perContext(resourceTemplates);

function resourceTemplates(mcp: McpContext) {
  const chartNames = Object.keys(mcp.charts);
  return {
    session: new ResourceTemplate(`${SESSIONS_URI}/{id}`, {
      list: (ctx) => ({
        resources: [...listedLive(mcp, ctx, 50), ...mcp.recentFor(ctx, 50)].map((s) => ({
          uri: sessionUri(s.sessionId),
          name: `session ${s.sessionId}`,
          title: `${s.label ?? 'session'} ${s.provider}/${s.model}: ${s.state}`,
          mimeType: 'application/json',
        })),
      }),
      complete: { id: (typed) => completeSessionId(mcp, typed) },
    }),
    chart: new ResourceTemplate('troupe://charts/{machine}', {
      list: () => ({
        resources: chartNames.map((name) => ({
          uri: `troupe://charts/${name}`,
          name: `${name} statechart`,
          mimeType: 'text/vnd.mermaid',
        })),
      }),
      complete: { machine: (typed) => chartNames.filter((name) => name.startsWith(typed)) },
    }),
  };
}

export function installResources(server: McpServer, mcp: McpContext, updates: ResourceUpdates): void {
  const chartNames = Object.keys(mcp.charts);
  const templates = templatesOf(mcp);
  const visible = (id: string, ctx: ServerContext) =>
    mcp.sessionFilter === undefined || mcp.sessionFilter(id, ctx);

  server.registerResource(
    'sessions',
    SESSIONS_URI,
    {
      title: 'Sessions',
      description:
        'Live sessions by state, queue depth per priority, providers against their limits, recent sessions.',
      mimeType: 'application/json',
    },
    (uri, ctx) =>
      json(
        uri.href,
        sessionsView(mcp, ctx, (id) => visible(id, ctx)),
      ),
  );

  server.registerResource(
    'session',
    templates.session,
    {
      title: 'One session',
      description:
        'A session’s summary (state, provider, model, timings, attempts) and live progress; subscribe for updates.',
      mimeType: 'application/json',
    },
    (uri, variables, ctx) => {
      const id = decodedId(String(variables.id));
      const session = id !== undefined && visible(id, ctx) ? mcp.runtime.session(id) : undefined;
      if (id === undefined || session === undefined)
        throw sessionNotFound(uri.href, id ?? String(variables.id));
      const live = mcp.live.get(id);
      return json(uri.href, { session, ...(live === undefined ? {} : { live }) });
    },
  );

  server.registerResource(
    'models',
    MODELS_URI,
    {
      title: 'Models',
      description:
        'Providers, their models and context windows, whether each is configured, and the defaults.',
      mimeType: 'application/json',
    },
    (uri) =>
      json(uri.href, {
        providers: mcp.catalog.list(),
        defaults: mcp.catalog.defaults,
        simulated: mcp.catalog.simulated,
      }),
  );

  server.registerResource(
    'chart',
    templates.chart,
    {
      title: 'Statecharts',
      description: `The statecharts (${chartNames.join(', ')}), drawn from the XState definitions, as Mermaid text.`,
      mimeType: 'text/vnd.mermaid',
    },
    (uri, variables) => {
      const name = String(variables.machine);
      const chart = Object.hasOwn(mcp.charts, name) ? mcp.charts[name] : undefined;
      if (chart === undefined) {
        throw new ResourceNotFoundError(
          uri.href,
          `Expected a chart name from ${chartNames.join(', ')}, got "${name}"`,
        );
      }
      return { contents: [{ uri: uri.href, mimeType: 'text/vnd.mermaid', text: chart }] };
    },
  );

  // 2026-07-28 listen streams honour resource subscriptions only when the server declares them.
  server.server.registerCapabilities({ resources: { subscribe: true } });
  if (updates !== 'none') pushUpdates(server, mcp, updates, visible);
}

/**
 * Subscriptions (2025-11-25) and `notifications/resources/updated` for this server's client.
 *
 * Only URIs troupe ever updates are kept (`troupe://sessions` and `troupe://sessions/{id}`, an id
 * of at most 128 characters); a session this caller cannot read is refused as its read is (not
 * found); any other URI is acknowledged and not kept, since no update for it will come. At most `MAX_SUBSCRIPTIONS` are kept per connection; one more is refused by name. The
 * caller filter reads the context of the latest subscription: a connection has one caller.
 */
function pushUpdates(
  server: McpServer,
  mcp: McpContext,
  updates: Exclude<ResourceUpdates, 'none'>,
  visible: (id: string, ctx: ServerContext) => boolean,
): void {
  const low = server.server;
  const subscribed = new Set<string>();
  /** The context subscriptions were made with, for the caller filter. */
  let subscriber: ServerContext | undefined;
  // With a params schema the SDK answers bad params with -32602 naming them (without one, -32603).
  low.setRequestHandler('resources/subscribe', { params: uriParams }, ({ uri }, ctx) => {
    // A session this caller may not read is not there, as `resources/read` answers: unknown and
    // another caller's alike (until 2026-12-07 both were acknowledged, and nothing ever came).
    const raw = uri.startsWith(`${SESSIONS_URI}/`) ? uri.slice(SESSIONS_URI.length + 1) : undefined;
    const id = raw === undefined ? undefined : decodedId(raw);
    if (raw !== undefined && (id === undefined || !visible(id, ctx) || mcp.runtime.session(id) === undefined))
      throw sessionNotFound(uri, id ?? raw);
    if (!updatable(uri)) return {};
    if (!subscribed.has(uri) && subscribed.size >= MAX_SUBSCRIPTIONS) {
      throw new ProtocolError(
        ProtocolErrorCode.InvalidParams,
        `Expected at most ${MAX_SUBSCRIPTIONS} resource subscriptions on one connection, got one more (${uri}): unsubscribe (resources/unsubscribe) from sessions that ended, or subscribe to ${SESSIONS_URI} for every session`,
      );
    }
    subscribed.add(uri);
    subscriber = ctx;
    return {};
  });
  low.setRequestHandler('resources/unsubscribe', { params: uriParams }, ({ uri }) => {
    subscribed.delete(uri);
    if (subscribed.size === 0) subscriber = undefined;
    return {};
  });
  const stop = mcp.resourceChanges.subscribe(
    (uri, sessionId) => {
      if (updates === 'subscribed') {
        if (subscriber === undefined || !subscribed.has(uri) || !visible(sessionId, subscriber)) return;
      } else if (mcp.sessionFilter !== undefined) {
        // Nothing tells whose stream a change would reach, so with scoping on none goes out.
        return;
      } else if (updates !== 'all' && !updates.wants(uri)) return;
      if (server.isConnected()) low.sendResourceUpdated({ uri }).catch(() => stop());
    },
    interestOf(mcp, updates, subscribed),
  );
  const previous = low.onclose;
  low.onclose = () => {
    stop();
    previous?.();
  };
}

const uriParams = z.looseObject({ uri: z.string() });

/** What a read of, or a subscribe to, a session the caller may not see answers: the same whether it exists or not. */
function sessionNotFound(uri: string, id: string): ResourceNotFoundError {
  return new ResourceNotFoundError(
    uri,
    `Expected a live or recent session id, got "${id}": unknown, or ended too long ago`,
  );
}

/** A session id from its URI, or `undefined` when the URI's escapes are broken (`%E0%A4%A`). */
function decodedId(raw: string): string | undefined {
  try {
    return decodeURIComponent(raw);
  } catch {
    return undefined;
  }
}

/** Whether troupe ever sends an update for `uri`: the sessions view, or one session by a plausible id. */
function updatable(uri: string): boolean {
  if (uri === SESSIONS_URI) return true;
  const prefix = `${SESSIONS_URI}/`;
  return (
    uri.startsWith(prefix) && uri.length > prefix.length && uri.length - prefix.length <= MAX_SUBSCRIBED_ID
  );
}

/** Whether this connection may want any update now: the filter above would drop every one otherwise. */
function interestOf(
  mcp: McpContext,
  updates: Exclude<ResourceUpdates, 'none'>,
  subscribed: ReadonlySet<string>,
): () => boolean {
  if (updates === 'subscribed') return () => subscribed.size > 0;
  if (mcp.sessionFilter !== undefined) return () => false;
  if (updates === 'all') return () => true;
  return () => updates.wantsAny?.() ?? true;
}

/**
 * Publishes resource changes to a 2026-07-28 HTTP handler's `subscriptions/listen` streams; returns
 * the stop function. With per-client scoping on, nothing tells whose stream an update would reach,
 * so none is published (clients re-read instead).
 */
export function forwardResourceUpdates(
  mcp: McpContext,
  notify: { resourceUpdated(uri: string): void },
): () => void {
  return mcp.resourceChanges.subscribe(
    (uri) => notify.resourceUpdated(uri),
    () => mcp.sessionFilter === undefined,
  );
}

/**
 * The live sessions the caller behind `ctx` may see, at most `limit`: filtered by id first (the
 * live-session index, as the `sessions` tool reads it), so a caller's own are listed however many
 * others have live, and only those listed are summarised (a full queue holds 10,000).
 */
function listedLive(mcp: McpContext, ctx: ServerContext, limit: number): SessionSummary[] {
  if (mcp.sessionFilter === undefined) return mcp.runtime.sessions({ limit });
  const filter = mcp.sessionFilter;
  const out: SessionSummary[] = [];
  for (const live of mcp.live.list((l) => filter(l.sessionId, ctx), limit)) {
    const summary = mcp.runtime.session(live.sessionId);
    if (summary !== undefined) out.push(summary);
  }
  return out;
}

function sessionsView(
  mcp: McpContext,
  ctx: ServerContext,
  visible: (id: string) => boolean,
): Record<string, unknown> {
  // As the `sessions` tool's: nothing built for a request whose answers carried their budget.
  checkAnswerBudget(ctx.http?.req);
  const status = mcp.runtime.status({ recent: 0 });
  const live = mcp.live.list((s) => visible(s.sessionId));
  // As the `sessions` tool's: the oldest of each state, counted past one answer's bound.
  const pages = livePages(live);
  const recent = mcp.recentFor(ctx, 20);
  takeAnswerBytes(ctx.http?.req, () => pages.bytes + jsonBytes(recent));
  return {
    runtime_state: status.state,
    queued: pages.queued,
    running: pages.running,
    ...(pages.notShown === undefined ? {} : { live_not_shown: pages.notShown }),
    queued_by_priority: status.queuedByPriority,
    providers: status.providers,
    max_concurrent: status.maxConcurrent,
    max_running_per_caller: status.maxRunningPerCaller,
    max_queued: status.maxQueued,
    max_queued_per_caller: status.maxQueuedPerCaller,
    max_queued_bytes: status.maxQueuedBytes,
    max_queued_bytes_per_caller: status.maxQueuedBytesPerCaller,
    queued_bytes: status.queuedBytes,
    recent,
  };
}

function json(uri: string, value: unknown): ReadResourceResult {
  return { contents: [{ uri, mimeType: 'application/json', text: `${JSON.stringify(value, null, 2)}\n` }] };
}
