/**
 * troupe's own sender for `--inspect`: the adapter that `@statelyai/inspect`'s public
 * `createInspector` hands each converted inspection event to, in place of its `WebSocketAdapter`
 * (0.7.2), which held the events of a socket not yet open by count only (200, whatever their size:
 * each snapshot carries its session's prompt), wrote to an open one without looking at what waited
 * unsent there, sent what it had held again at every reconnection, and connected again only after
 * a failed connection, never after the inspector closed one (a restarted relay got nothing more).
 *
 * Here one bound in bytes covers all that troupe holds for the inspector: the events held while
 * the socket is not open (the newest `maxDeferredEvents`, the oldest dropped first, at most
 * `maxBacklogBytes` of them) and, once it is open, what waits unsent on it (past `maxBacklogBytes`
 * each new event is dropped). A closed or failed connection is tried again after a delay that
 * doubles from `minReconnectDelayMs` to `maxReconnectDelayMs` (back to the first once one opens),
 * one attempt at a time, each given `connectTimeoutMs` to open, until `stop()`.
 *
 * An open connection is pinged every `pingIntervalMs`; one whose pong has not come `pongTimeoutMs`
 * later is closed and connected again, as one the inspector closed: a peer that stopped (a relay
 * suspended with ^Z or in a debugger) keeps its socket open, and until 2026-12-07 troupe wrote to it
 * until `maxBacklogBytes` and dropped every later event, for ever. A ping waits behind what is
 * unsent, so an inspector that reads nothing for that long counts as gone too. What was handed to a
 * connection that then closed, and not yet written out to the system, is counted as dropped (until
 * 2026-12-07 it was lost uncounted); what the system had taken but the peer had not read is lost
 * without a count (the kernel's buffers, some hundreds of KiB on loopback). Each connection opened,
 * and each open one lost, is told once (`onConnectionChange`), not each failed attempt between.
 * `stop()` counts what it drops as well: the events held for a socket not open, and those handed to
 * the open one and not yet written out (until 2026-12-07 both were lost uncounted).
 *
 * A throw of `onFirstDrop` or `onConnectionChange` goes to `onError` (a throw there to the process's
 * warnings), and the sender goes on: until 2026-12-07 one thrown in `ws`'s open or close handler was
 * an uncaught exception, which ends a Node process.
 */
import type { WebSocket } from 'ws';
import { safeReporter, warnListenerError } from '../core/listener-warning.js';

export interface SenderOptions {
  readonly url: string;
  readonly maxBacklogBytes: number;
  readonly maxDeferredEvents: number;
  readonly minReconnectDelayMs: number;
  readonly maxReconnectDelayMs: number;
  /** How long an attempt may wait for the WebSocket to open (a program that accepts and answers nothing). */
  readonly connectTimeoutMs: number;
  /** How often an open connection is pinged. */
  readonly pingIntervalMs: number;
  /** How long a ping may wait for its pong; then the connection is closed and connected again. */
  readonly pongTimeoutMs: number;
  readonly onFirstDrop?: ((message: string) => void) | undefined;
  /** Told once when a connection opens (`connected`), and once when an open one is lost. */
  readonly onConnectionChange?: ((message: string, connected: boolean) => void) | undefined;
  /** Where a throw of `onFirstDrop` or `onConnectionChange` goes. @default the process's warnings */
  readonly onError?: ((error: unknown) => void) | undefined;
}

/** What the sender needs of the packages `@statelyai/inspect` brings (`ws`, `safe-stable-stringify`). */
export interface SenderModules {
  readonly WebSocket: typeof WebSocket;
  readonly stringify: (event: unknown) => string | undefined;
}

