/**
 * `Last-Event-ID` replays of 2025-era streams, built only for a client still there.
 *
 * The SDK builds a replay whole before it answers: every event of the stream after the id, parsed
 * from the event store and written again into the response's web stream, which it returns only
 * then; the store parses them all at once. That holds the event loop for as long as the stream is
 * large (about 1.5 s for 27 MB here), and nothing of it reaches the socket meanwhile, so neither the
 * unsent bytes bound nor the request's place among its caller's open requests (given back when its
 * connection closes) stopped it. Until 2026-12-05 a replay was built for a client that had gone:
 * an audit built one 27 MB stream (a batch of 100 `sessions` calls, an 11 KB request), sent 200
 * `GET`s resuming it from its first event (a few hundred bytes each, read by none) and closed them
 * 2 s later; `troupe serve` went on building them for the clients gone for more than 6 minutes
 * (95 s of its CPU on a loaded machine), from 240 MB to over 3 GB, answering other clients late
 * and not stopping on SIGTERM meanwhile. Now a replay waits for the event loop to read what else
 * came on its connection, and is built only if its client is still there: the same 200 `GET`s cost
 * 5 to 11 s of CPU after they closed (what was built for the 2 s they were connected), the server
 * 455 to 845 MB at most (two runs).
 */
import type { ServerResponse } from 'node:http';
import type { EventStore } from '@modelcontextprotocol/server';
import { type StandingHolder, takeOverStanding } from './http-standing.js';
import { standaloneStreamId } from './sdk-internals.js';

/**
 * Waits for the event loop to read what else came on the connection, then whether the client of
 * `res` is still there; one that left has its response ended here.
 */
export async function stillThere(res: ServerResponse): Promise<boolean> {
  // The first immediate runs after the poll that read the request; the second after the next poll,
  // which reads a close (or an end) that came just behind the request.
  await new Promise((resolve) => setImmediate(resolve));
  await new Promise((resolve) => setImmediate(resolve));
  if (!gone(res)) return true;
  res.destroy();
  return false;
}

/** What `answerGet` needs of a session. */
export interface GetTarget extends StandingHolder {
  readonly transport: object;
  readonly events: Pick<EventStore, 'getStreamIdForEventId'>;
}

/**
 * A 2025-era session's `GET`: its standalone stream (no `Last-Event-ID`, or one of that stream's),
 * which takes over the one open before it (`http-standing.ts`); else a replay of another stream,
 * built only for a client still there, whose response closing before its end is told to
 * `closedEarly` with that stream's id, as a POST's is (until 2026-12-07 a resumed stream that closed
 * again was not watched: its calls ran to their end or deadline for nobody). An id of no stream of
 * the session is left to the SDK.
 */
export async function answerGet(
  session: GetTarget,
  lastEventId: string | undefined,
  res: ServerResponse,
  handle: () => Promise<unknown>,
  closedEarly: (streamId: string) => void,
): Promise<void> {
  const stream =
    lastEventId === undefined ? undefined : await session.events.getStreamIdForEventId?.(lastEventId);
  if (
    lastEventId === undefined ||
    (stream !== undefined && stream === standaloneStreamId(session.transport))
  ) {
    await takeOverStanding(session, res);
    await handle();
    return;
  }
  if (stream === undefined) return void (await handle());
  if (!(await stillThere(res))) return;
  res.once('close', () => {
    if (!res.writableFinished) closedEarly(stream);
  });
  await handle();
}

/**
 * Whether the client of `res` has left: its connection closed, or its end of it (a `GET` sends no
 * body, and no HTTP client half-closes a connection it waits on for an answer).
 */
function gone(res: ServerResponse): boolean {
  const socket = res.socket;
  return res.closed || socket === null || socket.destroyed || socket.readableEnded;
}
