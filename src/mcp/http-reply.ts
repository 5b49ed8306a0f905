/**
 * Small pieces of the HTTP front (`http.ts`): reading a header, the path and the caller of a
 * request, the revisions served, and answering with JSON and its refusals' messages.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  type AuthInfo,
  type McpRequestContext,
  SUPPORTED_PROTOCOL_VERSIONS,
} from '@modelcontextprotocol/server';

/** The caller of a request that came without a token. */
export const ANONYMOUS = 'anonymous';

/** Who opened (or uses) a 2025-era session: its token's name, or `anonymous` without a token. */
export function callerName(req: IncomingMessage): string {
  return (req as IncomingMessage & { auth?: AuthInfo }).auth?.clientId ?? ANONYMOUS;
}

/** What `setup` is told of a 2025-era session's server: its era, and the caller that opened it. */
export function sessionContext(req: IncomingMessage): McpRequestContext {
  const authInfo = (req as IncomingMessage & { auth?: AuthInfo }).auth;
  return authInfo === undefined ? { era: 'legacy' } : { era: 'legacy', authInfo };
}

/** The ids of the requests (not notifications) in a JSON-RPC body or batch. */
export function requestIdsOf(body: unknown): (string | number)[] {
  const ids: (string | number)[] = [];
  for (const message of Array.isArray(body) ? body : [body]) {
    if (message !== null && typeof message === 'object' && 'method' in message && 'id' in message) {
      const id = (message as { id: unknown }).id;
      if (typeof id === 'string' || typeof id === 'number') ids.push(id);
    }
  }
  return ids;
}

export function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** The path of a request target, or `undefined` when it is not one (a bad target gets 404). */
export function pathOf(url: string | undefined): string | undefined {
  try {
    return new URL(url ?? '/', 'http://localhost').pathname;
  } catch {
    return undefined;
  }
}

export function rpcError(code: number, message: string) {
  return { jsonrpc: '2.0', error: { code, message }, id: null };
}

/**
 * `json`, refusing a request before its body is read: the connection closes once the answer is out.
 * Kept open, Node would read and drop whatever body the client declared, as slowly as it sends it:
 * an unauthenticated client held its connection for the whole request timeout (30 s), not 2 ms.
 */
export function refuse(res: ServerResponse, status: number, body: unknown): void {
  if (!res.headersSent) res.setHeader('Connection', 'close');
  json(res, status, body);
}

export function json(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) return void res.end();
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify(body));
}

/**
 * The revisions the SDK serves: its 2024-2025 list and the 2026-07-28 era (not exported by the SDK).
 * Checked before the SDK sees a request: it takes any header it does not know for a modern revision
 * and answers with an error about the body (`tests/integration/mcp/http-transport.test.ts`).
 */
export const PROTOCOL_VERSIONS: readonly string[] = ['2026-07-28', ...SUPPORTED_PROTOCOL_VERSIONS];

export function unsupportedVersion(version: string): string {
  const shown = JSON.stringify(version.length > 64 ? `${version.slice(0, 64)}…` : version);
  return `Bad Request: unsupported MCP-Protocol-Version: expected one of ${PROTOCOL_VERSIONS.join(', ')}, got ${shown}; send a revision the server supports, or none before initialize`;
}

/**
 * The HTTP refusals below tell the client to send its request again, never to "retry": in troupe's
 * words a retry is troupe's own, of a provider call (`errors.ts`). Until 2026-12-07 they said "retry
 * once idle ones expire", "retry in a moment".
 */

/** The `Retry-After` of a body refused while others are received, in seconds: the message says it too. */
export const BUSY_RETRY_AFTER_S = 1;

/**
 * `full`: the bound on all sessions that was reached, or the caller whose share was; `idleMs`: how
 * long a session with no request stays open (`idleSessionMs`).
 */
export function tooManySessions(full: number | string, perCaller: number, idleMs: number): string {
  const what =
    typeof full === 'number'
      ? `${full} open MCP sessions`
      : `${perCaller} open MCP sessions for caller \`${full}\``;
  return `Expected at most ${what}, got one more: close a session you are done with (DELETE /mcp with its Mcp-Session-Id), or send initialize again once an idle one has closed (a session closes after ${Math.ceil(idleMs / 1000)} s with no request)`;
}

export function tooManyListens(perCaller: number, caller: string): string {
  return `Expected at most ${perCaller} open subscriptions/listen streams for caller \`${caller}\`, got one more: close a stream you are done with`;
}

/** `caller`: the caller whose share of the bytes was reached, else the bound on all of them. */
export function busyMessage(max: number, caller?: string): string {
  if (caller !== undefined)
    return `Expected at most ${max} bytes of request bodies in flight at once for caller \`${caller}\`, got one more: send this request again once your other requests' bodies are sent`;
  return `Expected at most ${max} bytes of request bodies in flight at once, got one more: send this request again in ${BUSY_RETRY_AFTER_S} s, as Retry-After says (the server is receiving other large requests)`;
}
