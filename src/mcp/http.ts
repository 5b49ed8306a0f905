/**
 * `troupe serve`: Streamable HTTP at `/mcp` on plain `node:http`, plus a route hook so `/`
 * (dashboard) and `/metrics` can be mounted by other modules.
 *
 * Two protocol eras share the endpoint. 2026-07-28 requests (a `_meta` envelope on every request)
 * go to the SDK's per-request handler: stateless, one fresh server per request. 2025-era clients
 * open with `initialize` and get a session (`Mcp-Session-Id`), served by one transport and one
 * server until they DELETE it or it sits idle past `idleSessionMs` (`http-sessions.ts`).
 * In front of both: one Host field (`core/host-fields.ts`), Host/Origin checks (`http-exposure.ts`),
 * bearer tokens (`http-auth.ts`), a body cap and a nesting bound (`http-body.ts`), and deliberate
 * socket timeouts. See docs/security.md.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { toNodeHandler, toWebRequest } from '@modelcontextprotocol/node';
import { createMcpHandler, isLegacyRequest } from '@modelcontextprotocol/server';
import { CallerSlots } from '../core/caller-slots.js';
import { hostFieldsProblem } from '../core/host-fields.js';
import { authInfoFor, operatorRefusal } from './caller.js';
import { MemoryEventStore } from './event-store.js';
import { authenticate, tokenKind, UNAUTHORIZED } from './http-auth.js';
import {
  BodyBudget,
  batchBytes,
  batchMessage,
  DEFAULT_MAX_ENVELOPE_BYTES,
  DEFAULT_MAX_JSON_DEPTH,
  envelopeMessage,
  envelopeOver,
  initializeRefusal,
  readBody,
  refuseTooLarge,
} from './http-body.js';
import { exposureProblem, requestGuard } from './http-exposure.js';
import { defaultOpenRequestsPerCaller, requestScope, tooManyOpenRequests } from './http-open.js';
import { type HttpAppOptions, onlyHttpOptions } from './http-options.js';
import {
  BUSY_RETRY_AFTER_S,
  busyMessage,
  callerName,
  header,
  json,
  PROTOCOL_VERSIONS,
  pathOf,
  refuse,
  rpcError,
  tooManyListens,
  unsupportedVersion,
} from './http-reply.js';
import { LegacySessions } from './http-sessions.js';
import { closeSilentConnections } from './http-silent.js';
import { UnsentResponses } from './http-unsent.js';
import { forwardResourceUpdates } from './resources.js';
import { serverBuilder } from './server.js';

export type { HttpAppOptions, RouteHandler } from './http-options.js';

export interface HttpApp {
  readonly server: Server;
  /** Starts listening; resolves with the bound address. */
  listen(): Promise<{ host: string; port: number; url: string }>;
  /** Closes every MCP session and the listener. In-flight calls see their connection close. */
  close(): Promise<void>;
  /** Live 2025-era MCP sessions. */
  readonly sessionCount: number;
  /** Bytes written to responses that their clients have not read yet (at most `maxUnsentBytes`). */
  readonly unsentBytes: number;
  /** Bytes of answers held unwritten until they fit beside those (at most `maxUnsentBytes` more). */
  readonly heldBytes: number;
}