export class InspectorSender {
  private socket: WebSocket | null = null;
  private open = false;
  private stopped = false;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private delayMs: number;
  /** Serialized events held while the socket is not open, oldest first, and their bytes. */
  private deferred: string[] = [];
  private deferredBytes = 0;
  private dropped = 0;
  private toldSlow = false;
  /** Whether a connection ever opened, and the attempts that failed since the last one closed. */
  private everOpen = false;
  private failedAttempts = 0;
  /** Sends on the open connection, counting what the system has not taken yet (set at each open). */
  private write: (text: string) => void = () => {};
  /** The events handed to the open connection that the system has not taken yet (set at each open). */
  private unsent: () => number = () => 0;
  /** The URL as messages show it: a user and password, never taken here, would read `***`. */
  private readonly shownUrl: string;
  /** Where a callback's throw goes: `onError`, what that throws to the process's warnings. */
  private readonly report: (error: unknown) => void;

  constructor(
    private readonly options: SenderOptions,
    private readonly modules: SenderModules,
  ) {
    this.delayMs = options.minReconnectDelayMs;
    this.shownUrl = hideUserinfo(options.url);
    this.report = safeReporter(options.onError ?? warnListenerError);
  }

  get droppedEvents(): number {
    return this.dropped;
  }

  /** Bytes held for the inspector: the events waiting for a socket, and what waits unsent on it. */
  get backlogBytes(): number {
    return this.deferredBytes + (this.open ? (this.socket?.bufferedAmount ?? 0) : 0);
  }

  get connected(): boolean {
    return this.open;
  }

  start(): void {
    if (this.socket === null && this.timer === null && !this.stopped) this.connect();
  }

  /**
   * Closes the socket and stops connecting again; what was held for the inspector (waiting for the
   * socket, or not yet written out on it) is dropped and counted in `droppedEvents`. Later events
   * are discarded.
   */
  stop(): void {
    this.dropped += this.deferred.length + (this.open ? this.unsent() : 0);
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    const socket = this.socket;
    this.socket = null;
    this.open = false;
    this.deferred = [];
    this.deferredBytes = 0;
    socket?.terminate();
  }

  send(event: unknown): void {
    if (this.stopped) return;
    const socket = this.socket;
    if (this.open && socket !== null) {
      if (socket.bufferedAmount > this.options.maxBacklogBytes) this.dropSlow();
      else {
        const text = this.modules.stringify(event);
        if (text !== undefined) this.write(text);
      }
      return;
    }
    const text = this.modules.stringify(event);
    if (text === undefined) return;
    this.deferred.push(text);
    this.deferredBytes += Buffer.byteLength(text);
    const { maxDeferredEvents, maxBacklogBytes } = this.options;
    while (this.deferred.length > maxDeferredEvents || this.deferredBytes > maxBacklogBytes) {
      this.deferredBytes -= Buffer.byteLength(this.deferred.shift() as string);
      this.dropped += 1;
    }
  }

  private dropSlow(): void {
    this.dropped += 1;
    if (!this.toldSlow) {
      this.toldSlow = true;
      const { maxBacklogBytes } = this.options;
      this.tell(() =>
        this.options.onFirstDrop?.(
          `the Stately inspector at ${this.shownUrl} reads too slowly: more than ${maxBacklogBytes} bytes wait unsent, so events are dropped while they do (counted in troupe_inspector_dropped_events)`,
        ),
      );
    }
  }

