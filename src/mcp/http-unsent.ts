/**
 * Answers a client does not take. Node buffers whatever a response writes and the socket cannot
 * send, without limit, and nothing else ends a response whose client stopped reading: its request
 * (parsed body, call state) and its unsent bytes stayed until the client hung up. A client that
 * sent requests whose answers are large (a `review` prompt echoes its 4 MiB `content`) and read
 * none made the server hold about 12 MB each, measured: 400 of them took 5 GB.
 *
 * Two bounds, checked every second over the responses in flight: a response with bytes waiting
 * unsent for `stalledMs` together, its client taking none of them meanwhile, is cut off (the client
 * stopped reading; one that reads slowly is not: fewer bytes waiting than at the last check is
 * progress, and starts the wait afresh); and while the unsent bytes of all responses are over
 * `maxBytes`, the response waiting longest is cut off first. A cut client can resume a 2025-era
 * stream with `Last-Event-ID` from the event store.
 */
import type { ServerResponse } from 'node:http';

export interface UnsentOptions {
  /** How long a response may have bytes waiting unsent before it is cut off, in ms. @default 30000 */
  readonly stalledMs?: number | undefined;
  /** Most bytes waiting unsent across every response at once. @default 67108864 (64 MiB) */
  readonly maxBytes?: number | undefined;
}

/** A response with bytes waiting at the last check: since when its client took none, and how many. */
interface Waiting {
  since: number;
  bytes: number;
  queued: number;
}

export class UnsentResponses {
  /** Each response in flight, and what waited at the last check (`undefined`: nothing did). */
  readonly #watched = new Map<ServerResponse, Waiting | undefined>();
  readonly #stalledMs: number;
  readonly #maxBytes: number;
  readonly #timer: NodeJS.Timeout;

  constructor(options: UnsentOptions = {}) {
    this.#stalledMs = options.stalledMs ?? 30_000;
    this.#maxBytes = options.maxBytes ?? 64 * 1024 * 1024;
    this.#timer = setInterval(() => this.check(), 1000);
    this.#timer.unref();
  }

  watch(res: ServerResponse): void {
    this.#watched.set(res, undefined);
    res.once('close', () => this.#watched.delete(res));
  }

  /** Cuts off the responses over either bound; runs every second. */
  check(): void {
    const now = Date.now();
    const waiting: { res: ServerResponse; since: number; bytes: number }[] = [];
    let total = 0;
    for (const [res, seen] of this.#watched) {
      // A response's own buffer and its socket's: what was written and has not gone out.
      const bytes = res.writableLength;
      if (bytes === 0) {
        if (seen !== undefined) this.#watched.set(res, undefined);
        continue;
      }
      const queued = leftOfHandedWrite(res);
      let since: number;
      if (seen === undefined || bytes < seen.bytes || queued < seen.queued) {
        // Bytes wait for the first time, or fewer than at the last check: the client is taking them.
        since = now;
        this.#watched.set(res, { since, bytes, queued });
      } else {
        since = seen.since;
        seen.bytes = bytes;
        seen.queued = queued;
      }
      if (now - since >= this.#stalledMs) {
        this.#cutOff(res);
        continue;
      }
      total += bytes;
      waiting.push({ res, since, bytes });
    }
    if (total <= this.#maxBytes) return;
    waiting.sort((a, b) => a.since - b.since);
    for (const { res, bytes } of waiting) {
      if (total <= this.#maxBytes) break;
      this.#cutOff(res);
      total -= bytes;
    }
  }

  #cutOff(res: ServerResponse): void {
    this.#watched.delete(res);
    res.destroy();
  }

  close(): void {
    clearInterval(this.#timer);
    this.#watched.clear();
  }
}

/**
 * What is left of the write the socket handed to libuv. `writableLength` counts a write whole until
 * it completes, and the SDK writes an answer in one: a client taking a 12 MiB answer 64 KiB at a
 * time shows no change there, only here (libuv's write queue, which Node keeps on the handle).
 * 0 when the handle does not say.
 */
function leftOfHandedWrite(res: ServerResponse): number {
  const handle = (res.socket as { _handle?: { writeQueueSize?: unknown } } | null)?._handle;
  const size = handle?.writeQueueSize;
  return typeof size === 'number' ? size : 0;
}