export function createHttpApp(options: HttpAppOptions): HttpApp {
  const { mcp, tokens } = onlyHttpOptions(options);
  const build = serverBuilder(mcp, options);
  // Beside named tokens the shared token's holders are clients too: the operator pages are the admin's.
  const namedTokens = tokens.some((t) => tokenKind(t) === 'named');
  const host = options.host ?? '127.0.0.1';
  const maxBodyBytes = options.maxBodyBytes ?? 4 * 1024 * 1024;
  const maxSessions = options.maxSessions ?? 1000;
  const maxJsonDepth = options.maxJsonDepth ?? DEFAULT_MAX_JSON_DEPTH;
  const maxEnvelopeBytes = options.maxEnvelopeBytes ?? DEFAULT_MAX_ENVELOPE_BYTES;
  const inFlight = options.maxBodyBytesInFlight ?? 64 * 1024 * 1024;
  const bodies = new BodyBudget(
    inFlight,
    options.maxBodyBytesInFlightPerCaller ??
      Math.min(inFlight, Math.max(maxBodyBytes, Math.floor(inFlight / 4))),
  );
  const unsent = new UnsentResponses({
    stalledMs: options.stalledResponseMs,
    maxBytes: options.maxUnsentBytes,
  });
  const guard = requestGuard({
    host,
    ...(options.allowedHosts === undefined ? {} : { allowedHosts: options.allowedHosts }),
    ...(options.allowedOrigins === undefined ? {} : { allowedOrigins: options.allowedOrigins }),
  });
  const maxSessionsPerCaller =
    options.maxSessionsPerCaller ?? Math.max(1, Math.floor(maxSessions / Math.max(1, tokens.length)));
  // 2026-07-28 listen streams: the SDK keeps 1,024 for all clients; each caller gets its share.
  const listenSlots = new CallerSlots(
    options.maxListensPerCaller ?? Math.max(1, Math.floor(1024 / Math.max(1, tokens.length))),
  );
  const maxConnections = options.maxConnections ?? 4096;
  const openSlots = new CallerSlots(
    options.maxOpenRequestsPerCaller ??
      defaultOpenRequestsPerCaller(mcp.runtime.status({ recent: 0 }), maxConnections),
  );
  const onerror = (error: Error) => mcp.log(`troupe mcp http: ${error.message}`);
  const sessions = new LegacySessions({
    mcp,
    build,
    // Resumable streams: a priming event with an id and `retry`, replay after `Last-Event-ID`.
    eventStore: options.eventStore ?? new MemoryEventStore(),
    retryIntervalMs: options.retryIntervalMs ?? 1000,
    disconnectGraceMs: options.disconnectGraceMs ?? 30_000,
    maxBodyBytes,
    idleSessionMs: options.idleSessionMs ?? 1_800_000,
    maxSessions,
    maxSessionsPerCaller,
    onerror,
  });
  // 2026-07-28: resource updates go out on `subscriptions/listen` streams through the handler's bus.
  const modern = createMcpHandler((context) => build(context, 'none'), {
    legacy: 'reject',
    maxRequestBodySize: maxBodyBytes,
    onerror,
  });
  const stopUpdates = forwardResourceUpdates(mcp, modern.notify);
  const modernNode = toNodeHandler(modern, { maxRequestBodySize: maxBodyBytes, onerror });

  async function handleMcp(req: IncomingMessage, res: ServerResponse, scope: string): Promise<void> {
    const version = header(req, 'mcp-protocol-version');
    if (version !== undefined && !PROTOCOL_VERSIONS.includes(version))
      return json(res, 400, rpcError(-32000, unsupportedVersion(version)));
    if (req.method === 'GET' || req.method === 'DELETE') return sessions.handle(req, res, undefined);
    if (req.method !== 'POST') {
      res.setHeader('Allow', 'GET, POST, DELETE');
      return json(res, 405, rpcError(-32000, 'Method not allowed'));
    }
    const read = await readBody(req, maxBodyBytes, maxJsonDepth, bodies, scope);
    if (read.kind === 'busy') {
      res.setHeader('Retry-After', String(BUSY_RETRY_AFTER_S));
      const message =
        read.bound === 'caller' ? busyMessage(bodies.maxBytesPerCaller, scope) : busyMessage(bodies.maxBytes);
      return json(res, 503, rpcError(-32000, message));
    }
    if (read.kind === 'tooLarge') return refuseTooLarge(req, res, maxBodyBytes, server.requestTimeout);
    if (read.kind === 'invalid')
      return json(res, 400, rpcError(-32700, 'Parse error: the body is not valid JSON'));
    if (read.kind === 'notUtf8')
      return json(res, 400, rpcError(-32700, 'Parse error: the body is not valid UTF-8'));
    if (read.kind === 'tooDeep') {
      return json(
        res,
        400,
        rpcError(-32600, `Invalid Request: JSON nested deeper than ${maxJsonDepth} levels`),
      );
    }
    const envelope = envelopeOver(read.value, maxEnvelopeBytes);
    if (envelope !== undefined)
      return json(res, 400, rpcError(-32600, envelopeMessage(envelope, maxEnvelopeBytes)));
    const batch = batchBytes(read.value);
    if (batch !== undefined && batch > maxEnvelopeBytes)
      return json(res, 400, rpcError(-32600, batchMessage(batch, maxEnvelopeBytes)));
    const initialize = initializeRefusal(read.value);
    if (initialize !== undefined) return json(res, 400, rpcError(-32600, initialize));
    const probe = await toWebRequest(req, read.value);
    if (await isLegacyRequest(probe, read.value, { maxRequestBodySize: maxBodyBytes })) {
      return sessions.handle(req, res, read.value);
    }
    if ((read.value as { method?: unknown } | null)?.method === 'subscriptions/listen') {
      const caller = callerName(req);
      if (!listenSlots.hold(caller, res))
        return json(res, 503, rpcError(-32000, tooManyListens(listenSlots.perCaller, caller)));
    }
    return modernNode(req, res, read.value);
  }

  // Checked every second rather than Node's 30 s, so the timeouts hold to about a second.
  const server = createServer({ connectionsCheckingInterval: 1000 }, (req, res) => {
    unsent.watch(res, () => callerName(req));
    // Before routing: two Host fields, or a target naming another host, reach no route (RFC 9112 §3.2).
    const malformed = hostFieldsProblem(req.rawHeaders, req.url);
    if (malformed !== undefined) return refuse(res, 400, rpcError(-32000, malformed));
    const path = pathOf(req.url);
    const probe = path === undefined ? undefined : options.probes?.get(path);
    let scope = 'anonymous';
    const operator = path === undefined ? undefined : options.operatorRoutes?.get(path);
    const route = probe ?? operator ?? (path === undefined ? undefined : options.routes?.get(path));
    if (path !== '/mcp' && route === undefined) return refuse(res, 404, { error: 'Not found' });
    // Health probes answer anyone who reaches the port (orchestrators send no token or Host).
    if (probe === undefined) {
      const forbidden = guard.check(req);
      if (forbidden !== undefined) return refuse(res, 403, rpcError(-32000, forbidden));
      const caller = authenticate(req, tokens);
      if (tokens.length > 0 && caller === undefined) {
        res.setHeader('WWW-Authenticate', 'Bearer realm="troupe"');
        return refuse(res, 401, rpcError(-32000, UNAUTHORIZED));
      }
      // The SDK hands `req.auth` to handlers as `ctx.http.authInfo`; `callerOf` reads it back.
      const auth = authInfoFor(caller);
      (req as IncomingMessage & { auth?: unknown }).auth = auth;
      const refused =
        operator === undefined || route !== operator ? undefined : operatorRefusal(auth, namedTokens);
      if (refused !== undefined) return refuse(res, 403, { error: refused });
      scope = requestScope(auth, header(req, 'mcp-session-id'), (id) => sessions.callerOf(id));
      if (!openSlots.hold(scope, res))
        return refuse(res, 503, rpcError(-32000, tooManyOpenRequests(openSlots.perCaller, scope)));
    }
    const handling = route !== undefined ? route(req, res) : handleMcp(req, res, scope);
    Promise.resolve(handling).catch((error: unknown) => {
      onerror(error instanceof Error ? error : new Error(String(error)));
      if (!res.headersSent) json(res, 500, rpcError(-32603, 'Internal error'));
      else res.destroy();
    });
  });
  server.headersTimeout = options.headersTimeoutMs ?? 10_000;
  closeSilentConnections(server, server.headersTimeout);
  server.requestTimeout = options.requestTimeoutMs ?? 30_000;
  server.keepAliveTimeout = options.keepAliveTimeoutMs ?? 5_000;
  server.maxConnections = maxConnections;

  return {
    server,
    get sessionCount() {
      return sessions.size;
    },
    get unsentBytes() {
      return unsent.unsentBytes;
    },
    get heldBytes() {
      return unsent.heldBytes;
    },
    listen() {
      const problem = exposureProblem(
        {
          host,
          tokenRequired: tokens.length > 0,
          ...(options.allowNoToken === undefined ? {} : { allowNoToken: options.allowNoToken }),
          ...(options.allowedHosts === undefined ? {} : { allowedHosts: options.allowedHosts }),
        },
        'code',
      );
      if (problem !== undefined) return Promise.reject(new Error(problem));
      return new Promise((resolveListen, reject) => {
        server.once('error', reject);
        server.listen(options.port ?? 7801, host, () => {
          server.off('error', reject);
          const address = server.address() as AddressInfo;
          const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
          resolveListen({
            host: address.address,
            port: address.port,
            url: `http://${shownHost}:${address.port}/mcp`,
          });
        });
      });
    },
    async close() {
      unsent.close();
      stopUpdates();
      const closing = sessions.close();
      listenSlots.clear();
      openSlots.clear();
      await Promise.allSettled([closing, modern.close()]);
      await new Promise<void>((resolveClose) => {
        server.close(() => resolveClose());
        server.closeAllConnections();
      });
    },
  };
}