  private connect(): void {
    this.timer = null;
    const { WebSocket } = this.modules;
    const socket = new WebSocket(this.options.url, { handshakeTimeout: this.options.connectTimeoutMs });
    this.socket = socket;
    // Events handed to this connection that the system has not taken yet: dropped if it closes.
    let unsent = 0;
    let keepalive: Keepalive | undefined;
    socket.on('open', () => {
      if (this.socket !== socket) return;
      this.open = true;
      this.delayMs = this.options.minReconnectDelayMs;
      this.write = (text) => {
        unsent += 1;
        socket.send(text, (error) => {
          if (error === undefined || error === null) unsent -= 1;
        });
      };
      this.unsent = () => unsent;
      const held = this.deferred.length;
      for (const text of this.deferred) this.write(text);
      this.deferred = [];
      this.deferredBytes = 0;
      keepalive = new Keepalive(socket, this.options.pingIntervalMs, this.options.pongTimeoutMs);
      const message = this.openedMessage(held);
      this.tell(() => this.options.onConnectionChange?.(message, true));
      this.everOpen = true;
      this.failedAttempts = 0;
    });
    socket.on('pong', () => keepalive?.answered());
    // A failed or refused connection reports an error, then closes: the close tries again.
    socket.on('error', () => {});
    socket.on('close', () => {
      keepalive?.stop();
      if (this.socket !== socket) return;
      const wasOpen = this.open;
      this.socket = null;
      this.open = false;
      this.timer = setTimeout(() => this.connect(), this.delayMs);
      this.timer.unref();
      if (wasOpen) {
        this.dropped += unsent;
        const message = this.lostMessage(keepalive?.unanswered === true, unsent);
        this.tell(() => this.options.onConnectionChange?.(message, false));
      } else this.failedAttempts += 1;
      this.delayMs = Math.min(this.delayMs * 2, this.options.maxReconnectDelayMs);
    });
  }

  /** Calls an embedder's callback: what it throws goes to `onError`, never into `ws` (or `send`'s caller). */
  private tell(callback: () => void): void {
    try {
      callback();
    } catch (error) {
      this.report(error);
    }
  }

  private openedMessage(held: number): string {
    const again = this.everOpen ? ` again, after ${count(this.failedAttempts, 'failed attempt')}` : '';
    const sent = held === 0 ? '' : `; sent the ${count(held, 'event')} held meanwhile`;
    return `connected to the Stately inspector at ${this.shownUrl}${again}${sent}`;
  }

  private lostMessage(unanswered: boolean, unsent: number): string {
    const { pongTimeoutMs, maxReconnectDelayMs, maxDeferredEvents, maxBacklogBytes } = this.options;
    const why = unanswered ? `it answered no ping in ${pongTimeoutMs} ms` : 'the connection closed';
    const lost = unsent === 0 ? '' : `; ${count(unsent, 'event')} not yet written out to it dropped`;
    return `lost the Stately inspector at ${this.shownUrl} (${why})${lost}: connecting again in ${this.delayMs} ms, then at most every ${maxReconnectDelayMs} ms, holding meanwhile the newest ${maxDeferredEvents} events, at most ${maxBacklogBytes} bytes (drops counted in troupe_inspector_dropped_events)`;
  }
}

/**
 * Pings an open connection every `intervalMs`, one ping at a time; a pong that has not come
 * `timeoutMs` after its ping ends the connection (`terminate`: a dead peer answers no close either).
 */
class Keepalive {
  unanswered = false;
  private readonly interval: ReturnType<typeof setInterval>;
  private waiting: ReturnType<typeof setTimeout> | null = null;

  constructor(
    private readonly socket: WebSocket,
    intervalMs: number,
    private readonly timeoutMs: number,
  ) {
    this.interval = setInterval(() => this.ping(), intervalMs);
    this.interval.unref();
  }

  answered(): void {
    if (this.waiting !== null) clearTimeout(this.waiting);
    this.waiting = null;
  }

  stop(): void {
    clearInterval(this.interval);
    this.answered();
  }

  private ping(): void {
    if (this.waiting !== null) return;
    this.waiting = setTimeout(() => {
      this.unanswered = true;
      this.socket.terminate();
    }, this.timeoutMs);
    this.waiting.unref();
    this.socket.ping();
  }
}

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

/** `text` with everything between `//` and the last `@` (a user and password) shown as `***`. */
export function hideUserinfo(text: string): string {
  const start = text.indexOf('//');
  const at = text.lastIndexOf('@');
  return start >= 0 && at > start ? `${text.slice(0, start + 2)}***${text.slice(at)}` : text;
}
