/**
 * Who is calling, and what they may see: the one place that decides scoping for the `sessions`
 * tool, `cancel_session`, MCP tasks and any resource that lists sessions.
 *
 * A caller's scope key is, in order: its token's name when it came with a named token
 * (`TROUPE_TOKENS`, `TROUPE_ADMIN_TOKEN`); else the user an embedding server's own authentication
 * names (`authInfo.extra.troupeCaller`: `user:<it>`; not `clientId`, which OAuth gives to the app,
 * the same for all its users); else its MCP session (2025-era HTTP); else `anonymous`
 * (stateless HTTP, of either era, without a named token: such clients share one scope); else `local`
 * (stdio, or an in-process transport: one client per process, which sees everything in it). An
 * admin sees everything.
 * A session or task whose owner is not known here (started elsewhere in a cluster, or before its
 * owner was recorded) is visible only to an admin.
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { AuthInfo, ServerContext } from '@modelcontextprotocol/server';
import { type NamedToken, tokenKind } from './http-auth.js';

export interface Caller {
  /** The scope key: `token:<name>`, `user:<troupeCaller>`, `mcp:<session id>`, `anonymous` or `local`. */
  readonly key: string;
  /** Sees and cancels every caller's work. */
  readonly admin: boolean;
}

export const ADMIN_SCOPE = 'troupe:admin';

/** The identity the HTTP layer attaches to a request (`req.auth`), read back by `callerOf`. */
export function authInfoFor(token: NamedToken | undefined): AuthInfo {
  if (token === undefined) {
    return { token: '', clientId: 'anonymous', scopes: [], extra: { troupeScope: 'session' } };
  }
  // The shared TROUPE_TOKEN names nobody in particular: its clients are told apart by MCP session.
  // Marked as such, not told by its name `default`, which a TROUPE_TOKENS entry may also have.
  const byName = token.admin === true || token.shared !== true;
  return {
    token: '', // never the secret: handlers and logs may see this object
    clientId: token.name,
    scopes: token.admin === true ? [ADMIN_SCOPE] : [],
    extra: { troupeScope: byName ? 'token' : 'session' },
  };
}

/**
 * Why a request may not see every caller's work (the dashboard, its event stream, `/api/status`,
 * `/metrics`), or `undefined` when it may. A named token that is not the admin is scoped to its own
 * work. The shared `TROUPE_TOKEN`, or no token, names nobody, so its holders are the operator, but
 * only while no named token is configured (`namedTokens`): beside named tokens they are clients too,
 * and until 2026-12-08 read the named callers' session and model ids there.
 */
export function operatorRefusal(auth: AuthInfo | undefined, namedTokens: boolean): string | undefined {
  if (auth === undefined || auth.scopes.includes(ADMIN_SCOPE)) return undefined;
  if (auth.extra?.troupeScope === 'token') {
    return `Forbidden: this page shows every client's work, so it needs the admin token (TROUPE_ADMIN_TOKEN), got the token of \`${auth.clientId}\`; read your own sessions with the \`sessions\` tool`;
  }
  if (!namedTokens) return undefined;
  return `Forbidden: this page shows every client's work, so on a server with named tokens (TROUPE_TOKENS) it needs the admin token (TROUPE_ADMIN_TOKEN), got the shared token (TROUPE_TOKEN), which serves /mcp only; read your own sessions with the \`sessions\` tool`;
}

/**
 * The line `troupe serve` logs at its start when nobody can read the operator pages: named tokens
 * and no admin token (every other token gets 403 there, `operatorRefusal`); `undefined` otherwise.
 */
export function operatorPagesUnread(tokens: readonly NamedToken[]): string | undefined {
  const kinds = new Set(tokens.map(tokenKind));
  if (!kinds.has('named') || kinds.has('admin')) return undefined;
  return 'the dashboard (/, /events), /api/status and /metrics answer only TROUPE_ADMIN_TOKEN beside TROUPE_TOKENS, and it is not set: set it to read them';
}

/** Whether an HTTP request came with the admin token (`req.auth`, set by the HTTP front once it checked it). */
export function isAdminRequest(req: IncomingMessage): boolean {
  return (req as IncomingMessage & { auth?: AuthInfo }).auth?.scopes.includes(ADMIN_SCOPE) === true;
}

