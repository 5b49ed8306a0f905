/**
 * What a watched response writes, as the unsent bytes bound (`http-unsent.ts`) takes it. Every
 * write is taken whole and never asks its writer to wait for `drain`: the SDK's transports (and
 * Hono's Node adapter under the 2025-era one) copy a web stream into the response and stop at a
 * `false` until `drain`, while the SDK goes on putting events into that stream, and what waited in
 * the stream's queue was counted by neither bound; in the response's buffer it is.
 *
 * A write that does not fit beside the bytes waiting for every client (several large answers at
 * once, on one stream or on several) is held until it does: each time a response's bytes have gone
 * out, a response has closed, or a second has passed. Until 2026-12-07 it was written, and the next
 * check cut a response off: a 2026-07-28 client's call failed on a closed connection, saying nothing
 * of why. Held writes are bounded too: `maxBytes` of them in all (so the answers waiting, written or
 * held, are at most twice the bound), each for `stalledMs` at most. Past either, an answer goes as
 * an error for its id (`http-oversized.ts`), as one too large for the bound by itself does at once.
 * Later writes of a response wait behind what it holds, its end too, so its events keep their order.
 */
import type { ServerResponse } from 'node:http';
import { oversizedAnswerOf } from './http-oversized.js';

/** The bound's side: its numbers, and whether `size` more bytes for `res` fit (counted if they do). */
export interface Room {
  readonly maxBytes: number;
  readonly stalledMs: number;
  fits(res: ServerResponse, size: number): boolean;
}

type Args = unknown[];

interface Held {
  readonly args: Args;
  readonly size: number;
  readonly since: number;
}

/** A response's writes held, in order, and its `end` once called; its own `write` and `end`. */
interface Queue {
  readonly held: Held[];
  ending: Args | undefined;
  readonly write: (args: Args) => void;
  readonly end: (args: Args) => void;
}

export class HeldWrites {
  /** The responses holding writes, the longest holding first. */
  readonly #queues = new Map<ServerResponse, Queue>();
  #bytes = 0;
  #flushing = false;

  constructor(private readonly room: Room) {}

  /** Bytes held, across responses. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Takes over `res`'s `write`, `end` and `writeHead`. */
  takeOver(res: ServerResponse): void {
    const write = res.write;
    const end = res.end;
    const queue: Queue = {
      held: [],
      ending: undefined,
      write: (args) => (write as (...a: Args) => boolean).apply(res, args),
      end: (args) => (end as (...a: Args) => ServerResponse).apply(res, args),
    };
    res.write = ((...args: Args) => {
      this.#write(res, queue, args);
      return true;
    }) as ServerResponse['write'];
    res.end = ((...args: Args) => {
      if (queue.held.length === 0) return queue.end(args);
      queue.ending = args;
      return res;
    }) as ServerResponse['end'];
    const writeHead = res.writeHead;
    res.writeHead = ((...args: Args) => {
      for (const headers of args) if (isEventStream(headers)) withoutLength(headers);
      return (writeHead as (...a: Args) => ServerResponse).apply(res, args);
    }) as ServerResponse['writeHead'];
    res.on('drain', () => this.flush());
    res.once('close', () => {
      this.#bytes -= queue.held.reduce((sum, h) => sum + h.size, 0);
      queue.held.length = 0;
      this.#queues.delete(res);
      this.flush();
    });
  }

  /** Writes what now fits, in order, and, past `stalledMs`, what never did (an answer as its error). */
  flush(now = Date.now()): void {
    if (this.#queues.size === 0 || this.#flushing) return;
    // A response cut off to make room closes within: it is dropped, and flushes nothing meanwhile.
    this.#flushing = true;
    try {
      for (const [res, queue] of this.#queues) {
        for (let head = queue.held[0]; head !== undefined; head = queue.held[0]) {
          const late = now - head.since >= this.room.stalledMs;
          if (!late && !this.room.fits(res, head.size)) break;
          queue.held.shift();
          this.#bytes -= head.size;
          if (late) this.#refuse(res, head.args, head.size);
          queue.write(head.args);
        }
        if (queue.held.length > 0) continue;
        this.#queues.delete(res);
        if (queue.ending !== undefined) queue.end(queue.ending);
      }
    } finally {
      this.#flushing = false;
    }
  }

  #write(res: ServerResponse, queue: Queue, args: Args): void {
    const chunk = args[0];
    const size =
      chunk instanceof Uint8Array
        ? chunk.byteLength
        : typeof chunk === 'string'
          ? Buffer.byteLength(chunk)
          : 0;
    const { maxBytes } = this.room;
    if (queue.held.length > 0 && this.#bytes + size > maxBytes) {
      // No room to hold it behind the others: the response cannot go on within the bounds (a client
      // that reads none of a long stream of small events, a batch's answers, a replay), cut off as before.
      res.destroy();
      return;
    }
    if (queue.held.length === 0) {
      if (size <= maxBytes && this.room.fits(res, size)) {
        queue.write(args);
        return;
      }
      // Over the bound by itself, or no room left to hold it: an answer goes as its error at once.
      if (size > maxBytes || this.#bytes + size > maxBytes) {
        this.#refuse(res, args, size);
        queue.write(args);
        return;
      }
    }
    // Behind what the response holds already: its events keep their order.
    queue.held.push({ args, size, since: Date.now() });
    this.#bytes += size;
    this.#queues.set(res, queue);
  }

  /** `args` with its chunk, one answer, as that answer's error, when it is one and can be rewritten. */
  #refuse(res: ServerResponse, args: Args, size: number): void {
    // The head as sent (`writeHead` stores it at once): a body with a length cannot be rewritten.
    const header = String((res as { _header?: unknown })._header ?? '');
    const { maxBytes } = this.room;
    const instead = oversizedAnswerOf(
      args[0] as string | Uint8Array,
      size,
      maxBytes,
      header,
      size <= maxBytes,
    );
    if (instead !== undefined) args[0] = instead;
  }
}

type Fields = Record<string, unknown>;

function isEventStream(headers: unknown): headers is Fields {
  if (typeof headers !== 'object' || headers === null || Array.isArray(headers)) return false;
  return Object.entries(headers).some(
    ([name, value]) => name.toLowerCase() === 'content-type' && String(value).startsWith('text/event-stream'),
  );
}

/**
 * An event stream's head without its `Content-Length`, sent chunked: Hono's adapter gives one to a
 * stream that has ended by the time it reads it (a 2025-era `Last-Event-ID` replay of a finished
 * stream), and an answer's event rewritten under it left the client waiting for bytes that never
 * came (until 2026-12-07).
 */
function withoutLength(headers: Fields): void {
  for (const name of Object.keys(headers)) if (name.toLowerCase() === 'content-length') delete headers[name];
}
