/**
 * Whose a conversation is. A client that came with a named token (`TROUPE_TOKENS`,
 * `TROUPE_ADMIN_TOKEN`) keeps its conversations under its token's name, so another client that
 * learns a `continuation_id` finds nothing there: it can neither read the turns through the model
 * nor write its own into them. Without a named token (the shared `TROUPE_TOKEN`, none, stdio)
 * clients are not told apart by token, and a conversation is anyone's who holds its id, as it must
 * be for a client that reconnects with a new MCP session to continue.
 *
 * The owner is also what the store's per-owner bounds count by (`conversation-store.ts`): each named
 * token is one owner, and every client without one is the one `SHARED_OWNER`, so no token's burst
 * evicts another token's conversations (or the shared pool's) while it holds more than they do.
 */
import { randomUUID } from 'node:crypto';
import {
  type ConversationModel,
  SHARED_OWNER,
  type StoredConversation,
} from '../ports/conversation-store.js';
import type { ChatMessage } from '../providers/port.js';
import { type Caller, namedCallerKey, userCallerKey } from './caller.js';
import { logStoreFailure, type McpContext } from './context.js';

/**
 * Whether `caller`'s conversations are its own: it came with a named token, or as a user an
 * embedding server names (`user:<id>`, caller.ts). Until 2026-12-05 only named tokens' were: a
 * user's were keyed by the bare id, so another user given the id continued the conversation, its
 * turns read back through the model (the attacker audit).
 */
function named(caller: Caller | undefined): caller is Caller {
  return caller !== undefined && (namedCallerKey(caller.key) || userCallerKey(caller.key));
}

/**
 * The store key of conversation `id` for `caller`, or `undefined` when that caller cannot name it.
 * An owner's keys are `<scope key>/<id>` and a caller without one keys by the bare id. No id this
 * server gives holds a `/`, and one that does names nothing: so a bare id never reads as an owner's
 * key (before, a client of the shared token that learned Alice's id continued her conversation by
 * sending `token:alice/<id>`), and user `team` sending `alice/<id>` does not reach user
 * `team/alice`'s (a user id may hold a `/`).
 */
function keyOf(caller: Caller | undefined, id: string): string | undefined {
  if (id.includes('/')) return undefined;
  if (named(caller)) return `${caller.key}/${id}`;
  return namedCallerKey(id) ? undefined : id;
}

/**
 * Conversation `id` as `caller` may read it: its messages and the model its last turn was on
 * (a store without `load` keeps no model: its conversations continue on the default one).
 */
export async function loadConversation(
  mcp: McpContext,
  caller: Caller | undefined,
  id: string,
): Promise<StoredConversation | undefined> {
  const key = keyOf(caller, id);
  if (key === undefined) return undefined;
  const store = mcp.conversations;
  if (store.load !== undefined) return store.load(key);
  const messages = await store.get(key);
  return messages === undefined ? undefined : { messages };
}

/**
 * Saves the whole conversation under `id` (a new one when absent) and returns the id the client
 * sees. Not `async`: the store's own promise goes back as it is (one frame and turn fewer a call);
 * what throws before it is caught where `keepConversation` awaits it, as a rejection would be.
 */
function saveConversation(
  mcp: McpContext,
  caller: Caller | undefined,
  messages: readonly ChatMessage[],
  model: ConversationModel | undefined,
  id?: string,
): Promise<string> {
  // Unnamed: the store picks a new conversation's id itself, as before (and for an id it may not name).
  if (!named(caller))
    return mcp.conversations.save(
      messages,
      id === undefined ? undefined : keyOf(caller, id),
      SHARED_OWNER,
      model,
    );
  const own = id ?? randomUUID();
  return mcp.conversations.save(messages, keyOf(caller, own), caller.key, model).then(() => own);
}

/**
 * What a model-calling tool's answer says of its conversation: the id to continue it (and, for a
 * conversation another call continued meanwhile, the one this answer forked from), or why there is none.
 */
export type Kept =
  | { readonly continuation_id: string; readonly forked_from?: string }
  | { readonly not_kept: string };

/**
 * Keeps the conversation after the model answered, unless the call alone is over what one may hold
 * (`oversized`, `check`'s refusal). A store that fails (Redis out of memory or away) costs the
 * conversation, never the answer: the model was paid for, so the caller gets it whole, with
 * `not_kept` saying why it cannot continue it, and the operator a log line with the store's error.
 */
export async function keepConversation(
  mcp: McpContext,
  caller: Caller | undefined,
  messages: readonly ChatMessage[],
  /** The model the turn was on (`askedOf`): a call continuing the conversation that names none goes to it. */
  model: ConversationModel | undefined,
  id: string | undefined,
  oversized: Error | undefined,
  /** The turns loaded for `id` when the call began: if the conversation moved on since, this answer forks. */
  prior?: readonly ChatMessage[],
): Promise<Kept> {
  if (oversized !== undefined) {
    const over = /cap of \d+ bytes, got \d+ bytes/.exec(oversized.message)?.[0] ?? 'conversation cap';
    return { not_kept: `no conversation kept: this call alone is over what one may hold (${over})` };
  }
  try {
    // Another call continued it meanwhile (a host's parallel tool calls): saving this one over it
    // dropped that turn, paid for and answered. This answer goes on in a conversation of its own.
    if (
      id !== undefined &&
      prior !== undefined &&
      !sameTurns((await loadConversation(mcp, caller, id))?.messages, prior)
    )
      return { continuation_id: await saveConversation(mcp, caller, messages, model), forked_from: id };
    return { continuation_id: await saveConversation(mcp, caller, messages, model, id) };
  } catch (error) {
    logStoreFailure(mcp.log, 'conversation store', error);
    return { not_kept: 'no conversation kept: the conversation store failed (the answer is whole)' };
  }
}

/** The last line of a tool's text answer: the id to continue with, or why there is none. */
export function keptLine(kept: Kept): string {
  if (!('continuation_id' in kept)) return `[${kept.not_kept}]`;
  return kept.forked_from === undefined
    ? `[continuation_id ${kept.continuation_id}]`
    : `[continuation_id ${kept.continuation_id}: a new conversation, since another call continued ${kept.forked_from} meanwhile]`;
}

/** Whether the conversation held now is the one loaded (unchanged, or gone: then it is saved again). */
function sameTurns(now: readonly ChatMessage[] | undefined, loaded: readonly ChatMessage[]): boolean {
  if (now === undefined) return true;
  if (now.length !== loaded.length) return false;
  const [a, b] = [now.at(-1), loaded.at(-1)];
  return a === b || JSON.stringify(a) === JSON.stringify(b);
}
