/**
 * Cancelled requests of a 2025-era HTTP session (`http.ts`): the POST stream that carried one is
 * closed once the call is cancelled.
 */
import type { ServerResponse } from 'node:http';

/** What of a session `closeCancelled` uses: its open single-request POSTs, and its transport. */
export interface PostsOf {
  readonly posts: ReadonlyMap<string | number, ServerResponse>;
  readonly transport: { closeSSEStream(requestId: string | number): void };
}

/**
 * The POST streams of the requests `body` cancels (`notifications/cancelled`), closed once the SDK
 * has aborted them. It sends no response to a cancelled request, as the spec says, so the stream
 * that carried one stayed open until the client dropped the connection, which the SDK's client does
 * not do when a call is aborted: each cancelled call held a request, a connection and a place in its
 * caller's open requests, and the session, never idle, outlived the idle sweep. A POST that carried
 * several requests is left to end with the last of them.
 */
export function closeCancelled(session: PostsOf, body: unknown, res: ServerResponse): void {
  for (const message of Array.isArray(body) ? body : [body]) {
    const m = message as { method?: unknown; params?: { requestId?: unknown } } | null;
    const id = m?.method === 'notifications/cancelled' ? m.params?.requestId : undefined;
    const held = typeof id === 'string' || typeof id === 'number' ? session.posts.get(id) : undefined;
    if (held === undefined || held === res) continue;
    setImmediate(() => {
      if (session.posts.get(id as string | number) === held)
        session.transport.closeSSEStream(id as string | number);
    });
  }
}
