/**
 * Requests one caller holds open over HTTP at once. Every request that waits holds a connection: a
 * tool call until its session ends, a `tasks/result` until its task does, a GET stream until the
 * client leaves. Only `maxConnections` bounded them for everyone together, so one client could
 * send 4,000 `tasks/result` for its own task and every other client's connection was closed on
 * arrival. Each caller (the MCP front's scope key, `callerOf`: a named token, else its MCP
 * session, else `anonymous`) now has a share, counted once the token is checked and before the
 * body is read, so slow bodies count too. `http.ts` uses it.
 */
import type { AuthInfo } from '@modelcontextprotocol/server';
import type { RuntimeStatus } from '../runtime/types.js';
import { callerOf } from './caller.js';

/**
 * The scope key a request counts against: its named token's, else its 2025-era session's when the
 * session is live here and belongs to the same token (`sessionCaller` gives a session's token name),
 * else `anonymous`. A made-up or foreign session id counts as `anonymous`, never as a fresh caller.
 */
export function requestScope(
  auth: AuthInfo,
  sessionId: string | undefined,
  sessionCaller: (id: string) => string | undefined,
): string {
  const own = sessionId !== undefined && sessionCaller(sessionId) === auth.clientId;
  return callerOf({ ...(own ? { sessionId } : {}), http: { authInfo: auth } }).key;
}

/** Room beside its calls for a caller's streams (a 2025-era session's GET stream, listen streams). */
export const STREAMS = 16;

/**
 * The default share: every call the caller may have waiting (`maxQueuedPerCaller`) or running
 * (`maxRunningPerCaller`, `maxConcurrent` unless a share is set) held by a request of its own, whether a tool call's POST or a `tasks/result`
 * on its task, and `STREAMS` more for its GET and listen streams, so a client that sends one call
 * per request meets its queue share (`QUEUE_FULL`) first. At most three quarters of
 * `maxConnections`, so one caller always leaves a quarter to the others (a runtime with no queue
 * share, outside `troupe serve`, would otherwise have no bound here).
 */
export function defaultOpenRequestsPerCaller(
  status: Pick<RuntimeStatus, 'maxQueuedPerCaller' | 'maxRunningPerCaller'>,
  maxConnections: number,
): number {
  const calls = status.maxQueuedPerCaller + status.maxRunningPerCaller + STREAMS;
  return Math.max(1, Math.min(calls, Math.floor((maxConnections * 3) / 4)));
}

export function tooManyOpenRequests(perCaller: number, caller: string): string {
  return `Expected at most ${perCaller} open requests of caller \`${caller}\` at once, got one more: wait for some to end (each tool call, tasks/result wait and stream holds one until it ends), or close those you are done with`;
}
