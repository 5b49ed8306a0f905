/**
 * `troupe serve [--port N] [--host H]`: the MCP server over Streamable HTTP at /mcp.
 */
import { delimiter } from 'node:path';
import { parseArgs } from 'node:util';
import { isAdminRequest, operatorPagesUnread } from '../mcp/caller.js';
import { createHttpApp } from '../mcp/http.js';
import { type NamedToken, tokensFromEnv } from '../mcp/http-auth.js';
import { exposureProblem, originList } from '../mcp/http-exposure.js';
import { gracefulStop, onceSignalled } from '../mcp/shutdown.js';
import { dashboardHtml } from '../observe/dashboard.js';
import { healthRoutes, redisPinger } from '../observe/health.js';
import type { ConnectedInspector } from '../observe/inspect.js';
import { createLogger } from '../observe/logger.js';
import { createObservability, OPERATOR_PATHS } from '../observe/routes.js';
import { preloadSdk } from '../providers/sdk-clients.js';
import type { SessionTracer } from '../runtime/tracing.js';
import type { RedisBackend } from '../scale/redis-backend.js';
import type { RedisConversationStore } from '../scale/redis-conversation-store.js';
import type { RedisCostLedger } from '../scale/redis-cost-ledger.js';
import type { RedisEventStore } from '../scale/redis-event-store.js';
import type { RedisTaskStore } from '../scale/redis-task-store.js';
import { badPortWarning } from './bad-ports.js';
import { answeredBy, bootstrap, providersOrRefusal, rootsRefusal, type WatchOptions } from './bootstrap.js';
import {
  ConfigError,
  loadConfig,
  parseIntFlag,
  type ResolvedConfig,
  redisUrlFromEnv,
  settingOptions,
  settingsUsage,
  taskBoundsFrom,
} from './config.js';
import { exitSoon } from './exit.js';
import type { Command } from './main.js';
import { inspectionFrom, stopInspecting } from './serve-inspect.js';
import { SERVE_FLAGS } from './serve-options.js';
import { usageMessage } from './usage-error.js';

const USAGE = `Usage: troupe serve [--port N] [--host H] [--redis URL] [--inspect] [--otel] [limits...]

Serves MCP over Streamable HTTP at http://HOST:PORT/mcp, the dashboard at /, Prometheus metrics at
/metrics, the event stream (SSE) at /events, a JSON snapshot at /api/status, and the probes
/healthz (alive) and /readyz (accepting calls; Redis reachable with --redis).
  --port N        port, 0 for any free one (default 7801)
  --host H        address to bind (default 127.0.0.1)
  --redis URL     share queues, limits and sessions with other instances through Redis (docs/scale-out.md);
                  TROUPE_REDIS_URL instead keeps a password in it out of "ps"
  --allowed-hosts LIST    comma-separated names clients use to reach the server (Host and Origin);
                          required to bind every interface (0.0.0.0, ::)
  --allowed-origins LIST  web pages (http://localhost:6274) or names (app.example.com) whose Origin is
                          taken besides this server's own pages (docs/security.md)
  --insecure-no-token     serve off loopback without a token (refused otherwise; see docs/security.md)
  --inspect               send sessions to Stately's local inspector (needs @statelyai/inspect;
                          docs/observability.md)
  --inspect-url URL       its WebSocket, on this machine (default ws://127.0.0.1:8080); implies --inspect
  --inspect-sample RATE   the share of sessions inspected, in (0, 1] (default 1); implies --inspect
  --otel                  a span per session through @opentelemetry/api (needs it, and an SDK
                          registered, e.g. with node --import; docs/observability.md)
Limits and deadlines:
${settingsUsage('serve')}Environment: TROUPE_TOKEN (require this bearer token), TROUPE_TOKENS (name:token,... each client
sees only its own sessions and tasks), TROUPE_ADMIN_TOKEN (sees everyone's), TROUPE_ROOTS (folders
multi_file_chat may read, separated by "${delimiter}"; default the working directory, none if "/"), TROUPE_LOG_LEVEL
(default info), TROUPE_LOG_FORMAT (pretty or json; default pretty on a terminal), TROUPE_PROVIDERS_FILE,
provider keys.
`;

