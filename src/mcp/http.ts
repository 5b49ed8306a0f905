/**
 * `troupe serve`: Streamable HTTP at `/mcp` on plain `node:http`, plus a route hook so `/`
 * (dashboard) and `/metrics` can be mounted by other modules.
 *
 * Two protocol eras share the endpoint. 2026-07-28 requests (a `_meta` envelope on every request)
 * go to the SDK's per-request handler: stateless, one fresh server per request. 2025-era clients
 * open with `initialize` and get a session (`Mcp-Session-Id`), served by one transport and one
 * server until they DELETE it or it sits idle past `idleSessionMs`; an unknown session id gets 404.
 * In front of both: Host/Origin checks (`http-exposure.ts`), bearer tokens (`http-auth.ts`), a body
 * cap and a nesting bound (`http-body.ts`), and deliberate socket timeouts. See docs/security.md.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { NodeStreamableHTTPServerTransport, toNodeHandler, toWebRequest } from '@modelcontextprotocol/node';
import {
  createMcpHandler,
  isInitializeRequest,
  isLegacyRequest,
  type McpRequestContext,
  type McpServer,
} from '@modelcontextprotocol/server';
import { CallerSlots } from '../core/caller-slots.js';
import { authInfoFor, operatorRefusal } from './caller.js';
import { MemoryEventStore, replayForeignSession, sessionEventStore } from './event-store.js';
import { authenticate, type NamedToken, UNAUTHORIZED } from './http-auth.js';
import {
  BodyBudget,
  DEFAULT_MAX_ENVELOPE_BYTES,
  DEFAULT_MAX_JSON_DEPTH,
  envelopeMessage,
  envelopeOver,
  initializeRefusal,
  readBody,
  refuseTooLarge,
} from './http-body.js';
import { closeCancelled, OpenPosts } from './http-cancelled.js';
import { DisconnectedCalls, watchResumes } from './http-disconnect.js';
import { exposureProblem, requestGuard } from './http-exposure.js';
import { defaultOpenRequestsPerCaller, requestScope, tooManyOpenRequests } from './http-open.js';
import { type HttpAppOptions, onlyHttpOptions } from './http-options.js';
import { answerGet } from './http-replays.js';
import {
  busyMessage,
  callerName,
  header,
  json,
  PROTOCOL_VERSIONS,
  pathOf,
  refuse,
  requestIdsOf,
  reusedIdMessage,
  rpcError,
  sessionContext,
  tooManyListens,
  tooManySessions,
  unsupportedVersion,
} from './http-reply.js';
import { closeSilentConnections } from './http-silent.js';
import { UnsentResponses } from './http-unsent.js';
import { forwardResourceUpdates } from './resources.js';
import { requestsOfStream } from './sdk-internals.js';
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
}

interface LegacySession {
  readonly transport: NodeStreamableHTTPServerTransport;
  readonly server: McpServer;
  lastSeenAt: number;
  active: number;
  /** The token's name (`clientId`) that opened it. */
  readonly caller: string;
  /** Its events, as its transport stores them (stream ids without the session's prefix). */
  readonly events: ReturnType<typeof sessionEventStore>;
  /** Its standalone `GET` stream's response while open (`http-standing.ts`). */
  standing?: ServerResponse | undefined;
  /** The response of each POST that carried one request, by its id, while open (a cancel closes
   * it), and the request ids of every open POST (one sent again meanwhile is refused). */
  readonly posts: OpenPosts;
}

