/**
 * The 2025-era sessions of `http.ts`: a client opens one with `initialize` and gets an
 * `Mcp-Session-Id`, served by one transport and one server until it DELETEs it or it sits idle past
 * `idleSessionMs`; an unknown id (or one another token opened) gets 404. The table, its bounds
 * (`maxSessions`, `maxSessionsPerCaller`), the idle sweep, and each session's open POSTs.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { NodeStreamableHTTPServerTransport } from '@modelcontextprotocol/node';
import {
  type EventStore,
  isInitializeRequest,
  type McpRequestContext,
  type McpServer,
} from '@modelcontextprotocol/server';
import { CallerSlots } from '../core/caller-slots.js';
import { steadyClock } from '../core/clock.js';
import type { McpContext } from './context.js';
import { replayForeignSession, sessionEventStore } from './event-store.js';
import { closeCancelled, OpenPosts } from './http-cancelled.js';
import { DisconnectedCalls, watchResumes } from './http-disconnect.js';
import { answerGet } from './http-replays.js';
import {
  callerName,
  header,
  json,
  requestIdsOf,
  rpcError,
  sessionContext,
  tooManySessions,
} from './http-reply.js';
import { InFlightIds } from './in-flight-ids.js';
import type { ResourceUpdates } from './resources.js';
import { requestsOfStream } from './sdk-internals.js';
import { initializeRefused } from './spec-params.js';

/**
 * The 404 for an unknown session id. A session lives in the process that opened it: behind a load
 * balancer that spreads a client's requests over instances, its next request met this 404 naming
 * nothing, and the SDK's client could not even finish connecting.
 */
const SESSION_NOT_FOUND =
  'Session not found: start a new session with initialize (a session is served only by the instance that opened it: behind a load balancer, send each Mcp-Session-Id to that instance)';

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

export interface LegacySessionsOptions {
  readonly mcp: McpContext;
  readonly build: (context: McpRequestContext, updates: ResourceUpdates) => McpServer | Promise<McpServer>;
  readonly eventStore: EventStore;
  readonly retryIntervalMs: number;
  readonly disconnectGraceMs: number;
  readonly maxBodyBytes: number;
  readonly idleSessionMs: number;
  readonly maxSessions: number;
  readonly maxSessionsPerCaller: number;
  readonly onerror: (error: Error) => void;
}

export class LegacySessions {
  readonly #sessions = new Map<string, LegacySession>();
  readonly #slots: CallerSlots;
  readonly #disconnected: DisconnectedCalls;
  readonly #sweep: ReturnType<typeof setInterval>;

