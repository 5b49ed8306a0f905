/**
 * A streamed chat answer's body read as the `openai` SDK reads it (`Stream.fromSSEResponse` in
 * `openai/core/streaming`), its chunks handed over synchronously: one `reader.read()` per network
 * chunk, then every event in it parsed and passed to `onChunk` in the same turn.
 *
 * Why not the SDK's `Stream`: it runs each event through three async generators (the body's bytes
 * into SSE chunks, those into events, those into parsed chunks), a promise and an iterator result
 * at each for every event, plus a copy of the pending bytes for each network chunk. At 1,000 streams
 * that was most of a busy event loop's work beyond the runtime's own (docs/performance-log.md, "Streams,
 * fourth pass"). The rules are the SDK's, line for line:
 * - lines end at `\n`, `\r` or `\r\n` (its `LineDecoder`), decoded as UTF-8;
 * - an empty line ends an event, if it had an `event` or `data` field; `:` starts a comment; a
 *   field's value loses one leading space; `data` lines join with `\n` (its `SSEDecoder`); an
 *   event the body ends without an empty line after is dropped, as the SDK drops it;
 * - `[DONE]` ends the answer: what follows is read and ignored, as the SDK does, so the socket can
 *   serve the next call; unlike the SDK, a server that keeps the body open after it does not keep
 *   the answer: the body is cancelled once it has not ended `DONE_GRACE_MS` after `[DONE]`;
 * - any other event of the chat stream
 *   is JSON (a `SyntaxError` otherwise), and one carrying `error` throws the SDK's `APIError` with
 *   it (an `event: thread.*` one is handed over as `{ event, data }`, as the SDK yields it);
 * - on an error, or when `stop()` says so, the body is cancelled (the SDK aborts the request).
 */
import { APIError, OpenAIError } from 'openai/core/error';

/** How long the body may stay open after `[DONE]` before it is cancelled (the answer is whole). */
export const DONE_GRACE_MS = 250;

/** Reads the body, handing each chunk to `onChunk`; resolves with whether `[DONE]` came. */
export async function readSSE(
  response: Response,
  onChunk: (chunk: unknown) => void,
  stop: () => boolean,
): Promise<boolean> {
  const body = response.body;
  if (body === null) throw new OpenAIError('Attempted to iterate over a response with no body');
  const reader = body.getReader();
  const events = new SSEEvents(response.headers, onChunk);
  let finished = false;
  try {
    while (true) {
      const { done, value } = await reader.read();
      if (done) break;
      if (events.take(value, stop)) return false;
      if (events.answered) {
        finished = await drainAfterDone(reader);
        return true;
      }
    }
    events.end();
    finished = true;
    return false;
  } finally {
    // Stopped early or failed: the request goes (as the SDK aborts it). The cancel's own outcome
    // tells nothing: the body already failed, or the call ends with its own error or abort.
    if (!finished) reader.cancel().catch(() => {});
    reader.releaseLock();
  }
}

/**
 * `readSSE` pulled, for `stream()`: the body's chunks in order, each network chunk's parsed in its
 * turn; `seen.done` is set when `[DONE]` came. An event that fails to parse (or carries `error`)
 * throws after the chunks before it in the same network chunk; leaving early cancels the body.
 */
export async function* iterateSSE(response: Response, seen: { done: boolean }): AsyncGenerator<unknown> {
  const body = response.body;
  if (body === null) throw new OpenAIError('Attempted to iterate over a response with no body');
  const reader = body.getReader();
  const pending: unknown[] = [];
  const events = new SSEEvents(response.headers, (chunk) => pending.push(chunk));
  let finished = false;
  try {
    while (true) {
      const { done, value } = await reader.read();
      let failure: { error: unknown } | undefined;
      try {
        if (done) events.end();
        else events.take(value, never);
      } catch (error) {
        failure = { error };
      }
      for (let i = 0; i < pending.length; i++) yield pending[i];
      pending.length = 0;
      if (failure !== undefined) throw failure.error;
      if (done) {
        finished = true;
        return;
      }
      if (events.answered) {
        seen.done = true;
        finished = await drainAfterDone(reader);
        return;
      }
    }
  } finally {
    if (!finished) reader.cancel().catch(() => {});
    reader.releaseLock();
  }
}

const never = () => false;

