/**
 * stdout for the stdio server, one `write` per turn of the event loop instead of one per message.
 *
 * On Linux, writes to a pipe from `process.stdout` are synchronous: every JSON-RPC message was a
 * `write(2)` of its own, and waking the client's reader for each. With many calls in flight the
 * answers that complete in the same turn now leave together: the messages written are buffered
 * (corked) until `setImmediate`, then go out joined in one write, in the order they were written.
 *
 * Nothing else changes: each message is still one whole line; backpressure is the stream's
 * (`write` returns `false` over `highWaterMark`, `'drain'` follows, and the next batch waits for
 * the previous one's callback); an error on `out` destroys this stream with that error, so the
 * SDK's transport sees it as before. At one call in flight a message waits at most for the rest
 * of the current turn (the check phase runs right after I/O polling).
 *
 * A host that keeps stdout open but stops reading it is gone as surely as one that closes it: what
 * waits unsent is bounded. A batch of which `out` finishes no piece (64 Ki characters) for
 * `stalledMs` (each piece finished starts the wait afresh, so a slow reader is not cut), more than
 * 4,096 messages waiting on 'drain', or more than `maxUnsentBytes` waiting (counted as the
 * stream counts: characters of a string; a batch counts until `out` has taken all of it) destroys
 * this stream with an error saying which; `troupe stdio` then stops as on a closed stdin (its calls cancelled). One answer
 * longer than `maxUnsentBytes` by itself goes as an error for its id instead (`stdio-oversized.ts`), and so,
 * since later on 2026-12-07, does one that does not fit beside those waiting (a host slow to read several
 * large ones): it stopped the server, and the answers waiting were never sent. Before 2026-12-04
 * such a host left the server running, its calls paid for, and its answers piling up in memory
 * (400 unread 1 MB prompts: 1.08 GB).
 */
import { Writable } from 'node:stream';
import { answerBeside, oversizedAnswer } from './stdio-oversized.js';

type WriteCallback = (error?: Error | null) => void;

export interface BatchedOutputOptions {
  /** Bytes buffered here before `write` returns `false`. @default 1048576 */
  readonly highWaterMark?: number;
  /** A batch `out` takes no byte of this long ends the stream. @default 30000 */
  readonly stalledMs?: number;
  /** Characters (of a buffer, bytes) waiting unsent, a batch until `out` took it all, past which the stream ends. @default 67108864 */
  readonly maxUnsentBytes?: number;
}

/** Returns the stream to give the SDK's `StdioServerTransport` instead of `out`. */
export function batchedOutput(out: NodeJS.WritableStream, options: BatchedOutputOptions = {}): Writable {
  const batched = new BatchedOutput(out, options);
  out.on('error', (error: Error) => batched.destroy(error));
  return batched;
}

/** Characters (of a buffer, bytes) of one write to `out`: the unit of progress the stall look sees. */
const PIECE = 64 * 1024;
/** Messages waiting on 'drain' past which the host is taken for gone (see `write`). */
const MAX_DRAIN_WAITERS = 4096;

/** How many bytes `stream` holds unsent, when it says. */
const waitingIn = (stream: NodeJS.WritableStream): number =>
  (stream as { writableLength?: number }).writableLength ?? 0;

