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
 */
import type { WebSocket } from 'ws';

export interface SenderOptions {
  readonly url: string;
  readonly maxBacklogBytes: number;
  readonly maxDeferredEvents: number;
  readonly minReconnectDelayMs: number;
  readonly maxReconnectDelayMs: number;
  /** How long an attempt may wait for the WebSocket to open (a program that accepts and answers nothing). */
  readonly connectTimeoutMs: number;
  readonly onFirstDrop?: ((message: string) => void) | undefined;
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

  constructor(
    private readonly options: SenderOptions,
    private readonly modules: SenderModules,
  ) {
    this.delayMs = options.minReconnectDelayMs;
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

  /** Closes the socket, stops connecting again and discards what was held; later events are discarded. */
  stop(): void {
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
        if (text !== undefined) socket.send(text);
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
      const { url, maxBacklogBytes } = this.options;
      this.options.onFirstDrop?.(
        `the Stately inspector at ${url} reads too slowly: more than ${maxBacklogBytes} bytes wait unsent, so events are dropped while they do (counted in troupe_inspector_dropped_events)`,
      );
    }
  }

  private connect(): void {
    this.timer = null;
    const socket = new this.modules.WebSocket(this.options.url, {
      handshakeTimeout: this.options.connectTimeoutMs,
    });
    this.socket = socket;
    socket.on('open', () => {
      if (this.socket !== socket) return;
      this.open = true;
      this.delayMs = this.options.minReconnectDelayMs;
      for (const text of this.deferred) socket.send(text);
      this.deferred = [];
      this.deferredBytes = 0;
    });
    // A failed or refused connection reports an error, then closes: the close tries again.
    socket.on('error', () => {});
    socket.on('close', () => {
      if (this.socket !== socket) return;
      this.socket = null;
      this.open = false;
      this.timer = setTimeout(() => this.connect(), this.delayMs);
      this.timer.unref();
      this.delayMs = Math.min(this.delayMs * 2, this.options.maxReconnectDelayMs);
    });
  }
}