export function callerOf(ctx: Pick<ServerContext, 'sessionId' | 'http'>): Caller {
  const auth = ctx.http?.authInfo;
  const admin = auth?.scopes.includes(ADMIN_SCOPE) === true;
  const mark = auth?.extra?.troupeScope;
  if (auth !== undefined && mark === 'token') return { key: `token:${auth.clientId}`, admin };
  // The user an embedding server names (troupe's HTTP front marks what it attaches). Until 2026-12-04
  // there was no way to: behind a stateless handler its users shared one scope, and saw and
  // cancelled each other's calls.
  const user = auth?.extra?.troupeCaller;
  if (mark === undefined && typeof user === 'string' && user !== '')
    return { key: `${USER}${bounded(user)}`, admin };
  if (ctx.sessionId !== undefined) return { key: `mcp:${bounded(ctx.sessionId)}`, admin };
  // A request that came over HTTP is never the process's one client, whatever named it: until
  // 2026-12-07 one without `authInfo` (an embedder's `createMcpHandler` behind no authentication, or
  // a route its authentication let through unnamed) was `local`, and saw and cancelled every
  // caller's sessions and tasks, its named users' too.
  if (auth !== undefined || ctx.http?.req !== undefined) return { key: 'anonymous', admin };
  return LOCAL;
}

/**
 * An id as a scope key: itself, or past 200 characters its SHA-256, so the key (with its prefix)
 * stays within the characters a session's owner may have (`MAX_NAME_CHARS`, 256) and two ids stay two callers
 * (an embedder's user id, or its own `sessionIdGenerator`'s ids); so is one holding a lone
 * surrogate, whatever its length. An id that itself begins with
 * `sha256:` is hashed too, so no id names the key of another's hash (until 2026-12-05 a user whose
 * id a client chose could take `sha256:<digest>` of another user's long id, and share its scope).
 */
function bounded(id: string): string {
  const whole = !LONE_SURROGATE.test(id);
  if (id.length <= 200 && whole && !id.startsWith(HASHED)) return id;
  const hash = createHash('sha256');
  // A lone surrogate is no character: UTF-8 (the hash's default, and Redis keys') reads each as
  // U+FFFD, so until 2026-12-07 ids that differed only there were one caller. Such an id is hashed
  // by its UTF-16 code units, after a byte no UTF-8 text holds (0xff), so it is no other id's key.
  // biome-ignore lint/plugin: ILL_FORMED is a byte array, not a string
  if (!whole) hash.update(ILL_FORMED).update(id, 'utf16le');
  // biome-ignore lint/plugin: a whole id has no lone surrogate, so UTF-8 keeps it apart (and keeps the keys stored before)
  else hash.update(id);
  return `${HASHED}${hash.digest('base64url')}`;
}

const HASHED = 'sha256:';
const ILL_FORMED = new Uint8Array([0xff]);
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * Whether a scope key is a named token's (`TROUPE_TOKENS`, the admin token): a set the operator
 * configured, where `mcp:<session id>` keys are as many as clients open.
 */
export function namedCallerKey(key: string): boolean {
  return key.startsWith('token:');
}

/** Whether a scope key is a user's an embedding server names (`user:<troupeCaller>`). */
export function userCallerKey(key: string): boolean {
  return key.startsWith(USER);
}

const USER = 'user:';

/** The one client of a stdio process (no HTTP identity, no MCP session): one object for every call. */
const LOCAL: Caller = Object.freeze({ key: 'local', admin: false });

/** Whether `caller` may see (and cancel) work owned by `owner`. */
export function canSee(caller: Caller, owner: string | undefined): boolean {
  // `local` is the one client of a stdio process: everything in the process is its own.
  return caller.admin || caller.key === 'local' || (owner !== undefined && owner === caller.key);
}

/**
 * The owner a caller's MCP tasks are stored with: none for `local`, the one client of its process,
 * which `canSee` lets see everything and nobody else see either way; without an owner its tasks are
 * also exempt from the per-caller share of the task store (`task-bounds.ts`): there is no other
 * caller to share with.
 */
export function taskOwner(caller: Caller): string | undefined {
  return caller.key === 'local' ? undefined : caller.key;
}

/**
 * The owner a session is recorded with (its `metadata.owner`, its share of the queue, the owners
 * index): the caller's key, `local` for a call with no caller (an in-process transport).
 */
export function sessionOwner(caller: Caller | undefined): string {
  return (caller ?? LOCAL).key;
}

/** The owner to list work for: `undefined` (everything) for a caller that sees everything. */
export function listingOwner(caller: Caller): string | undefined {
  return caller.admin || caller.key === 'local' ? undefined : caller.key;
}
