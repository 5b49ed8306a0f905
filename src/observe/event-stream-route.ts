/**
 * `GET /events`: the runtime's events as Server-Sent Events for the dashboard. Each client gets its
 * own `runtime.subscribe()` listener, dropped when the client goes away. Events are batched and sent
 * at most every `intervalMs`; deltas are only counted, a batch holds at most `maxBatch` events (the
 * rest are counted as dropped), so a busy runtime costs a browser a few messages a second.
 * Bounded per server: at most `maxClients` streams at once (one more gets 503), and a client that
 * stops reading is cut off once `maxBufferedBytes` wait unsent, so it cannot make the server buffer
 * snapshots for it forever (an `EventSource` reconnects on its own).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Runtime, RuntimeEvent } from '../runtime/types.js';
import type { RuntimeMonitor } from './monitor.js';

export interface EventStreamOptions {
  /** Least time between two messages to one client, in ms. @default 500 */
  readonly intervalMs?: number;
  /** Most events in one batch; more are counted in `dropped`. @default 200 */
  readonly maxBatch?: number;
  /** Most streams open at once; one more gets 503. @default 32 */
  readonly maxClients?: number;
  /** Bytes a stream may have waiting unsent before it is ended (a client that stopped reading). @default 1048576 */
  readonly maxBufferedBytes?: number;
  /**
   * The requests that may take the last `reservedPlaces` of `maxClients` (the admin token's, under
   * `troupe serve`), which every other request is refused: other holders of the pages (a shared
   * token, a tokenless server's local clients) filling every place left the admin's page 503.
   * @default none: every place is anyone's
   */
  readonly reservedFor?: (req: IncomingMessage) => boolean;
  /** How many places `reservedFor` keeps, at most `maxClients`. @default 4 */
  readonly reservedPlaces?: number;
}

/** What one `batch` message carries: compact events, no message bodies or outputs. */
export interface CompactEvent {
  readonly type: RuntimeEvent['type'];
  readonly at: number;
  readonly sessionId?: string;
  readonly provider?: string;
  readonly label?: string;
  readonly state?: string;
  readonly code?: string;
  readonly attempt?: number;
  /** `session.fallback`: the `provider/model` the session moved to (`provider` is where it was admitted). */
  readonly to?: string;
}

export interface EventBatch {
  readonly events: readonly CompactEvent[];
  /** `session.delta` events in the interval (never sent one by one). */
  readonly deltas: number;
  /** Events over `maxBatch` in the interval, not sent. */
  readonly dropped: number;
}

/**
 * The 503 past the stream bound, read raw by whoever opened the stream: a dashboard tab, or curl.
 * It says to connect again, not "retry" (a retry is troupe's own, of a provider call); until
 * 2026-12-07 it ended "then retry".
 */
export function tooManyStreams(places: number, maxClients: number, reserved: number): string {
  const which =
    places === maxClients
      ? `${maxClients} /events streams open at once`
      : `${places} /events streams open at once for tokens other than the admin's (${reserved} of ${maxClients} kept for it)`;
  return `Expected at most ${which}, got one more: close a dashboard tab, then connect again\n`;
}

export function compactEvent(event: RuntimeEvent): CompactEvent {
  switch (event.type) {
    case 'session.ended':
      return {
        type: event.type,
        at: event.at,
        sessionId: event.sessionId,
        provider: event.provider,
        ...(event.label === undefined ? {} : { label: event.label }),
        state: event.result.metadata.state,
        ...(event.result.ok ? {} : { code: event.result.error.code }),
      };
    case 'session.fallback':
      return {
        type: event.type,
        at: event.at,
        sessionId: event.sessionId,
        provider: event.provider,
        code: event.error.code,
        to: `${event.to.provider}/${event.to.model}`,
      };
    case 'session.retry':
      return {
        type: event.type,
        at: event.at,
        sessionId: event.sessionId,
        provider: event.provider,
        attempt: event.attempt,
        code: event.error.code,
      };
    case 'session.started':
      return {
        type: event.type,
        at: event.at,
        sessionId: event.sessionId,
        provider: event.provider,
        attempt: event.attempt,
      };
    case 'session.queued':
    case 'session.delta':
      return {
        type: event.type,
        at: event.at,
        sessionId: event.sessionId,
        provider: event.provider,
        ...(event.label === undefined ? {} : { label: event.label }),
      };
    default:
      return { type: event.type, at: event.at };
  }
}

/** The `/events` handler. Every message is `event: snapshot` (the monitor's picture) or `event: batch`. */
export function eventStreamRoute(
  runtime: Runtime,
  monitor: RuntimeMonitor,
  options: EventStreamOptions = {},
) {
  const intervalMs = options.intervalMs ?? 500;
  const maxBatch = options.maxBatch ?? 200;
  const maxClients = options.maxClients ?? 32;
  const maxBufferedBytes = options.maxBufferedBytes ?? 1_048_576;
  const reservedFor = options.reservedFor;
  const reserved = reservedFor === undefined ? 0 : Math.min(maxClients, options.reservedPlaces ?? 4);
  // Each stream's stop, and what ends it at the server's close: its last batch and snapshot first.
  const clients = new Map<() => void, () => void>();

  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    if (req.method !== 'GET') {
      res.writeHead(405, { Allow: 'GET' }).end();
      return;
    }
    const places = reservedFor?.(req) === true ? maxClients : maxClients - reserved;
    if (clients.size >= places) {
      res
        .writeHead(503, { 'Content-Type': 'text/plain; charset=utf-8', 'Retry-After': '5' })
        .end(tooManyStreams(places, maxClients, reserved));
      return;
    }
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-cache, no-transform',
      'X-Content-Type-Options': 'nosniff',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
    });
    res.write(`retry: 2000\n\n`);
    let events: CompactEvent[] = [];
    let deltas = 0;
    let dropped = 0;
    const unsubscribe = runtime.subscribe((event) => {
      if (event.type === 'session.delta') deltas++;
      else if (events.length < maxBatch) events.push(compactEvent(event));
      else dropped++;
    });
    let timer: ReturnType<typeof setInterval> | undefined;
    const stop = (): void => {
      clearInterval(timer);
      unsubscribe();
      clients.delete(stop);
      if (!res.writableEnded) res.end();
    };
    const send = (): void => {
      if (res.writableLength > maxBufferedBytes) {
        // The client stopped reading: drop what waits for it (ending would keep it queued).
        stop();
        res.destroy();
        return;
      }
      if (events.length > 0 || deltas > 0 || dropped > 0) {
        const batch: EventBatch = { events, deltas, dropped };
        events = [];
        deltas = 0;
        dropped = 0;
        res.write(`event: batch\ndata: ${JSON.stringify(batch)}\n\n`);
      }
      res.write(`event: snapshot\ndata: ${JSON.stringify(monitor.snapshot())}\n\n`);
    };
    send();
    timer = setInterval(send, intervalMs);
    clients.set(stop, () => {
      send();
      if (clients.has(stop)) stop();
    });
    req.on('close', stop);
    res.on('error', stop);
  };

  return {
    handler,
    /** Clients connected now. */
    get clients(): number {
      return clients.size;
    },
    /**
     * Ends every stream (server shutdown), each after one last batch and snapshot: `troupe serve`
     * closes them once the drain is over, so a page shows the runtime stopped and what ended while
     * it drained. Until 2026-12-07 it kept the last snapshot before, "draining" with sessions running.
     */
    close(): void {
      for (const finish of [...clients.values()]) finish();
    },
  };
}
