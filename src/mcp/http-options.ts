/**
 * The options of `createHttpApp` (`http.ts`): where it listens, who may call it, and every bound it
 * keeps on what a client can make it hold (docs/security.md lists them).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { EventStore, McpRequestContext, McpServer } from '@modelcontextprotocol/server';
import { runtimeError } from '../core/errors.js';
import { onlyKeys } from '../runtime/option-keys.js';
import { callerShares } from '../runtime/options.js';
import { chooseNoCallerShare, sharesToSet, wholeShares } from './caller-shares.js';
import type { McpContext } from './context.js';
import { type NamedToken, tokenKind, tokensFromCode } from './http-auth.js';
import type { ServerIdentity } from './server.js';
import type { ToolName } from './tool.js';

export type RouteHandler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

export interface HttpAppOptions {
  /** The context every server shares (`createMcpContext`): its runtime, stores, caps and log. */
  readonly mcp: McpContext;
  /**
   * Which of troupe's tools each server has; a prompt comes only with its tool (`second_opinion` with
   * `chat`, `review` with `consensus`). @default all six (`TOOL_NAMES`)
   */
  readonly tools?: readonly ToolName[];
  /**
   * Called on every MCP server the app builds, after troupe's own tools, resources and prompts:
   * register your tools there (`withSession`). `context.era` is `'legacy'` for a 2025-era client's
   * session (one server for the whole session; `authInfo`, the caller that opened it) and `'modern'`
   * for one 2026-07-28 request (one server for that request). A thenable it returns is awaited
   * before the server serves; a rejection or throw fails that request with an internal error.
   * @default none
   */
  readonly setup?: (server: McpServer, context: McpRequestContext) => void | Promise<void>;
  /**
   * Who every server says it is in `initialize` (`serverInfo`): your `name`, and any other field
   * of the spec's `Implementation` (`title`, `description`, `websiteUrl`, `icons`); `version`
   * defaults to the context's (`createMcpContext({ version })`). Checked here: a field the spec
   * refuses is `INVALID_REQUEST` now, not a failed `initialize` for every client.
   * @default `{ name: 'troupe', version: <the context's> }`
   */
  readonly serverInfo?: ServerIdentity['serverInfo'];
  /**
   * What every server tells the host's model (`initialize`'s `instructions`): a string replaces
   * troupe's; a function gets troupe's (its tools here and its resources) and returns yours, e.g.
   * `(troupe) => \`Use lookup for words. ${troupe}\``. @default troupe's own, naming only the tools it has here
   */
  readonly instructions?: ServerIdentity['instructions'];
  /** Extra routes by exact path (e.g. `/`, `/metrics`); they sit behind the same Host/Origin/token checks. */
  readonly routes?: ReadonlyMap<string, RouteHandler>;
  /**
   * Routes that show every caller's work (the dashboard, its events, `/api/status`, `/metrics`):
   * behind the same checks, and refused (403) to a named token that is not the admin, and, when
   * there are named tokens, to the shared `token` too (`caller.ts`, `operatorRefusal`).
   */
  readonly operatorRoutes?: ReadonlyMap<string, RouteHandler>;
  /** Routes served before those checks: health probes (`/healthz`, `/readyz`), which send no token or Host we know. */
  readonly probes?: ReadonlyMap<string, RouteHandler>;
  /** @default '127.0.0.1' */
  readonly host?: string;
  /** 0 picks a free port. @default 7801 */
  readonly port?: number;
  /**
   * Hostnames accepted in `Host`. A loopback name passes only from a loopback peer.
   * @default on loopback: localhost, 127.0.0.1, [::1] and `host`; off loopback: `host` unless it is a wildcard
   */
  readonly allowedHosts?: readonly string[];
  /**
   * Origins accepted besides this server's own pages (`http://` an allowed host at its own port),
   * which always pass, as does a request without `Origin`: `http://localhost:6274` is that origin
   * exactly, a bare name (`app.example.com`) that name on any scheme and port.
   * @default on loopback: none (until 2026-12-05 a loopback name on any port); off loopback: the allowed hosts, any port
   */
  readonly allowedOrigins?: readonly string[];
  /**
   * When set, every request needs `Authorization: Bearer <token>`. Each token, here and in `tokens`,
   * is 8 or more printable ASCII characters without whitespace, and no two are the same, as the
   * environment's; a name is given to tokens of one kind only (`token` is named `default`)
   * (`tokensFromCode`; `INVALID_REQUEST` otherwise). @default undefined (no token)
   */
  readonly token?: string;
  /** Named tokens (with `token`, any of them is accepted); see `http-auth.ts`. @default [] */
  readonly tokens?: readonly NamedToken[];
  /** Listen off loopback without any token (refused otherwise). @default false */
  readonly allowNoToken?: boolean;
  /**
   * Serve several named clients on a runtime that gives its callers no share of its slots or queue
   * (refused otherwise: one client's calls could take every slot while the others' waited out their
   * deadlines). Set the shares instead (`limits.maxRunningPerCaller`, `limits.maxQueuedPerCaller`).
   * @default false
   */
  readonly allowNoCallerShare?: boolean;
  /** Largest request body, in bytes; larger gets 413. @default 4194304 (4 MiB) */
  readonly maxBodyBytes?: number;
  /** Bytes of request bodies received at once across connections (slow bodies each under the cap); past it 503. @default 67108864 */
  readonly maxBodyBytesInFlight?: number;
  /**
   * Bytes of request bodies one caller (its scope key, as for `maxOpenRequestsPerCaller`) has
   * being received at once; past it only that caller's bodies get 503, so it cannot take all of
   * `maxBodyBytesInFlight` from the others. @default a quarter of `maxBodyBytesInFlight`, at least `maxBodyBytes`
   */
  readonly maxBodyBytesInFlightPerCaller?: number;
  /** Deepest JSON nesting accepted in a body; deeper gets 400. @default 64 */
  readonly maxJsonDepth?: number;
  /**
   * Most bytes of a request's JSON outside `params.arguments` (its id, `_meta`, any other field),
   * which the server holds for as long as the request waits; more gets 400 (`initialize` apart).
   * Also the most bytes of a 2025-era batch that carries a request, held whole until its last answer.
   * @default 65536
   */
  readonly maxEnvelopeBytes?: number;
  /** Time to receive a request's headers, in ms; a slower client is cut off (408). @default 10000 */
  readonly headersTimeoutMs?: number;
  /** Time to receive a whole request (headers and body), in ms. @default 30000 */
  readonly requestTimeoutMs?: number;
  /** How long an idle keep-alive connection stays open, in ms. @default 5000 */
  readonly keepAliveTimeoutMs?: number;
  /** Open client connections; past it a new one is closed at once (file descriptors for providers, Redis). @default 4096 */
  readonly maxConnections?: number;
  /** A 2025-era session idle this long (no request, nothing streaming) is closed, in ms. @default 1800000 (30 min) */
  readonly idleSessionMs?: number;
  /** Most 2025-era sessions at once; one more `initialize` gets 503. @default 1000 */
  readonly maxSessions?: number;
  /**
   * Most 2025-era sessions one caller (one named token) holds at once, so one client cannot take
   * every session from the others; one more `initialize` from it gets 503.
   * @default `maxSessions` split evenly among the configured tokens (all of it with one or none)
   */
  readonly maxSessionsPerCaller?: number;
  /**
   * Most 2026-07-28 `subscriptions/listen` streams one caller holds open (the SDK's 1,024 are shared
   * by all clients); one more gets 503. @default 1024 split evenly among the configured tokens
   */
  readonly maxListensPerCaller?: number;
  /**
   * Most requests one caller (its scope key: a named token, else its MCP session, else `anonymous`)
   * holds open at once: tool calls, `tasks/result` waits, streams, bodies still arriving; one more
   * gets 503 naming the caller, so one client cannot hold every connection (`http-open.ts`).
   * @default the caller's queue share, plus `maxConcurrent`, plus 16 for streams; at most three quarters of `maxConnections`
   */
  readonly maxOpenRequestsPerCaller?: number;
  /**
   * Where 2025-era SSE events are kept for resuming with `Last-Event-ID`; each is stored with its
   * caller (the token's name) as a third `storeEvent` argument (`OwnedEventStore`), which a store may
   * ignore. @default a `MemoryEventStore` of 10000 events and 64 MiB, the caller holding the most paying first
   */
  readonly eventStore?: EventStore;
  /** The SSE `retry` field sent in each stream's priming event, in ms. @default 1000 */
  readonly retryIntervalMs?: number;
  /**
   * A 2025-era POST stream closed before its answer: its calls are cancelled if the client has not
   * resumed it (`Last-Event-ID`) within this, in ms; 0 cancels them at once (`http-disconnect.ts`).
   * @default 30000
   */
  readonly disconnectGraceMs?: number;
  /**
   * A response with bytes unsent this long (a client not reading) is cut off (`http-unsent.ts`), and
   * an answer held this long (`http-held.ts`) goes as an error for its id. @default 30000
   */
  readonly stalledResponseMs?: number;
  /**
   * Most bytes unsent across all responses; past it the caller holding the most (unsent and held)
   * loses its response waiting longest, and an answer that does not fit is held until it does,
   * within as many bytes again, shared the same way (`http-held.ts`). @default 67108864
   */
  readonly maxUnsentBytes?: number;
}

