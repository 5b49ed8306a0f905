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
 */
import { Writable } from 'node:stream';

type WriteCallback = (error?: Error | null) => void;

/** Returns the stream to give the SDK's `StdioServerTransport` instead of `out`. */
export function batchedOutput(out: NodeJS.WritableStream, highWaterMark = 1024 * 1024): Writable {
  const batched = new BatchedOutput(out, highWaterMark);
  out.on('error', (error: Error) => batched.destroy(error));
  return batched;
}

class BatchedOutput extends Writable {
  readonly #out: NodeJS.WritableStream;
  #flushScheduled = false;
  readonly #flush = () => {
    this.#flushScheduled = false;
    this.uncork();
  };

  constructor(out: NodeJS.WritableStream, highWaterMark: number) {
    super({ highWaterMark, decodeStrings: false });
    this.#out = out;
  }

  // Corks on the first write of a turn, so the turn's messages reach `_writev` together.
  override write(
    chunk: unknown,
    encoding?: BufferEncoding | WriteCallback,
    callback?: WriteCallback,
  ): boolean {
    if (!this.#flushScheduled && !this.destroyed && !this.writableEnded) {
      this.#flushScheduled = true;
      this.cork();
      setImmediate(this.#flush);
    }
    return typeof encoding === 'function'
      ? super.write(chunk, encoding)
      : super.write(chunk, encoding as BufferEncoding, callback);
  }

  override _write(chunk: string | Buffer, _encoding: BufferEncoding, done: WriteCallback): void {
    this.#out.write(chunk, done);
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
    this.#out.write(bytes === undefined ? text : Buffer.concat(bytes), done);
  }
}