  constructor(private readonly options: LegacySessionsOptions) {
    this.#slots = new CallerSlots(options.maxSessionsPerCaller);
    this.#disconnected = new DisconnectedCalls(options.disconnectGraceMs, options.mcp.calls);
    const { idleSessionMs } = options;
    this.#sweep = setInterval(
      () => {
        // On the steady clock: a wall-clock step forward closed every idle session at the next
        // sweep, and one back kept them (until 2026-12-07).
        const now = steadyClock.now();
        for (const [id, session] of this.#sessions) {
          if (session.active === 0 && now - session.lastSeenAt > idleSessionMs) {
            this.#forget(id);
            void closeSession(session);
          }
        }
      },
      Math.max(50, Math.min(idleSessionMs / 4, 60_000)),
    );
    this.#sweep.unref();
  }

  /** Live sessions. */
  get size(): number {
    return this.#sessions.size;
  }

  /** The caller (token name) that opened session `id`, while it is live here. */
  callerOf(id: string): string | undefined {
    return this.#sessions.get(id)?.caller;
  }

  /** Forgets a session once, whichever of close, DELETE or the idle sweep comes first. */
  #forget(id: string): LegacySession | undefined {
    const session = this.#sessions.get(id);
    if (session === undefined) return undefined;
    this.#sessions.delete(id);
    this.#slots.give(session.caller);
    this.#disconnected.forget(id);
    session.events.close();
    // Tasks owned by the session itself (no named token: `mcp:<id>`, caller.ts) are unreachable
    // now: cancel them rather than run them to their ttl for nobody.
    this.options.mcp.tasks.cancelAllOf(`mcp:${id}`).catch(this.options.onerror);
    return session;
  }

  /**
   * A new session's server and transport, built where no request is in scope: its callbacks live
   * as long as the session, and in `handle` they kept the `initialize` request, its response and
   * raw body (an audit: 175 MB for 50 sessions of 3.5 MB capabilities).
   */
  async #open(caller: string, context: McpRequestContext) {
    const server = await this.options.build(context, 'subscribed');
    const sessionId = randomUUID();
    const store = sessionEventStore(this.options.eventStore, sessionId, caller);
    const events = watchResumes(store, (stream) =>
      this.#disconnected.resumed(sessionId, requestsOfStream(transport, stream)),
    );
    const posts = new OpenPosts(new InFlightIds());
    const transport: NodeStreamableHTTPServerTransport = new AnsweringHttpTransport(posts, {
      sessionIdGenerator: () => sessionId,
      maxRequestBodySize: this.options.maxBodyBytes,
      eventStore: events,
      retryInterval: this.options.retryIntervalMs,
      onsessioninitialized: (id) => {
        this.#sessions.set(id, {
          transport,
          server,
          lastSeenAt: steadyClock.now(),
          active: 0,
          caller,
          events,
          posts,
        });
        this.#slots.take(caller);
      },
      onsessionclosed: (id) => {
        this.#forget(id);
      },
    });
    transport.onclose = () => {
      if (transport.sessionId !== undefined) this.#forget(transport.sessionId);
    };
    return { server, transport };
  }

  /** A 2025-era request: `initialize` opens a session, anything else names one. */
  async handle(req: IncomingMessage, res: ServerResponse, body: unknown): Promise<void> {
    const sid = header(req, 'mcp-session-id');
    const caller = callerName(req);
    if (sid !== undefined) {
      // A session belongs to the token that opened it: with another token its id is unknown, so a
      // leaked or guessed id lets nobody else use, read, resume or DELETE it.
      const found = this.#sessions.get(sid);
      const session = found?.caller === caller ? found : undefined;
      if (session === undefined) {
        // A stream of a session another instance holds: resumable here from the shared store.
        const lastEventId = header(req, 'last-event-id');
        if (found === undefined && req.method === 'GET' && lastEventId !== undefined) {
          const foreign = { caller, lastEventId, retryMs: this.options.retryIntervalMs };
          if (await replayForeignSession(this.options.eventStore, sid, foreign, res)) return;
        }
        return json(res, 404, rpcError(-32001, SESSION_NOT_FOUND));
      }
      session.lastSeenAt = steadyClock.now();
      // Only POSTs (calls in flight) hold a session open; a standing GET stream does not, or an
      // abandoned client would keep its session forever.
      if (req.method === 'POST') {
        const ids = requestIdsOf(body); // not the body: a response held open would hold it too
        const refused = session.posts.hold(ids, body);
        if (refused !== undefined) return json(res, 400, rpcError(-32600, refused));
        session.active += 1;
        const single = ids.length === 1 ? ids[0] : undefined;
        if (single !== undefined) session.posts.set(single, res);
        closeCancelled(session, body, res, { sessionId: sid, calls: this.options.mcp.calls });
        res.on('close', () => {
          // Not a 200: the SDK's transport refused the POST whole, and answers none of its requests.
          const unanswered = session.posts.release(ids, res.statusCode !== 200);
          if (single !== undefined && session.posts.get(single) === res) session.posts.delete(single);
          session.active -= 1;
          session.lastSeenAt = steadyClock.now();
          // Closed before its last answer: the calls not answered are cancelled unless the client
          // resumes the stream.
          if (!res.writableFinished) this.#disconnected.closed(sid, unanswered);
        });
      }
      const handle = () => session.transport.handleRequest(req, res, body);
      if (req.method === 'GET')
        return answerGet(session, header(req, 'last-event-id'), res, handle, (stream) =>
          // The calls whose answers are still to go on that stream (none once it was answered).
          this.#disconnected.closed(sid, requestsOfStream(session.transport, stream)),
        );
      return handle();
    }
    if (req.method === 'POST' && isInitializeRequest(body)) {
      const { maxSessions } = this.options;
      const full =
        this.#sessions.size >= maxSessions ? maxSessions : this.#slots.full(caller) ? caller : undefined;
      if (full !== undefined)
        return json(
          res,
          503,
          rpcError(-32000, tooManySessions(full, this.#slots.perCaller, this.options.idleSessionMs)),
        );
      const { server, transport } = await this.#open(caller, sessionContext(req));
      await server.connect(transport);
      try {
        return await transport.handleRequest(req, res, body);
      } finally {
        // Refused before it began (406, 415, a bad message): no session holds it, so close it here.
        if (transport.sessionId === undefined) void closeSession({ transport, server });
      }
    }
    const refused = req.method === 'POST' ? initializeRefused(body) : undefined;
    if (refused !== undefined) return json(res, 400, refused);
    return json(
      res,
      400,
      rpcError(-32000, 'Bad Request: Mcp-Session-Id header required (or send initialize)'),
    );
  }

  /** Stops the sweep and closes every session. */
  close(): Promise<void> {
    clearInterval(this.#sweep);
    const closing = [...this.#sessions.values()].map(closeSession);
    this.#sessions.clear();
    this.#slots.clear();
    return Promise.allSettled(closing).then(() => undefined);
  }
}

/** The SDK's transport, telling a session's open POSTs (and requests in flight) of every answer it sends. */
class AnsweringHttpTransport extends NodeStreamableHTTPServerTransport {
  constructor(
    private readonly posts: OpenPosts,
    options: ConstructorParameters<typeof NodeStreamableHTTPServerTransport>[0],
  ) {
    super(options);
  }

  override send(...[message, options]: Parameters<NodeStreamableHTTPServerTransport['send']>): Promise<void> {
    this.posts.answered(message);
    return super.send(message, options);
  }
}

async function closeSession(session: Pick<LegacySession, 'transport' | 'server'>): Promise<void> {
  await Promise.allSettled([session.transport.close(), session.server.close()]);
}
