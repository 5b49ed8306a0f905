/**
 * One standalone `GET` stream per 2025-era session: the newest. The SDK answers a second `GET`, or
 * a `Last-Event-ID` resume of that stream, with 409 while it still holds the first. A connection
 * that died without a FIN reaching the server (a laptop asleep, a Wi-Fi change, a NAT that dropped
 * its state) stays held until TCP gives up on its keepalives, about 15 minutes, and every reconnect
 * of the client meanwhile got 409: no notifications, no resume. A session answers only its own
 * caller (same `Mcp-Session-Id`, same token: `http.ts`), so a new `GET` for its standalone stream is
 * its client come back: the old response is closed and the new one served.
 */
import { once } from 'node:events';
import type { ServerResponse } from 'node:http';

/** What a session keeps of its standalone stream. */
export interface StandingHolder {
  standing?: ServerResponse | undefined;
}

/**
 * Closes the session's standing `GET` response, if one is open, and records `res` as the new one.
 * Call it only for a `GET` that opens or resumes the standalone stream, before the SDK sees it.
 */
export async function takeOverStanding(holder: StandingHolder, res: ServerResponse): Promise<void> {
  const old = holder.standing;
  holder.standing = res;
  res.once('close', () => {
    if (holder.standing === res) holder.standing = undefined;
  });
  if (old === undefined || old.closed) return;
  const closed = once(old, 'close');
  old.destroy();
  await closed;
  // The SDK forgets the stream when the response's body is cancelled, which follows the close.
  await new Promise<void>((resolve) => setImmediate(resolve));
}