class BatchedOutput extends Writable {
  readonly #out: NodeJS.WritableStream;
  readonly #stalledMs: number;
  readonly #maxUnsentBytes: number;
  #flushScheduled = false;
  readonly #flush = () => {
    this.#flushScheduled = false;
    this.uncork();
  };
  /** A batch `out` has not finished taking; whether it finished a piece of one since the last look. */
  #sending = false;
  #tookSome = false;
  /** One look every `stalledMs` while a batch is being sent, armed at most once (not per batch). */
  #watch: ReturnType<typeof setTimeout> | undefined;

  constructor(out: NodeJS.WritableStream, options: BatchedOutputOptions) {
    super({ highWaterMark: options.highWaterMark ?? 1024 * 1024, decodeStrings: false });
    this.#out = out;
    this.#stalledMs = options.stalledMs ?? 30_000;
    this.#maxUnsentBytes = options.maxUnsentBytes ?? 64 * 1024 * 1024;
    // The SDK's transport waits for 'drain' (and 'error') once per message sent over the mark: the
    // listeners are as many as the messages waiting, which `MAX_DRAIN_WAITERS` bounds.
    this.setMaxListeners(MAX_DRAIN_WAITERS + 16);
  }

  // Corks on the first write of a turn, so the turn's messages reach `_writev` together.
  override write(
    written: unknown,
    encoding?: BufferEncoding | WriteCallback,
    callback?: WriteCallback,
  ): boolean {
    if (this.destroyed || this.writableEnded)
      return super.write(written, encoding as BufferEncoding, callback);
    // One answer over the bound by itself is no sign of a host that stopped reading: it goes as an
    // error for its id (`stdio-oversized.ts`).
    let chunk =
      typeof written === 'string' && written.length > this.#maxUnsentBytes
        ? (oversizedAnswer(written, this.#maxUnsentBytes) ?? written)
        : written;
    // Counted as the stream counts (a string's length, a buffer's bytes): what it holds in memory,
    // without encoding each message once more. A batch `out` has not finished taking counts here too.
    let waiting = this.writableLength + (chunk as string | Buffer).length;
    // Nor is one answer that does not fit beside those waiting (a host reading several large ones
    // slowly): it goes as an error for its id, and the host can ask again (`stdio-oversized.ts`).
    if (waiting > this.#maxUnsentBytes && typeof chunk === 'string') {
      const instead = answerBeside(chunk, this.#maxUnsentBytes);
      if (instead !== undefined) {
        chunk = instead;
        waiting = this.writableLength + instead.length;
      }
    }
    if (waiting > this.#maxUnsentBytes) {
      this.destroy(
        new Error(
          `Expected the host to read stdout, got ${waiting} characters waiting unsent (more than ${this.#maxUnsentBytes}): stopping as on a closed stdin`,
        ),
      );
      return false;
    }
    // Each message waiting on 'drain' is a listener, and the removal of each scans them all: past
    // this many, 40,000 short messages held the event loop for 13 s once they could go.
    if (this.writableNeedDrain && this.listenerCount('drain') >= MAX_DRAIN_WAITERS) {
      this.destroy(
        new Error(
          `Expected the host to read stdout, got ${MAX_DRAIN_WAITERS} messages waiting unsent: stopping as on a closed stdin`,
        ),
      );
      return false;
    }
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      this.cork();
      setImmediate(this.#flush);
    }
    return typeof encoding === 'function'
      ? super.write(chunk, encoding)
      : super.write(chunk, encoding as BufferEncoding, callback);
  }

  override _write(chunk: string | Buffer, _encoding: BufferEncoding, done: WriteCallback): void {
    this.#send(chunk, done);
  }

  override _writev(chunks: { chunk: string | Buffer }[], done: WriteCallback): void {
    let text = '';
    let bytes: Buffer[] | undefined;
    for (const { chunk } of chunks) {
      if (typeof chunk === 'string' && bytes === undefined) text += chunk;
      else {
        bytes ??= [Buffer.from(text)];
        bytes.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
      }
    }
    this.#send(bytes === undefined ? text : Buffer.concat(bytes), done);
  }

  override _destroy(error: Error | null, done: (error?: Error | null) => void): void {
    clearTimeout(this.#watch);
    done(error);
  }

  /**
   * One batch to `out`, in pieces of at most `PIECE` characters, each written once the one before
   * is taken: each is its own write, whose end is progress the stall look sees, so a host reading a
   * large batch slowly is not taken for gone (a socket counts a write unsent until all of it is
   * sent, and joins writes queued together into one).
   */
  #send(chunk: string | Buffer, done: WriteCallback): void {
    this.#sending = true;
    let from = 0;
    const next = (error?: Error | null) => {
      if (from > 0) this.#tookSome = true;
      if (error || from >= chunk.length) {
        this.#sending = false;
        done(error);
        return;
      }
      const to = pieceEnd(chunk, from);
      const piece = from === 0 && to === chunk.length ? chunk : chunk.slice(from, to);
      from = to;
      this.#out.write(piece, next);
    };
    next();
    if (this.#sending && this.#watch === undefined) {
      this.#tookSome = false;
      this.#watch = setTimeout(this.#look, this.#stalledMs).unref();
    }
  }

  /** Every `stalledMs` while sending: `out` must have finished some piece since the last look. */
  readonly #look = () => {
    this.#watch = undefined;
    if (!this.#sending) return;
    if (!this.#tookSome) {
      this.destroy(
        new Error(
          `Expected the host to read stdout, got no part of ${waitingIn(this.#out)} bytes taken for ${this.#stalledMs} ms: stopping as on a closed stdin`,
        ),
      );
      return;
    }
    this.#tookSome = false;
    this.#watch = setTimeout(this.#look, this.#stalledMs).unref();
  };
}

/** Where the piece of `chunk` from `from` ends: `PIECE` on, never between the halves of a surrogate pair. */
function pieceEnd(chunk: string | Buffer, from: number): number {
  const to = from + PIECE;
  if (to >= chunk.length) return chunk.length;
  if (typeof chunk !== 'string') return to;
  const unit = chunk.charCodeAt(to - 1);
  return unit >= 0xd800 && unit <= 0xdbff ? to - 1 : to;
}