export const command: Command = {
  summary: 'Serve MCP over Streamable HTTP (default http://127.0.0.1:7801/mcp)',
  async run(argv) {
    let values: {
      port?: string;
      host?: string;
      redis?: string;
      'allowed-hosts'?: string;
      'allowed-origins'?: string;
      'insecure-no-token'?: boolean;
      inspect?: boolean;
      'inspect-url'?: string;
      'inspect-sample'?: string;
      otel?: boolean;
      help?: boolean;
    } & Record<string, string | boolean | undefined>;
    try {
      ({ values } = parseArgs({
        args: [...argv],
        options: {
          ...SERVE_FLAGS,
          help: { type: 'boolean', short: 'h' },
          ...settingOptions('serve'),
        },
      }));
    } catch (error) {
      process.stderr.write(`troupe serve: ${usageMessage('serve', error)}\n`);
      return 2;
    }
    if (values.help) {
      process.stdout.write(USAGE);
      return 0;
    }
    let port: number;
    let config: ResolvedConfig;
    try {
      port = values.port === undefined ? 7801 : parseIntFlag('port', values.port, 0, 65535);
      config = await loadConfig(values, process.env);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      process.stderr.write(`troupe serve: ${error.message}\n`);
      return 2;
    }
    let tokens: NamedToken[];
    try {
      tokens = tokensFromEnv(process.env);
    } catch (error) {
      process.stderr.write(`troupe serve: ${(error as Error).message}\n`);
      return 2;
    }
    const allowedHosts = values['allowed-hosts']
      ?.split(',')
      .map((name) => name.trim())
      .filter((name) => name !== '');
    const origins =
      values['allowed-origins'] === undefined ? undefined : originList(values['allowed-origins']);
    // An empty value is a mistake (an unset variable in a unit file), not a wish for the default.
    const emptyFlag =
      values.host?.trim() === ''
        ? '`--host` to be an address to bind (e.g. 127.0.0.1 or 0.0.0.0), got an empty string'
        : values['allowed-hosts'] !== undefined && allowedHosts?.length === 0
          ? `\`--allowed-hosts\` to name at least one host (comma-separated), got \`${values['allowed-hosts']}\``
          : origins !== undefined && 'problem' in origins
            ? `\`--allowed-origins\` ${origins.problem}`
            : undefined;
    if (emptyFlag !== undefined) {
      process.stderr.write(`troupe serve: Expected ${emptyFlag}\n`);
      return 2;
    }
    const exposure = {
      host: values.host || '127.0.0.1',
      tokenRequired: tokens.length > 0,
      allowNoToken: values['insecure-no-token'] === true,
      ...(allowedHosts === undefined ? {} : { allowedHosts }),
    };
    const refusal = exposureProblem(exposure);
    if (refusal !== undefined) {
      process.stderr.write(`troupe serve: ${refusal}\n`);
      return 2;
    }
    // The providers first: a bad file or base URL is a usage error, refused before any connection.
    const badRoots = await rootsRefusal('serve', process.env);
    if (badRoots !== undefined) {
      process.stderr.write(`${badRoots}\n`);
      return 2;
    }
    const providers = await providersOrRefusal('serve', process.env);
    if ('refusal' in providers) {
      process.stderr.write(`${providers.refusal}\n`);
      return 2;
    }
    const logger = createLogger({ base: { component: 'serve' } });
    let inspector: ConnectedInspector | undefined;
    let watch: WatchOptions = {};
    if (values.inspect || values['inspect-url'] !== undefined || values['inspect-sample'] !== undefined) {
      try {
        ({ inspector, watch } = await inspectionFrom(values, logger));
      } catch (error) {
        process.stderr.write(`troupe serve: ${(error as Error).message}\n`);
        return 2;
      }
      logger.info(
        { inspector: inspector.url },
        // The WebSocket connects (and again after it closes) on its own: nothing may listen there yet.
        `sending sessions to the Stately inspector at ${inspector.url} (while nothing listens there, the last 200 events are held, at most 40 MiB, and it connects again every 15 s at most)`,
      );
    }
    if (values.otel) {
      try {
        const otel = await otelTracer();
        watch = { ...watch, tracer: otel.tracer };
        if (!otel.sdk)
          logger.warn(
            'no OpenTelemetry SDK is registered: --otel makes spans that go nowhere; register one before troupe starts (docs/observability.md)',
          );
      } catch (error) {
        process.stderr.write(`troupe serve: ${(error as Error).message}\n`);
        return 2;
      }
    }
    let backend: RedisBackend | undefined;
    let taskStore: RedisTaskStore | undefined;
    let conversationStore: RedisConversationStore | undefined;
    let costLedger: RedisCostLedger | undefined;
    let eventStore: RedisEventStore | undefined;
    // The flag, else TROUPE_REDIS_URL: a URL with a password is kept out of `ps` that way.
    const redisFrom = values.redis !== undefined ? '--redis' : 'TROUPE_REDIS_URL';
    const redisUrl = values.redis ?? redisUrlFromEnv(process.env);
    // Where sessions are kept, for the start line: a Redis URL without its password.
    let backendShown = 'memory';
    // The MCP stores' errors go to the log (a QUIT unanswered at the stop was a bare stderr line).
    const storeError = (error: unknown) => logger.warn({ err: error }, `mcp: ${(error as Error).message}`);
    if (redisUrl !== undefined) {
      // A URL that cannot be right is the operator's to fix: a usage error, before any connection.
      const { redactUrl, redisUrlProblem } = await import('../scale/connect.js');
      const problem = redisUrlProblem(redisUrl);
      backendShown = `Redis at ${redactUrl(redisUrl)}`;
      if (problem !== undefined) {
        process.stderr.write(`troupe serve: ${redisFrom}: ${problem}\n`);
        return 2;
      }
      try {
        // Loaded only when asked for: bullmq and ioredis stay out of a single-machine start.
        const { redisBackend } = await import('../scale/redis-backend.js');
        const { RedisTaskStore } = await import('../scale/redis-task-store.js');
        // Redis's eviction policy, troupe's check and BullMQ's, in troupe's log (`eviction.ts`).
        backend = await redisBackend({
          url: redisUrl,
          onWarning: (message, fields) => logger.warn(fields, message),
        });
        // MCP tasks live in Redis too, so any instance can poll and cancel them.
        taskStore = await RedisTaskStore.connect(redisUrl, {
          ...taskBoundsFrom(config),
          onError: storeError,
        });
        // Conversations too, with their TTL: any instance continues them, and they outlive this one.
        const { RedisConversationStore } = await import('../scale/redis-conversation-store.js');
        conversationStore = await RedisConversationStore.connect(redisUrl);
        // What each caller's sessions cost too: every instance reads the same totals (`sessions`).
        const { RedisCostLedger } = await import('../scale/redis-cost-ledger.js');
        costLedger = await RedisCostLedger.connect(redisUrl);
        // Resumable streams too: a client may reconnect with Last-Event-ID to any instance.
        const { RedisEventStore } = await import('../scale/redis-event-store.js');
        eventStore = await RedisEventStore.connect(redisUrl, { onError: storeError });
      } catch (error) {
        process.stderr.write(`troupe serve: ${(error as Error).message}\n`);
        await providers.close();
        // A Redis that took the connection and never answered keeps its socket a while after
        // `disconnect()` (the process stayed 5 s past the error line).
        exitSoon(1);
        return 1;
      }
    }
    const { mcp, simulated, closeProviders } = await bootstrap(
      process.env,
      logger,
      backend,
      taskStore === undefined ? undefined : { store: taskStore },
      config,
      { conversations: conversationStore, costs: costLedger },
      true,
      watch,
      providers,
    );
    const token = tokens.length > 0 ? true : undefined;
    const observe = createObservability(mcp.runtime, {
      ...(backend === undefined ? {} : { scope: { kind: 'cluster', instanceId: backend.instanceId } }),
      // The admin's page always finds a place on /events, however many other holders of the pages open it.
      ...(tokens.some((t) => t.admin === true) ? { events: { reservedFor: isAdminRequest } } : {}),
      // Read at a scrape, once the app below exists.
      mcpSessions: () => app.sessionCount,
      httpUnsentBytes: () => app.unsentBytes,
      httpHeldBytes: () => app.heldBytes,
      ...(inspector === undefined ? {} : { inspectorDroppedEvents: () => inspector?.droppedEvents ?? 0 }),
    });
    const pinger = redisUrl === undefined ? undefined : await redisPinger(redisUrl);
    const app = createHttpApp({
      mcp,
      maxBodyBytes: config.values.maxRequestBytes,
      maxSessions: config.values.maxMcpSessions,
      maxConnections: config.values.maxConnections,
      keepAliveTimeoutMs: config.values.keepAliveTimeoutMs,
      idleSessionMs: config.values.idleSessionMs,
      stalledResponseMs: config.values.stalledOutputMs,
      // The dashboard, its events, /api/status and /metrics show every client's work: operators only.
      routes: new Map([...observe.routes].filter(([path]) => !OPERATOR_PATHS.has(path))),
      operatorRoutes: new Map([...observe.routes].filter(([path]) => OPERATOR_PATHS.has(path))),
      probes: healthRoutes({ runtime: mcp.runtime, ...(pinger === undefined ? {} : { ping: pinger.ping }) }),
      port,
      ...(values.host ? { host: values.host } : {}),
      tokens,
      allowNoToken: exposure.allowNoToken,
      // Each caller's shares default to `callerShares` (config.ts); one the operator set to the whole is theirs to choose.
      allowNoCallerShare:
        config.sources.maxRunningPerCaller.kind !== 'default' ||
        config.sources.maxQueuedPerCaller.kind !== 'default',
      ...(allowedHosts === undefined ? {} : { allowedHosts }),
      ...(origins === undefined || 'problem' in origins ? {} : { allowedOrigins: origins.list }),
      ...(eventStore === undefined ? {} : { eventStore }),
    });
    let address: { url: string; port: number };
    try {
      address = await app.listen();
    } catch (error) {
      // One line, no stack: the usual causes are a busy port or a forbidden one, and the fix is a flag.
      process.stderr.write(`troupe serve: ${listenFailure(error, values.host ?? '127.0.0.1', port)}\n`);
      observe.close();
      pinger?.close();
      await mcp.runtime.shutdown({ deadlineMs: 0 });
      mcp.close();
      await taskStore?.close();
      await eventStore?.close();
      await costLedger?.close();
      inspector?.stop();
      return 1;
    }
    const dashboard = address.url.replace(/\/mcp$/, '/');
    // One line: scripts and tests find the URL in it.
    // ... and the backend and providers (until 2026-12-07 neither: `--redis` was confirmed by /readyz alone).
    const names = providers.providers.map((p) => p.name);
    const fields = { dashboard, tokenRequired: token !== undefined, simulated, backend: backendShown };
    logger.info(
      { url: address.url, ...fields, providers: names },
      `serving MCP at ${address.url}${token ? ' (bearer token required)' : ''}; dashboard at ${dashboard}; backend: ${backendShown}; ${answeredBy(simulated, names)}`,
    );
    // The SDK and undici load now, off the start's path (`sdk-clients.ts`); a failure shows at the first call.
    if (!simulated) setImmediate(() => void preloadSdk().catch(() => {}));
    const unread = operatorPagesUnread(tokens);
    if (unread !== undefined) logger.warn(unread);
    const badPort = badPortWarning(address.port);
    if (badPort !== undefined) logger.warn({ port: address.port }, badPort);
    // Lays the dashboard's charts out now, in a worker thread, so the first visit finds the page built.
    dashboardHtml().catch((error: unknown) =>
      logger.warn({ err: error }, 'the dashboard page could not be built; the first visit tries again'),
    );
    const signal = await onceSignalled();
    const report = await gracefulStop(mcp, {
      deadlineMs: config.values.drainMs,
      closeTransports: () => {
        observe.close();
        return app.close();
      },
    });
    // Each store's close is bounded (its QUIT, 2 s): at once, not one after another (with Redis
    // down they added 4 s past the runtime's own 10 s close), and the conversations' one too.
    await Promise.all([
      closeProviders(),
      taskStore?.close(),
      eventStore?.close(),
      conversationStore?.close(),
      costLedger?.close(),
    ]);
    pinger?.close();
    stopInspecting(inspector, logger);
    logger.info(
      { signal, finished: report.finished, cancelled: report.cancelled.length, ended: report.endedByState },
      `${signal}: stopped; ${report.finished} session(s) finished while draining, ${report.cancelled.length} cancelled at the deadline`,
    );
    exitSoon(0);
    return 0;
  },
};

