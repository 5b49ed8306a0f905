/**
 * Cancelled requests of a 2025-era HTTP session (`http.ts`): the POST stream that carried one is
 * closed once the call is cancelled.
 */
import type { ServerResponse } from 'node:http';
import type { JSONRPCMessage } from '@modelcontextprotocol/server';
import { type InFlightIds, idTakenMessage } from './in-flight-ids.js';
import { endWithoutAnswer } from './sdk-internals.js';

/**
 * A 2025-era session's open POSTs: the response of each that carried one request, by its id, and
 * the request ids of all of them, beside the session's requests in flight (`in-flight-ids.ts`). The
 * SDK's transport maps a request id to the last stream that carried it, so a request sent again
 * with the id of one still in flight took both answers, and the first POST never got one: its
 * stream stayed open, holding a connection and one of its caller's open requests, and kept its
 * session from the idle sweep. A call whose POST closed runs on for a resume (`http-disconnect.ts`):
 * its id reused then, the later POST got that call's answer and its own call ran for nobody (until
 * 2026-12-07). `http-sessions.ts` refuses both.
 *
 * It also knows which of an open POST's requests are answered: when the POST closes before its
 * last answer, only the others are cancelled. Until 2026-12-07 every id of a dropped batch was, and
 * an id with no call running was remembered as an early abort for 30 s (`call-registry.ts`), the
 * answered ones too: a (forbidden, but possible) reuse of one in that window started cancelled.
 */
export class OpenPosts extends Map<string | number, ServerResponse> {
  readonly #ids = new Map<string | number, number>();
  /** Ids of open POSTs that the server has answered. */
  readonly #answered = new Set<string | number>();

  constructor(readonly inFlight: InFlightIds) {
    super();
  }

  /**
   * Holds the request ids of a POST's `body` (`ids`): when an open POST or a request in flight holds
   * one of them already, holds none and returns the refusal's text.
   */
  hold(ids: readonly (string | number)[], body: unknown): string | undefined {
    const reused = ids.find((id) => this.#ids.has(id));
    const refused = reused === undefined ? this.inFlight.admit(body) : idTakenMessage(reused);
    if (refused === undefined) for (const id of ids) this.#ids.set(id, (this.#ids.get(id) ?? 0) + 1);
    return refused;
  }

  /** Reads one message to the client: an answer frees its id in flight, and is noted while a POST holds it. */
  answered(message: JSONRPCMessage): void {
    this.inFlight.answered(message);
    const { id } = message as { id?: unknown };
    if (!('method' in message) && (typeof id === 'string' || typeof id === 'number') && this.#ids.has(id))
      this.#answered.add(id);
  }

  /**
   * Gives back the ids of a POST that `hold` took, once its stream closed, and returns those of them
   * not answered; `refused`: the SDK's transport refused it whole (not a 200), so none of its
   * requests will be answered.
   */
  release(ids: readonly (string | number)[], refused: boolean): (string | number)[] {
    if (refused) this.inFlight.forget(ids);
    const unanswered = ids.filter((id) => !this.#answered.has(id));
    for (const id of ids) {
      const held = (this.#ids.get(id) ?? 1) - 1;
      if (held > 0) this.#ids.set(id, held);
      else {
        this.#ids.delete(id);
        this.#answered.delete(id);
      }
    }
    return unanswered;
  }
}

/** What of a session `closeCancelled` uses: its open single-request POSTs, and its transport. */
export interface PostsOf {
  readonly posts: ReadonlyMap<string | number, ServerResponse>;
  readonly transport: object;
}

/**
 * The calls of an MCP session (`CallRegistry`), which remember an abort of a call not started yet
 * for the call to find.
 */
export interface EarlyCancels {
  has(sessionId: string, requestId: string | number): boolean;
  abort(sessionId: string, requestId: string | number, reason: string): void;
}

function cancelReason(params: { reason?: unknown } | undefined): string {
  const reason = params?.reason;
  return typeof reason === 'string' && reason !== '' ? reason : 'cancelled by the client';
}

/**
 * The POST streams of the requests `body` cancels (`notifications/cancelled`), closed once the SDK
 * has aborted them. It sends no response to a cancelled request, as the spec says, so the stream
 * that carried one stayed open until the client dropped the connection, which the SDK's client does
 * not do when a call is aborted: each cancelled call held a request, a connection and a place in its
 * caller's open requests, and the session, never idle, outlived the idle sweep. A POST that carried
 * several requests (a batch, or a call and its own cancel) ends with the answers of the others: the
 * SDK's transport waited for the cancelled one's too (`endWithoutAnswer`; until 2026-12-06 it stayed
 * open, found by an audit on 2026-12-04).
 */
export function closeCancelled(
  session: PostsOf,
  body: unknown,
  res: ServerResponse,
  early: { readonly sessionId: string; readonly calls: EarlyCancels },
): void {
  for (const message of Array.isArray(body) ? body : [body]) {
    const m = message as { method?: unknown; params?: { requestId?: unknown; reason?: unknown } } | null;
    const id = m?.method === 'notifications/cancelled' ? m.params?.requestId : undefined;
    if (typeof id !== 'string' && typeof id !== 'number') continue;
    // A cancel taken before its call (two POSTs, on two connections, may be taken in either order):
    // the SDK drops a cancel of a request it does not know, and the call ran on for nobody.
    if (!early.calls.has(early.sessionId, id))
      early.calls.abort(early.sessionId, id, cancelReason(m?.params));
    const held = session.posts.get(id);
    // A request of a POST that carried others (a batch), or of this one: that stream ends with the
    // others' answers.
    if (held === undefined || held === res) {
      setImmediate(() => endWithoutAnswer(session.transport, id as string | number));
      continue;
    }
    // Ended as above, not only closed (`closeSSEStream`): that left the id mapped to its stream for
    // the session's life (the SDK forgets an id when it answers it, and answers no cancelled one),
    // and a `Last-Event-ID` resume of the stream was held open waiting for it (until 2026-12-07).
    setImmediate(() => {
      if (session.posts.get(id as string | number) === held)
        endWithoutAnswer(session.transport, id as string | number);
    });
  }
}