/** Every option above, so one misspelt from JavaScript is refused by name rather than ignored. */
const HTTP_OPTION_KEYS = {
  mcp: true,
  tools: true,
  setup: true,
  serverInfo: true,
  instructions: true,
  routes: true,
  operatorRoutes: true,
  probes: true,
  host: true,
  port: true,
  allowedHosts: true,
  allowedOrigins: true,
  token: true,
  tokens: true,
  allowNoToken: true,
  allowNoCallerShare: true,
  maxBodyBytes: true,
  maxBodyBytesInFlight: true,
  maxBodyBytesInFlightPerCaller: true,
  maxJsonDepth: true,
  maxEnvelopeBytes: true,
  headersTimeoutMs: true,
  requestTimeoutMs: true,
  keepAliveTimeoutMs: true,
  maxConnections: true,
  idleSessionMs: true,
  maxSessions: true,
  maxSessionsPerCaller: true,
  maxListensPerCaller: true,
  maxOpenRequestsPerCaller: true,
  eventStore: true,
  retryIntervalMs: true,
  disconnectGraceMs: true,
  stalledResponseMs: true,
  maxUnsentBytes: true,
} as const satisfies Record<keyof HttpAppOptions, true>;

/**
 * `options`, once each key is one `createHttpApp` takes (`INVALID_REQUEST` naming the first that is
 * not), and once a server with named clients says who sees which sessions: with a client's named
 * token (not the shared one, not the admin) and a context without `sessionFilter`, every client
 * would list and read every other's sessions in `troupe://sessions` while the tools scope by caller.
 * Until 2026-12-07 such a server was built, and each client saw the others' sessions there.
 * Nor is one with several clients told apart by token on a runtime that gives them no share
 * (`wholeShares`), unless `allowNoCallerShare`: until 2026-12-07 one client's slow calls took every
 * slot, and another's call timed out in the queue.
 */