/**
 * `--otel`: the global tracer of `@opentelemetry/api`, and whether an SDK has registered a tracer
 * provider (without one every span is dropped, so the caller says so instead of starting silent).
 */
export async function otelTracer(): Promise<{ tracer: SessionTracer; sdk: boolean }> {
  let api: typeof import('@opentelemetry/api');
  try {
    api = await import('@opentelemetry/api');
  } catch (error) {
    throw new Error(
      `Expected the optional package @opentelemetry/api to be installed for --otel, got ${(error as Error).message}: run \`npm install @opentelemetry/api\` and register an SDK`,
    );
  }
  const provider = api.trace.getTracerProvider();
  // The API's global provider is a proxy, with a delegate once an SDK registers one.
  const sdk =
    !(provider instanceof api.ProxyTracerProvider) || provider.getDelegateTracer('troupe') !== undefined;
  return { tracer: api.trace.getTracer('troupe'), sdk };
}

/**
 * What went wrong binding HOST:PORT, and the flag that fixes it. Under `npm start` (npm sets
 * `npm_lifecycle_event`) a flag goes after `--`, which a newcomer who started that way cannot guess.
 */
export function listenFailure(
  error: unknown,
  host: string,
  port: number,
  env: Readonly<Record<string, string | undefined>> = process.env,
): string {
  const code = (error as NodeJS.ErrnoException).code;
  const where = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  if (code === 'EADDRINUSE') {
    const npm = env.npm_lifecycle_event === 'start' ? '; through npm: `npm start -- --port N`' : '';
    return `port ${port} is already in use on ${host}; start on another with --port N (or --port 0 for any free port)${npm}`;
  }
  if (code === 'EACCES') return `not allowed to listen on ${where}; use --port 1024 or above`;
  if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') {
    return `cannot listen on ${where}: no such address here; check --host`;
  }
  return `cannot listen on ${where}: ${(error as Error).message}`;
}
