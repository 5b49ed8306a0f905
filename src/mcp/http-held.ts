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
 *
 * The held budget is shared as the unsent bound is: a write with no room left to hold it makes room
 * from a caller waiting on more (its unsent and held bytes) than the writer would with it, that
 * caller's write held longest first (an answer becomes its error for its id, in its place; anything
 * else cuts its response off). Until 2026-12-07 the budget went to whoever held first: one client
 * that read nothing filled it, and every other caller's answer that had to wait went as an error.
 * Only what the room needs is given up, and nothing when it cannot be made (until 2026-12-07 what
 * was given up before finding that out stayed given up, the writer refused all the same).
 *
 * A held write waits `stalledMs` at most even while the client ahead of it reads: waiting on for as
 * long as bytes go out has no end (writes that fit go first), and writing it would go past the
 * bound or cut the reader's response (docs/security.md says more).
 */
import type { ServerResponse } from 'node:http';
import type { Clock } from '../core/clock.js';
import { oversizedAnswerOf } from './http-oversized.js';

/** The bound's side: its numbers, and whether `size` more bytes for `res` fit (counted if they do). */
export interface Room {
  readonly maxBytes: number;
  readonly stalledMs: number;
  /** What `stalledMs` is measured on. */
  readonly clock: Clock;
  /** `held`: a held write tried again, which waits for room rather than cut anything to make it. */
  fits(res: ServerResponse, size: number, held?: boolean): boolean;
  /** Bytes waiting unsent, by caller. */
  unsentByCaller(): Map<string, number>;
}

type Args = unknown[];

interface Held {
  readonly args: Args;
  size: number;
  readonly since: number;
  /** Rewritten as its answer's error to make room for another caller's (`#makeRoom`). */
  refused: boolean;
}

/** A held write chosen to make room (`#makeRoom`): its answer's error (`undefined`: its response is cut), and the bytes that frees. */
interface Giving {
  readonly res: ServerResponse;
  readonly queue: Queue;
  readonly held: Held;
  instead: string | undefined;
  frees: number;
}

/** A response's writes held, in order, and its `end` once called; its own `write` and `end`. */
interface Queue {
  readonly caller: () => string;
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

  /** Bytes held, by caller. */
  byCaller(): Map<string, number> {
    const held = new Map<string, number>();
    for (const queue of this.#queues.values()) {
      const caller = queue.caller();
      held.set(caller, (held.get(caller) ?? 0) + sizeOf(queue));
    }
    return held;
  }

  /** Bytes `res` holds (none for a write not yet made, `undefined`). */
  heldOn(res: ServerResponse | undefined): number {
    const queue = this.#queues.get(res as ServerResponse);
    return queue === undefined ? 0 : sizeOf(queue);
  }

