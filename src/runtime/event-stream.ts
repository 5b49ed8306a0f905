/**
 * A push-to-pull bridge: events pushed by the runtime, read with `for await`. Unbounded only in
 * the sense that a session's events are bounded by the session: it ends with `session.ended`.
 * Calls of `next()` that wait are answered in the order they came, one event each (an async
 * iterator's contract): until 2026-12-04 a second call made before the first was answered replaced
 * it, and the first never settled (library audit).
 */
export class EventStream<T> implements AsyncIterable<T> {
  private readonly buffer: T[] = [];
  private readonly waiting: ((result: IteratorResult<T>) => void)[] = [];
  private closed = false;

  /**
   * @param onStop called once when the reader stops early (`return()`, as a `break` out of
   * `for await` calls it, or `throw()`): whoever pushes drops the stream then, not when the session
   * ends (until 2026-12-05 a stream left that way stayed among its session's observers).
   */
  constructor(private onStop?: (stream: EventStream<T>) => void) {}

  push(value: T): void {
    if (this.closed) return;
    const waiting = this.waiting.shift();
    if (waiting !== undefined) waiting({ value, done: false });
    else this.buffer.push(value);
  }

  close(): void {
    this.closed = true;
    this.release();
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return {
      next: () => {
        const value = this.buffer.shift();
        if (value !== undefined) return Promise.resolve({ value, done: false });
        if (this.closed) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve) => {
          this.waiting.push(resolve);
        });
      },
      return: () => {
        this.stop();
        return Promise.resolve({ value: undefined, done: true });
      },
      throw: (error: unknown) => {
        this.stop();
        return Promise.reject(error);
      },
    };
  }

  /** The reader is gone: nothing more is kept or awaited, and the pusher is told once. */
  private stop(): void {
    this.closed = true;
    this.buffer.length = 0;
    this.release();
    const onStop = this.onStop;
    this.onStop = undefined;
    onStop?.(this);
  }

  /** Every call still waiting ends: the stream has nothing more. */
  private release(): void {
    for (const waiting of this.waiting.splice(0)) waiting({ value: undefined, done: true });
  }
}