export function createHttpApp(options: HttpAppOptions): HttpApp {
  const { mcp } = onlyHttpOptions(options);
  const build = serverBuilder(mcp, options);
  const host = options.host ?? '127.0.0.1';
  const maxBodyBytes = options.maxBodyBytes ?? 4 * 1024 * 1024;
  const idleSessionMs = options.idleSessionMs ?? 1_800_000;
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
  const tokens: readonly NamedToken[] = [
    ...(options.token === undefined ? [] : [{ name: 'default', token: options.token, shared: true }]),
    ...(options.tokens ?? []),
  ];
  const guard = requestGuard({
    host,
    ...(options.allowedHosts === undefined ? {} : { allowedHosts: options.allowedHosts }),
    ...(options.allowedOrigins === undefined ? {} : { allowedOrigins: options.allowedOrigins }),
  });
  const maxSessionsPerCaller =
    options.maxSessionsPerCaller ?? Math.max(1, Math.floor(maxSessions / Math.max(1, tokens.length)));
  const sessions = new Map<string, LegacySession>();
  const sessionSlots = new CallerSlots(maxSessionsPerCaller);
  // 2026-07-28 listen streams: the SDK keeps 1,024 for all clients; each caller gets its share.
  const listenSlots = new CallerSlots(
    options.maxListensPerCaller ?? Math.max(1, Math.floor(1024 / Math.max(1, tokens.length))),
  );
  const maxConnections = options.maxConnections ?? 4096;
  const openSlots = new CallerSlots(
    options.maxOpenRequestsPerCaller ??
      defaultOpenRequestsPerCaller(mcp.runtime.status({ recent: 0 }), maxConnections),
  );
  /** Forgets a session once, whichever of close, DELETE or the idle sweep comes first. */
  function forget(id: string): LegacySession | undefined {
    const session = sessions.get(id);
    if (session === undefined) return undefined;
    sessions.delete(id);
    sessionSlots.give(session.caller);
    disconnected.forget(id);
    session.events.close();
    // Tasks owned by the session itself (no named token: `mcp:<id>`, caller.ts) are unreachable
    // now: cancel them rather than run them to their ttl for nobody.
    mcp.tasks.cancelAllOf(`mcp:${id}`).catch(onerror);
    return session;
  }
  // Resumable streams: a priming event with an id and `retry`, replay after `Last-Event-ID`.
  const eventStore = options.eventStore ?? new MemoryEventStore();
  const retryInterval = options.retryIntervalMs ?? 1000;
  const disconnected = new DisconnectedCalls(options.disconnectGraceMs ?? 30_000, mcp.calls);
  const onerror = (error: Error) => mcp.log(`troupe mcp http: ${error.message}`);
  // 2026-07-28: resource updates go out on `subscriptions/listen` streams through the handler's bus.
  const modern = createMcpHandler((context) => build(context, 'none'), {
    legacy: 'reject',
    maxRequestBodySize: maxBodyBytes,
    onerror,
  });
  const stopUpdates = forwardResourceUpdates(mcp, modern.notify);
  const modernNode = toNodeHandler(modern, { maxRequestBodySize: maxBodyBytes, onerror });

  const sweep = setInterval(
    () => {
      const now = Date.now();
      for (const [id, session] of sessions) {
        if (session.active === 0 && now - session.lastSeenAt > idleSessionMs) {
          forget(id);
          void closeSession(session);
        }
      }
    },
    Math.max(50, Math.min(idleSessionMs / 4, 60_000)),
  );
  sweep.unref();

  /**
   * A new 2025-era session's server and transport, built where no request is in scope: its
   * callbacks live as long as the session, and in `handleLegacy` they kept the `initialize`
   * request, its response and raw body (an audit: 175 MB for 50 sessions of 3.5 MB capabilities).
   */
  async function newSession(caller: string, context: McpRequestContext) {
    const server = await build(context, 'subscribed');
    const sessionId = randomUUID();
    const events = watchResumes(sessionEventStore(eventStore, sessionId, caller), (stream) =>
      disconnected.resumed(sessionId, requestsOfStream(transport, stream)),
    );
    const transport: NodeStreamableHTTPServerTransport = new NodeStreamableHTTPServerTransport({
      sessionIdGenerator: () => sessionId,
      maxRequestBodySize: maxBodyBytes,
      eventStore: events,
      retryInterval,
      onsessioninitialized: (id) => {
        const posts = new OpenPosts();
        sessions.set(id, { transport, server, lastSeenAt: Date.now(), active: 0, caller, events, posts });
        sessionSlots.take(caller);
      },
      onsessionclosed: (id) => {
        forget(id);
      },
    });
    transport.onclose = () => {
      if (transport.sessionId !== undefined) forget(transport.sessionId);
    };
    return { server, transport };
  }

  async function handleLegacy(req: IncomingMessage, res: ServerResponse, body: unknown): Promise<void> {
    const sid = header(req, 'mcp-session-id');
    const caller = callerName(req);
    if (sid !== undefined) {
      // A session belongs to the token that opened it: with another token its id is unknown, so a
      // leaked or guessed id lets nobody else use, read, resume or DELETE it.
      const found = sessions.get(sid);
      const session = found?.caller === caller ? found : undefined;
      if (session === undefined) {
        // A stream of a session another instance holds: resumable here from the shared store.
        const lastEventId = header(req, 'last-event-id');
        if (found === undefined && req.method === 'GET' && lastEventId !== undefined) {
          const foreign = { caller, lastEventId, retryMs: retryInterval };
          if (await replayForeignSession(eventStore, sid, foreign, res)) return;
        }
        return json(res, 404, rpcError(-32001, 'Session not found: start a new session with initialize'));
      }
      session.lastSeenAt = Date.now();
      // Only POSTs (calls in flight) hold a session open; a standing GET stream does not, or an
      // abandoned client would keep its session forever.
      if (req.method === 'POST') {
        const ids = requestIdsOf(body); // not the body: a response held open would hold it too
        const reused = session.posts.hold(ids);
        if (reused !== undefined) return json(res, 400, rpcError(-32600, reusedIdMessage(reused)));
        session.active += 1;
        const single = ids.length === 1 ? ids[0] : undefined;
        if (single !== undefined) session.posts.set(single, res);
        closeCancelled(session, body, res, { sessionId: sid, calls: mcp.calls });
        res.on('close', () => {
          session.posts.release(ids);
          if (single !== undefined && session.posts.get(single) === res) session.posts.delete(single);
          session.active -= 1;
          session.lastSeenAt = Date.now();
          // Closed before its answer: its calls are cancelled unless the client resumes the stream.
          if (!res.writableFinished) disconnected.closed(sid, ids);
        });
      }
      const handle = () => session.transport.handleRequest(req, res, body);
      if (req.method === 'GET') return answerGet(session, header(req, 'last-event-id'), res, handle);
      return handle();
    }
    if (req.method === 'POST' && isInitializeRequest(body)) {
      const full =
        sessions.size >= maxSessions ? maxSessions : sessionSlots.full(caller) ? caller : undefined;
      if (full !== undefined)
        return json(res, 503, rpcError(-32000, tooManySessions(full, sessionSlots.perCaller)));
      const { server, transport } = await newSession(caller, sessionContext(req));
      await server.connect(transport);
      try {
        return await transport.handleRequest(req, res, body);
      } finally {
        // Refused before it began (406, 415, a bad message): no session holds it, so close it here.
        if (transport.sessionId === undefined) void closeSession({ transport, server });
      }
    }
    return json(
      res,
      400,
      rpcError(-32000, 'Bad Request: Mcp-Session-Id header required (or send initialize)'),
    );
  }

  async function handleMcp(req: IncomingMessage, res: ServerResponse, scope: string): Promise<void> {
    const version = header(req, 'mcp-protocol-version');
    if (version !== undefined && !PROTOCOL_VERSIONS.includes(version))
      return json(res, 400, rpcError(-32000, unsupportedVersion(version)));
    if (req.method === 'GET' || req.method === 'DELETE') return handleLegacy(req, res, undefined);
    if (req.method !== 'POST') {
      res.setHeader('Allow', 'GET, POST, DELETE');
      return json(res, 405, rpcError(-32000, 'Method not allowed'));
    }
    const read = await readBody(req, maxBodyBytes, maxJsonDepth, bodies, scope);
    if (read.kind === 'busy') {
      res.setHeader('Retry-After', '1');
      const message =
        read.bound === 'caller' ? busyMessage(bodies.maxBytesPerCaller, scope) : busyMessage(bodies.maxBytes);
      return json(res, 503, rpcError(-32000, message));
    }
    if (read.kind === 'tooLarge') return refuseTooLarge(req, res, maxBodyBytes, server.requestTimeout);
    if (read.kind === 'invalid')
      return json(res, 400, rpcError(-32700, 'Parse error: the body is not valid JSON'));
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
    const initialize = initializeRefusal(read.value);
    if (initialize !== undefined) return json(res, 400, rpcError(-32600, initialize));
    const probe = await toWebRequest(req, read.value);
    if (await isLegacyRequest(probe, read.value, { maxRequestBodySize: maxBodyBytes })) {
      return handleLegacy(req, res, read.value);
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
      const refused = operator === undefined || route !== operator ? undefined : operatorRefusal(auth);
      if (refused !== undefined) return refuse(res, 403, { error: refused });
      scope = requestScope(auth, header(req, 'mcp-session-id'), (id) => sessions.get(id)?.caller);
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
    listen() {
      const problem = exposureProblem({
        host,
        tokenRequired: tokens.length > 0,
        ...(options.allowNoToken === undefined ? {} : { allowNoToken: options.allowNoToken }),
        ...(options.allowedHosts === undefined ? {} : { allowedHosts: options.allowedHosts }),
      });
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
      clearInterval(sweep);
      unsent.close();
      stopUpdates();
      const closing = [...sessions.values()].map(closeSession);
      sessions.clear();
      sessionSlots.clear();
      listenSlots.clear();
      openSlots.clear();
      await Promise.allSettled([...closing, modern.close()]);
      await new Promise<void>((resolveClose) => {
        server.close(() => resolveClose());
        server.closeAllConnections();
      });
    },
  };
}

async function closeSession(session: Pick<LegacySession, 'transport' | 'server'>): Promise<void> {
  await Promise.allSettled([session.transport.close(), session.server.close()]);
}