  /** Takes over `res`'s `write`, `end` and `writeHead`; `caller` names whose it is. */
  takeOver(res: ServerResponse, caller: () => string): void {
    const write = res.write;
    const end = res.end;
    const queue: Queue = {
      caller,
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
      this.#drop(res, queue);
      this.flush();
    });
  }

  /** Forgets what `res` holds. */
  #drop(res: ServerResponse, queue: Queue): void {
    this.#bytes -= sizeOf(queue);
    queue.held.length = 0;
    this.#queues.delete(res);
  }

  /** Writes what now fits, in order, and, past `stalledMs`, what never did (an answer as its error). */
  flush(now = this.room.clock.now()): void {
    if (this.#flushing) return;
    // A response cut off to make room closes within: it is dropped, and flushes nothing meanwhile.
    this.#flushing = true;
    try {
      for (const [res, queue] of this.#queues) {
        for (let head = queue.held[0]; head !== undefined; head = queue.held[0]) {
          const late = now - head.since >= this.room.stalledMs;
          if (!late && !this.room.fits(res, head.size, true)) break;
          queue.held.shift();
          this.#bytes -= head.size;
          if (late && !head.refused) this.#refuse(res, head.args, head.size);
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
        : // Stryker disable next-line ConditionalExpression: Node's `write` takes a string or a Uint8Array and throws on anything else, measured here or not.
          typeof chunk === 'string'
          ? Buffer.byteLength(chunk)
          : 0;
    const { maxBytes } = this.room;
    if (queue.held.length === 0 && size <= maxBytes && this.room.fits(res, size)) {
      queue.write(args);
      return;
    }
    // It waits, if there is room to hold it or room is made (never for a write over the bound by
    // itself: more than every held byte would have to go).
    if (!this.#makeRoom(queue.caller(), size)) {
      if (queue.held.length > 0) {
        // No room to hold it behind the others: the response cannot go on within the bounds (a client
        // that reads none of a long stream of small events, a batch's answers, a replay), cut off as before.
        res.destroy();
        return;
      }
      // Over the bound by itself, or no room to hold it: an answer goes as its error at once.
      this.#refuse(res, args, size);
      queue.write(args);
      return;
    }
    // Behind what the response holds already: its events keep their order.
    queue.held.push({ args, size, since: this.room.clock.now(), refused: false });
    this.#bytes += size;
    this.#queues.set(res, queue);
  }

  /**
   * Whether room for `size` more held bytes of `caller` was made: while there is not, the caller
   * waiting on the most (unsent and held bytes) gives up its write held longest, as long as that is
   * more than `caller` would wait on with these bytes. An answer is rewritten as its error, in its
   * place (so its response's events keep their order); anything else cuts its response off. Only
   * what the room needs is given up, and nothing when it cannot be made: the writer is refused then.
   */
  #makeRoom(caller: string, size: number): boolean {
    let over = this.#bytes + size - this.room.maxBytes;
    // Stryker disable next-line ConditionalExpression,EqualityOperator: a shortcut; with room to hold it, the loop below gives up nothing.
    if (over <= 0) return true;
    const waiting = this.room.unsentByCaller();
    for (const [who, bytes] of this.byCaller()) waiting.set(who, (waiting.get(who) ?? 0) + bytes);
    const own = (waiting.get(caller) ?? 0) + size;
    // Each caller's writes that can give room, held longest first (the writer's own never give: it
    // waits on less than it would with these bytes).
    const givers = new Map<string, Giving[]>();
    for (const [res, queue] of this.#queues) {
      const who = queue.caller();
      for (const held of queue.held) {
        if (held.refused) continue;
        const list = givers.get(who) ?? [];
        list.push({ res, queue, held, instead: undefined, frees: 0 });
        givers.set(who, list);
      }
    }
    for (const list of givers.values()) list.sort((a, b) => a.held.since - b.held.since);
    const chosen: Giving[] = [];
    // Responses to cut off: their later writes give nothing more.
    const cut = new Set<Queue>();
    while (over > 0) {
      let most: string | undefined;
      for (const who of givers.keys()) {
        if ((waiting.get(who) as number) > (most === undefined ? own : (waiting.get(most) as number)))
          most = who;
      }
      if (most === undefined) return false;
      const list = givers.get(most) as Giving[];
      const giving = list.shift() as Giving;
      if (list.length === 0) givers.delete(most);
      if (cut.has(giving.queue)) continue;
      const { res, queue, held } = giving;
      giving.instead = this.#refusalOf(res, held.args, held.size);
      if (giving.instead === undefined) {
        cut.add(queue);
        // This write and those after it: the response's earlier ones were chosen or given up already.
        giving.frees = sizeOf({ held: queue.held.slice(queue.held.indexOf(held)) });
      } else giving.frees = held.size - Buffer.byteLength(giving.instead);
      chosen.push(giving);
      over -= giving.frees;
      waiting.set(most, (waiting.get(most) as number) - giving.frees);
    }
    // As the unsent bound's cuts (`http-unsent.ts`): one chosen early that the later ones made room for stays.
    for (const giving of chosen) {
      if (giving.frees <= -over) over += giving.frees;
      else this.#give(giving);
    }
    return true;
  }

  /** Gives up a held write chosen to make room: an answer as its error, anything else with its response. */
  #give({ res, queue, held, instead }: Giving): void {
    if (instead === undefined) {
      this.#drop(res, queue);
      res.destroy();
      return;
    }
    held.args[0] = instead;
    held.refused = true;
    const shrunk = Buffer.byteLength(instead);
    this.#bytes -= held.size - shrunk;
    held.size = shrunk;
  }

  /** `args` with its chunk, one answer, as that answer's error, when it is one and can be rewritten. */
  #refuse(res: ServerResponse, args: Args, size: number): void {
    const instead = this.#refusalOf(res, args, size);
    if (instead !== undefined) args[0] = instead;
  }

  /** The chunk of `args`, one answer, as that answer's error; `undefined` when it is none or cannot be rewritten. */
  #refusalOf(res: ServerResponse, args: Args, size: number): string | undefined {
    // The head as sent (`writeHead` stores it at once): a body with a length cannot be rewritten.
    // Stryker disable next-line StringLiteral: a head not sent yet (`null`) names no length, in any words.
    const header = String((res as { _header?: unknown })._header ?? '');
    const { maxBytes } = this.room;
    return oversizedAnswerOf(args[0] as string | Uint8Array, size, maxBytes, header, size <= maxBytes);
  }
}

function sizeOf(queue: Pick<Queue, 'held'>): number {
  return queue.held.reduce((sum, h) => sum + h.size, 0);
}

type Fields = Record<string, unknown>;

/** Whether `writeHead`'s argument is an event stream's fields (a status code or message has none). */
function isEventStream(headers: unknown): headers is Fields {
  return Object.entries(Object(headers)).some(
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
