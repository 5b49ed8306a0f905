/**
 * What one caller sees of the runtime, for the `sessions` and `cancel_session` tools (and any
 * resource listing sessions): only the sessions it started, unless it is an admin (`caller.ts`).
 * Another caller's session reads as unknown, so an id says nothing about whether it exists.
 * Aggregate counts (queued, running, per provider) stay whole: they carry no one's content. A
 * model id is a caller's own words (a fine-tuned id can name a customer), so of the models cooling
 * down a caller sees only the public ones and its own (`shownModels`). Money spent is no count of
 * load but other callers' business: a caller sees what its own sessions cost (`visibleCost`).
 */
import type { RuntimeStatus, SessionSummary } from '../runtime/types.js';
import { type Caller, canSee, listingOwner } from './caller.js';
import type { McpContext } from './context.js';
import type { LiveSession } from './live-sessions.js';

/** The most recent sessions a `sessions` call may ask for (`recent_limit`); one answer lists at most `SESSIONS_PAGE_MAX`. */
export const RECENT_LIMIT_MAX = 1000;
/** How many of a caller's newest ended sessions are read (the runtime's default history size). */
export const RECENT_SCAN = 1000;

const LOCAL: Caller = { key: 'local', admin: false };

export function visibleSession(
  mcp: McpContext,
  call: { readonly caller?: Caller },
  sessionId: string,
): SessionSummary | undefined {
  if (!canSee(call.caller ?? LOCAL, mcp.owners.ownerOf(sessionId))) return undefined;
  return mcp.runtime.session(sessionId);
}

export function visibleLive(mcp: McpContext, call: { readonly caller?: Caller }): readonly LiveSession[] {
  const caller = call.caller ?? LOCAL;
  return mcp.live.list((s) => canSee(caller, mcp.owners.ownerOf(s.sessionId)));
}

/**
 * The runtime's status with the newest `recent` ended sessions the caller may see: read from its
 * own list in the history (`status({ owner })`), so they are found however many sessions other
 * callers ended since; every caller's for one who sees everything. With `after`, those older than
 * that one (`listedEnd`), read from its entry on.
 */
export function statusFor(
  mcp: McpContext,
  call: { readonly caller?: Caller },
  recent: number,
  after?: string,
): RuntimeStatus {
  const owner = listingOwner(call.caller ?? LOCAL);
  return mcp.runtime.status(after === undefined ? { recent, owner } : { recent, owner, after });
}

/** Whether `id` is an ended session in the caller's listing: the place a page after a cursor starts from. */
export function listedEnd(mcp: McpContext, call: { readonly caller?: Caller }, id: string): boolean {
  const session = mcp.runtime.session(id);
  return (
    session?.endedAt !== undefined && canSee(call.caller ?? LOCAL, session.owner ?? mcp.owners.ownerOf(id))
  );
}

export function visibleRecent(
  mcp: McpContext,
  call: { readonly caller?: Caller },
  recent: readonly SessionSummary[],
): SessionSummary[] {
  const caller = call.caller ?? LOCAL;
  // One who sees everything reads no owner; a summary names its own (no lookup per session).
  if (listingOwner(caller) === undefined) return [...recent];
  return recent.filter((s) => canSee(caller, s.owner ?? mcp.owners.ownerOf(s.sessionId)));
}

/**
 * Which models a caller is shown by id among a provider's models cooling down: those the catalog
 * lists (public through `list_models`) and those of its own live and recent sessions; an admin,
 * every one. Before, any caller read every other caller's model ids there.
 */
export function shownModels(
  mcp: McpContext,
  call: { readonly caller?: Caller },
  recent: readonly SessionSummary[],
): (provider: string, model: string) => boolean {
  if ((call.caller ?? LOCAL).admin) return () => true;
  const shown = new Set<string>();
  const add = (provider: string, model: string) => shown.add(`${provider}\n${model}`);
  for (const p of mcp.catalog.list()) for (const m of p.models) add(p.name, m.id);
  for (const s of visibleRecent(mcp, call, recent)) add(s.provider, s.model);
  for (const live of visibleLive(mcp, call)) {
    const s = mcp.runtime.session(live.sessionId);
    if (s !== undefined) add(s.provider, s.model);
  }
  return (provider, model) => shown.has(`${provider}\n${model}`);
}

/**
 * What ended sessions cost, by currency, as a caller may see it (`own`: only its own sessions'):
 * the sessions it may list, as for every other list here. One who sees everything (an admin,
 * stdio's `local`) reads what every session cost (the ledger's total: on a cluster with a shared
 * ledger, every instance's ends; `metrics().cost`, on `/api/status` and `/metrics`, is this
 * instance's alone); every other caller (a named token, a user an
 * embedding server names, a 2025-era MCP session, the shared `anonymous` scope of stateless clients)
 * its own sessions' (`McpContext.costs`, counted in the cost ledger). Until 2026-12-05 every
 * caller read the whole total, and for a while after every caller but a named token still did, so
 * an embedding server's users and clients without a named token learnt what the others spent.
 */
export async function visibleCost(
  mcp: McpContext,
  call: { readonly caller?: Caller },
): Promise<{ readonly amounts: Record<string, number>; readonly own: boolean }> {
  const owner = listingOwner(call.caller ?? LOCAL);
  if (owner === undefined) return { amounts: await mcp.costs.total(), own: false };
  return { amounts: await mcp.costs.of(owner), own: true };
}