/**
 * After `[DONE]`: the rest of the body read and dropped, so a body that ends keeps its socket for
 * the next call; `false` when it has not ended within `DONE_GRACE_MS` (the caller cancels it).
 */
async function drainAfterDone(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<boolean> {
  // The timer for a body that stalls; the clock for one that keeps sending (its reads may all be
  // answered from buffered bytes, without a turn of the event loop for the timer).
  const until = performance.now() + DONE_GRACE_MS;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), DONE_GRACE_MS);
  });
  try {
    while (true) {
      const next = await Promise.race([reader.read(), late]);
      if (next === undefined) return false;
      if (next.done) return true;
      if (performance.now() >= until) return false;
    }
  } finally {
    clearTimeout(timer);
  }
}

/** The SSE parser's state for one body: the line not yet ended, and the event being read. */
export class SSEEvents {
  private readonly decoder = new TextDecoder();
  /** Text after the last line end seen. */
  private rest = '';
  /** The previous piece ended with `\r`: a `\n` starting this one ends nothing. */
  private afterCR = false;
  private event: string | null = null;
  private data: string[] = [];
  /** `[DONE]` came: the rest of the body is read and ignored. */
  private done = false;

  /** Whether `[DONE]` has come: the answer is whole. */
  get answered(): boolean {
    return this.done;
  }

  constructor(
    private readonly headers: Headers,
    private readonly onChunk: (chunk: unknown) => void,
  ) {}

  /** A network chunk: its complete lines handled; `true` if `stop()` said to stop after an event. */
  take(bytes: Uint8Array, stop: () => boolean): boolean {
    return this.lines(this.decoder.decode(bytes, { stream: true }), stop);
  }

  /** The body ended: its last line handled (an event it leaves open is dropped). */
  end(): void {
    const text = this.decoder.decode();
    this.lines(text, () => false);
    if (this.rest !== '') this.line(this.rest);
    this.rest = '';
  }

  private lines(text: string, stop: () => boolean): boolean {
    // Where the line being cut starts.
    let from = this.afterCR && text.charCodeAt(0) === 10 ? 1 : 0;
    this.afterCR = false;
    const length = text.length;
    // The next `\n` and `\r`, by `indexOf` rather than a loop over characters (a body without `\r`
    // looks for one once).
    let lf = text.indexOf('\n', from);
    let cr = text.indexOf('\r', from);
    while (lf >= 0 || cr >= 0) {
      const atLF = cr < 0 || (lf >= 0 && lf < cr);
      const end = atLF ? lf : cr;
      const piece = text.slice(from, end);
      from = end + 1;
      if (!atLF) {
        // `\r\n` is one line end; a `\r` last in this piece may be followed by the next one's `\n`.
        if (from === length) this.afterCR = true;
        else if (text.charCodeAt(from) === 10) from++;
      }
      const line = this.rest === '' ? piece : this.rest + piece;
      this.rest = '';
      if (lf >= 0 && lf < from) lf = text.indexOf('\n', from);
      if (cr >= 0 && cr < from) cr = text.indexOf('\r', from);
      if (this.line(line) && stop()) return true;
    }
    if (from < length) this.rest += text.slice(from);
    return false;
  }

  /** One line; `true` when it ended an event that was handed over. */
  private line(line: string): boolean {
    if (line === '') {
      if (!this.event && this.data.length === 0) return false;
      const event = this.event;
      const data = this.data.length === 1 ? (this.data[0] as string) : this.data.join('\n');
      this.event = null;
      this.data = [];
      return this.dispatch(event, data);
    }
    // A comment (`:` first) has the empty field name: it sets nothing, as below.
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.charCodeAt(0) === 32) value = value.slice(1);
    if (field === 'event') this.event = value;
    else if (field === 'data') this.data.push(value);
    return false;
  }

  private dispatch(event: string | null, data: string): boolean {
    if (this.done) return false;
    if (data.startsWith('[DONE]')) {
      this.done = true;
      return false;
    }
    const parsed = JSON.parse(data);
    if (event === null || !event.startsWith('thread.')) {
      if (parsed?.error) throw new APIError(undefined, parsed.error, undefined, this.headers);
      this.onChunk(parsed);
    } else this.onChunk({ event, data: parsed });
    return true;
  }
}
