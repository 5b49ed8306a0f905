/**
 * The request ids in flight on a stdio connection, so a request that reuses one is refused before
 * the SDK reads it. MCP says a request id MUST NOT be reused within a session, and the SDK's server
 * keeps one abort controller per id: a second request with the id of one still running replaced
 * the first's, so a `notifications/cancelled` for that id reached only the second, and the first
 * ran on at the provider, paid for, until its deadline or the host's going; both answers carried
 * the one id (until 2026-12-07, found by a stdio pass). The refusal goes with `id: null`: an answer
 * under that id would read, to the client, as the answer to the call still running.
 *
 * An id is in flight from its request until the server answers it or the client cancels it (the
 * SDK sends no answer to a cancelled request). A request the SDK never answers (one it drops as not
 * of the connection's era) would stay, so at most `maxTracked` ids are kept, the oldest forgotten
 * first: a forgotten id is only unguarded, as every id was before.
 */
import type { Readable, Writable } from 'node:stream';
import type { JSONRPCMessage } from '@modelcontextprotocol/server';
import { StdioServerTransport } from '@modelcontextprotocol/server/stdio';
import { keptRequestId, requestKey } from './request-ids.js';

/** Most request ids kept as in flight; past it the oldest is forgotten. */
export const MAX_TRACKED_REQUEST_IDS = 16_384;

type Id = string | number;

const idOf = (value: unknown): Id | undefined =>
  typeof value === 'string' || typeof value === 'number' ? value : undefined;

export class StdioRequestIds {
  /** Keys (`requestKey`: `1` and `'1'` are two) in the order their requests came. */
  readonly #inFlight = new Set<string>();
  readonly #maxTracked: number;

  constructor(maxTracked = MAX_TRACKED_REQUEST_IDS) {
    this.#maxTracked = maxTracked;
  }

  /**
   * Reads one message from the client: a request whose id is in flight gets the refusal's text
   * back (and is not kept); any other request's id is kept; a cancellation frees its request's id.
   */
  admit(message: unknown): string | undefined {
    const { id, method, params } = (message ?? {}) as { id?: unknown; method?: unknown; params?: unknown };
    if (typeof method !== 'string') return undefined;
    const requestId = idOf(id);
    if (requestId === undefined) {
      // A `requestId` that is no string or number names no key kept here.
      if (method === 'notifications/cancelled')
        this.#inFlight.delete(requestKey('', (params as { requestId?: unknown } | null)?.requestId as Id));
      return undefined;
    }
    const key = requestKey('', requestId);
    if (this.#inFlight.has(key)) {
      const shown = typeof requestId === 'string' ? JSON.stringify(keptRequestId(requestId)) : requestId;
      return `Invalid Request: id ${shown} is taken by a request still in flight, so this one was not run; give each request an id of its own`;
    }
    this.#inFlight.add(key);
    if (this.#inFlight.size > this.#maxTracked) {
      const oldest = this.#inFlight.values().next().value as string;
      this.#inFlight.delete(oldest);
    }
    return undefined;
  }

  /** Reads one message to the client: an answer frees its request's id. */
  answered(message: JSONRPCMessage): void {
    // An id that is no string or number (an error's `null`) names no key kept here.
    if (!('method' in message)) this.#inFlight.delete(requestKey('', (message as { id?: unknown }).id as Id));
  }

  /** Ids kept as in flight. */
  get size(): number {
    return this.#inFlight.size;
  }
}

/** The SDK's stdio transport, telling `ids` of every answer it sends. */
export class AnsweringStdioTransport extends StdioServerTransport {
  readonly #ids: StdioRequestIds;

  constructor(
    input: Readable,
    output: Writable,
    ids: StdioRequestIds,
    options?: ConstructorParameters<typeof StdioServerTransport>[2],
  ) {
    super(input, output, options);
    this.#ids = ids;
  }

  override send(message: JSONRPCMessage): Promise<void> {
    this.#ids.answered(message);
    return super.send(message);
  }
}