export function onlyHttpOptions(options: HttpAppOptions): {
  readonly mcp: McpContext;
  /** `token` (as the shared one) and `tokens`, each held to the environment's rule (`tokensFromCode`). */
  readonly tokens: readonly NamedToken[];
} {
  onlyKeys('createHttpApp options', options, HTTP_OPTION_KEYS);
  const tokens = tokensFromCode(options.token, options.tokens);
  const clients = tokens.filter((t) => tokenKind(t) === 'named');
  if (clients.length > 0 && options.mcp.sessionFilter === undefined) {
    throw runtimeError(
      'INVALID_REQUEST',
      `Expected the context of a createHttpApp with named tokens to set sessionFilter, got none: every client (${clients.length} named) would see every other's sessions in troupe://sessions; pass createMcpContext({ sessionFilter: 'owner' }) (the tools' rule), or () => true to show them all`,
    );
  }
  // Callers told apart by token: each named client, and the shared token's holders (by session).
  const callers = clients.length + (tokens.some((t) => t.shared === true) ? 1 : 0);
  // Chosen: the runtime's callers share it, and its watch (`callerShareWatch`) stays quiet too.
  if (options.allowNoCallerShare === true) chooseNoCallerShare(options.mcp.runtime);
  else if (callers > 1) {
    const status = options.mcp.runtime.status({ recent: 0 });
    const want = callerShares(status);
    const whole = wholeShares(status, want);
    if (whole.length > 0) {
      throw runtimeError(
        'INVALID_REQUEST',
        `Expected the runtime of a createHttpApp with ${callers} clients told apart by token to give each caller a share of its slots and queue, got ${whole.join(' and ')}: one client's calls could take them all while the others' waited out their deadlines; ${sharesToSet(want)}, or pass allowNoCallerShare: true`,
      );
    }
  }
  return { mcp: options.mcp, tokens };
}
