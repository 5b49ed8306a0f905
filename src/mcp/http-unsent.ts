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
 * `maxBytes`, the caller holding the most unsent bytes (and held ones, `http-held.ts`: until 2026-12-07
 * those did not count, and a client reading nothing held the most without seeming to) loses its
 * response waiting longest, first, and only what the bound needs: a response chosen early that the later
 * ones made room for stays (until 2026-12-07 it went too: held bytes kept a caller the most after its
 * small response was cut, which freed too little).
 * Before 2026-12-04 the response waiting longest went, whoever held the most: one token's unread
 * answers got another's smaller response cut off while its client paused reading for a second. A
 * cut client can resume a 2025-era stream with `Last-Event-ID` from the event store.
 *
 * A watched response takes every write whole (`http-held.ts`), so what waits is in its own buffer,
 * which the bounds read, and nowhere else; a write that does not fit beside what waits (`fits`) is
 * held there until it does, rather than written and cut off at the next check. Until 2026-12-05 an SSE answer written as many events
 * (a batch's answers, a `Last-Event-ID` replay) waited unseen in the SDK's web stream, outside both
 * bounds but the stall's: an audit replayed one 27 MB stream to 200 sockets that read nothing, and
 * the server held 480 MB more with the bound at 64 MiB.
 */
import type { ServerResponse } from 'node:http';
import { type Clock, steadyClock } from '../core/clock.js';
import { HeldWrites } from './http-held.js';

export interface UnsentOptions {
  /** How long a response may have bytes waiting unsent before it is cut off, in ms. @default 30000 */
  readonly stalledMs?: number | undefined;
  /** Most bytes waiting unsent across every response at once. @default 67108864 (64 MiB) */
  readonly maxBytes?: number | undefined;
  /** What `stalledMs` and how long a write is held are measured on. @default steadyClock */
  readonly clock?: Clock | undefined;
}

/** A response with bytes waiting at the last check: since when its client took none, and how many. */
interface Waiting {
  since: number;
  bytes: number;
  queued: number;
}

/** A response with bytes waiting (or a write about to be made, `res` undefined): whose, since when, how many. */
interface Waiter {
  readonly res: ServerResponse | undefined;
  readonly since: number;
  readonly bytes: number;
  readonly caller: string;
}

/** A response in flight: whose, and what waited at the last check (`undefined`: nothing did). */
interface Watched {
  readonly caller: () => string;
  seen: Waiting | undefined;
}

export class UnsentResponses {
  readonly #watched = new Map<ServerResponse, Watched>();
  readonly stalledMs: number;
  readonly maxBytes: number;
  readonly clock: Clock;
  readonly #held = new HeldWrites(this);
  readonly #timer: NodeJS.Timeout;
  /** At least the bytes waiting unsent: all of them at the last look (`check`, `fits`), and every write since. */
  #estimate = 0;

  constructor(options: UnsentOptions = {}) {
    this.stalledMs = options.stalledMs ?? 30_000;
    this.maxBytes = options.maxBytes ?? 64 * 1024 * 1024;
    // Not the wall clock: stepped forward, every response with bytes waiting was cut off at the
    // next check, and every held answer sent as its error (until 2026-12-07).
    this.clock = options.clock ?? steadyClock;
    this.#timer = setInterval(() => this.check(), 1000);
    this.#timer.unref();
  }

  /** Watches `res`; `caller` names whose it is (read at each check: it is known once authenticated). */
  watch(res: ServerResponse, caller: () => string = () => ''): void {
    this.#watched.set(res, { caller, seen: undefined });
    this.#held.takeOver(res, caller);
    res.once('close', () => this.#watched.delete(res));
  }

  /** Cuts off the responses over either bound; runs every second. */
  check(): void {
    const now = this.clock.now();
    // Stryker disable next-line ArrayDeclaration: an entry with no caller and no bytes weighs NaN, which is never the most, and sorts first.
    const waiting: Waiter[] = [];
    let total = 0;
    for (const [res, watched] of this.#watched) {
      const seen = watched.seen;
      // A response's own buffer and its socket's: what was written and has not gone out.
      const bytes = res.writableLength;
      if (bytes === 0) {
        watched.seen = undefined;
        continue;
      }
      const queued = leftOfHandedWrite(res);
      let since: number;
      if (seen === undefined || bytes < seen.bytes || queued < seen.queued) {
        // Bytes wait for the first time, or fewer than at the last check: the client is taking them.
        since = now;
        watched.seen = { since, bytes, queued };
      } else {
        since = seen.since;
        seen.bytes = bytes;
        seen.queued = queued;
      }
      if (now - since >= this.stalledMs) {
        this.#cutOff(res);
        continue;
      }
      total += bytes;
      waiting.push({ res, since, bytes, caller: watched.caller() });
    }
    this.#estimate = this.#relieve(waiting, total);
    this.#held.flush(now);
  }

  /** Bytes of writes held until they fit (`http-held.ts`). */
  get heldBytes(): number {
    return this.#held.bytes;
  }

  /** Bytes waiting unsent, across responses. */
  get unsentBytes(): number {
    let bytes = 0;
    for (const res of this.#watched.keys()) bytes += res.writableLength;
    return bytes;
  }

  /** Bytes waiting unsent, by caller. */
  unsentByCaller(): Map<string, number> {
    const unsent = new Map<string, number>();
    for (const [res, watched] of this.#watched) {
      const bytes = res.writableLength;
      if (bytes === 0) continue;
      const caller = watched.caller();
      unsent.set(caller, (unsent.get(caller) ?? 0) + bytes);
    }
    return unsent;
  }

  /**
   * Whether `size` more bytes written to `res` fit the bound beside every byte waiting unsent. When
   * they do not, the bound is kept as `check` keeps it, with them counted as `res`'s caller's: the
   * caller holding the most loses first, but these bytes go before any response of their own caller's
   * (refused, they cut nothing that is being read). `false`: they do not fit, and are not counted.
   * A held write tried again (`held`) cuts nothing: it waits until there is room.
   */
  fits(res: ServerResponse, size: number, held = false): boolean {
    // Nothing is looked at while every byte waiting and every write since the last look fit.
    if (this.#estimate + size <= this.maxBytes) {
      this.#estimate += size;
      return true;
    }
    // A response that has closed (or a bound closed): what is written there waits for no client.
    // Until 2026-12-08 it was weighed as the anonymous caller's, and could cut another's response.
    const mine = this.#watched.get(res);
    if (mine === undefined) return true;
    const now = this.clock.now();
    // First in line among its caller's: it goes before their responses that are being read.
    const pending: Waiter = {
      res: undefined,
      since: Number.NEGATIVE_INFINITY,
      bytes: size,
      caller: mine.caller(),
    };
    const waiting = [pending];
    let total = size;
    for (const [other, watched] of this.#watched) {
      const bytes = other.writableLength;
      if (bytes === 0) continue;
      total += bytes;
      waiting.push({ res: other, since: watched.seen?.since ?? now, bytes, caller: watched.caller() });
    }
    if (held && total > this.maxBytes) {
      this.#estimate = total - size;
      return false;
    }
    this.#estimate = this.#relieve(waiting, total);
    return waiting.includes(pending);
  }

  /**
   * Cuts off responses of `waiting` (`total` bytes in all) until the total is within the bound: each
   * time the longest waiting of the caller holding the most, its held writes (`http-held.ts`) counted
   * with its unsent bytes. A waiter with no response (a write not yet made) is taken out rather than
   * cut. Only what the bound needs goes: one chosen early that the later ones made room for stays.
   * The bytes left waiting.
   */
  #relieve(waiting: Waiter[], total: number): number {
    // Stryker disable next-line ConditionalExpression,EqualityOperator: a shortcut; within the bound the loops below cut nothing.
    if (total <= this.maxBytes) return total;
    waiting.sort((a, b) => a.since - b.since);
    const heldBy = this.#held.byCaller();
    // Only callers with a response left to cut: the loop ends, and never looks for one in vain.
    const held = new Map<string, number>();
    for (const w of waiting) held.set(w.caller, (held.get(w.caller) ?? heldBy.get(w.caller) ?? 0) + w.bytes);
    // Stryker disable next-line ArrayDeclaration: an entry with no bytes and no response is neither put back nor cut.
    const chosen: Waiter[] = [];
    while (total > this.maxBytes) {
      // On a tie, the caller whose response waits longest (the first in `held`).
      let first: string | undefined;
      for (const [caller, bytes] of held)
        if (first === undefined || bytes > (held.get(first) as number)) first = caller;
      const most = first as string;
      const at = waiting.findIndex((w) => w.caller === most);
      const w = waiting.splice(at, 1)[0] as Waiter;
      chosen.push(w);
      total -= w.bytes;
      const gone = w.bytes + this.#held.heldOn(w.res);
      if (waiting.some((o) => o.caller === most)) held.set(most, (held.get(most) as number) - gone);
      else held.delete(most);
    }
    // Callers pay in turn, the one waiting on the most first, but a small response of its, chosen
    // first, may free too little, and the next caller's then frees enough alone: it stays (until
    // 2026-12-07 both went). Those chosen first give way first.
    for (const w of chosen) {
      if (w.bytes <= this.maxBytes - total) {
        waiting.push(w);
        total += w.bytes;
      } else if (w.res !== undefined) this.#cutOff(w.res);
    }
    return total;
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
