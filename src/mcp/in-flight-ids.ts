/**
 * The request ids in flight on one MCP connection, so a request that reuses one is refused before
 * the SDK reads it: a stdio connection (`stdio-request-ids.ts`) and a 2025-era HTTP session
 * (`http-sessions.ts`). MCP says a request id MUST NOT be reused within a session, and the SDK keeps
 * its bookkeeping by id: its server one abort controller per id, so a second request with the id of
 * one still running replaced the first's, and a `notifications/cancelled` for that id reached only
 * the second while the first ran on at the provider, paid for (stdio, until 2026-12-07); its HTTP
 * transport one response stream per id, so the second request's POST got the first call's answer,
 * and the second call ran for nobody (a 2025-era session whose first POST closed while its call ran
 * on for a resume, until 2026-12-07). The refusal goes with `id: null`: an answer under that id
 * would read, to the client, as the answer to the call still running.
 *
 * An id is in flight from its request until the server answers it or the client cancels it (the
 * SDK sends no answer to a cancelled request). A request the SDK never answers (one it drops as not
 * of the connection's era, or a handler that never settles) would stay, so at most `maxTracked` ids
 * are kept, the oldest forgotten first: a forgotten id is only unguarded, as every id was before.
 */
import type { JSONRPCMessage } from '@modelcontextprotocol/server';
import { keptRequestId, requestKey } from './request-ids.js';

/** Most request ids kept as in flight; past it the oldest is forgotten. */
export const MAX_TRACKED_REQUEST_IDS = 16_384;

type Id = string | number;

const idOf = (value: unknown): Id | undefined =>
  typeof value === 'string' || typeof value === 'number' ? value : undefined;

/** The refusal of a request whose id `id` is taken (an id as long as a body is shown cut). */
export function idTakenMessage(id: Id): string {
  const shown = typeof id === 'string' ? JSON.stringify(keptRequestId(id)) : id;
  return `Invalid Request: id ${shown} is taken by a request still in flight, so this one was not run; give each request an id of its own`;
}

export class InFlightIds {
  /** Keys (`requestKey`: `1` and `'1'` are two) in the order their requests came. */
  readonly #inFlight = new Set<string>();
  readonly #maxTracked: number;

  constructor(maxTracked = MAX_TRACKED_REQUEST_IDS) {
    this.#maxTracked = maxTracked;
  }

  /**
   * Reads what the client sent, one message or a batch: when a request in it has the id of one in
   * flight, or of another request of the batch, the refusal's text comes back and nothing of it is
   * kept; otherwise each request's id is kept, and each cancellation frees its request's id.
   */
  admit(body: unknown): string | undefined {
    const messages = (Array.isArray(body) ? body : [body]) as readonly unknown[];
    const keys = new Set<string>();
    for (const message of messages) {
      const requestId = requestIdOf(message);
      if (requestId === undefined) continue;
      const key = requestKey('', requestId);
      if (this.#inFlight.has(key) || keys.has(key)) return idTakenMessage(requestId);
      keys.add(key);
    }
    for (const message of messages) {
      const requestId = requestIdOf(message);
      if (requestId !== undefined) this.#keep(requestKey('', requestId));
      else if ((message as { method?: unknown } | null)?.method === 'notifications/cancelled')
        this.forget([(message as { params?: { requestId?: unknown } | null }).params?.requestId]);
    }
    return undefined;
  }

  /** Reads one message to the client: an answer frees its request's id. */
  answered(message: JSONRPCMessage): void {
    if (!('method' in message)) this.forget([(message as { id?: unknown }).id]);
  }

  /** Frees `ids`: requests the server will not answer (a POST its transport refused whole). */
  forget(ids: readonly unknown[]): void {
    // An id that is no string or number (an error's `null`) names no key kept here.
    for (const id of ids) this.#inFlight.delete(requestKey('', id as Id));
  }

  /** Ids kept as in flight. */
  get size(): number {
    return this.#inFlight.size;
  }

  #keep(key: string): void {
    this.#inFlight.add(key);
    if (this.#inFlight.size > this.#maxTracked) {
      const oldest = this.#inFlight.values().next().value as string;
      this.#inFlight.delete(oldest);
    }
  }
}

/** The id of a request (a message with a method and a string or number id), else `undefined`. */
function requestIdOf(message: unknown): Id | undefined {
  const { id, method } = (message ?? {}) as { id?: unknown; method?: unknown };
  return typeof method === 'string' ? idOf(id) : undefined;
}
