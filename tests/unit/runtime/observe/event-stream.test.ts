/**
 * `EventStream` (`src/runtime/event-stream.ts`): what the runtime pushes is read with `for await`,
 * in order, whether it was pushed before or after the reader asked; closing ends the reading once
 * what was buffered is read; a reader that stops early drops the rest.
 */
import { describe, expect, it } from 'vitest';
import { EventStream } from '../../../../src/runtime/event-stream.js';

describe('EventStream', () => {
  it('hands buffered values out in order, then those pushed while a reader waits, then ends once closed', async () => {
    const stream = new EventStream<number>();
    stream.push(1);
    stream.push(2);
    const iterator = stream[Symbol.asyncIterator]();
    expect(await iterator.next()).toEqual({ value: 1, done: false });
    expect(await iterator.next()).toEqual({ value: 2, done: false });
    const waiting = iterator.next();
    stream.push(3);
    expect(await waiting).toEqual({ value: 3, done: false });
    stream.push(4);
    stream.close();
    // Closed: what was pushed before is still read, then the end.
    expect(await iterator.next()).toEqual({ value: 4, done: false });
    expect(await iterator.next()).toEqual({ value: undefined, done: true });
    expect(await iterator.next()).toEqual({ value: undefined, done: true });
  });

  it('ends a reader that waits when the stream closes, and ignores pushes after', async () => {
    const stream = new EventStream<string>();
    const iterator = stream[Symbol.asyncIterator]();
    const waiting = iterator.next();
    stream.close();
    expect(await waiting).toEqual({ value: undefined, done: true });
    stream.push('late');
    expect(await iterator.next()).toEqual({ value: undefined, done: true });
  });

  it('hands a value pushed while a reader waits to that reader only, not again from the buffer', async () => {
    const stream = new EventStream<string>();
    const iterator = stream[Symbol.asyncIterator]();
    const first = iterator.next();
    stream.push('a');
    stream.push('b');
    expect(await first).toEqual({ value: 'a', done: false });
    expect(await iterator.next()).toEqual({ value: 'b', done: false });
    stream.close();
    expect(await iterator.next()).toEqual({ value: undefined, done: true });
  });

  it('answers calls of next() made before any value in the order they came, one value each', async () => {
    // Before, the second call replaced the first, which never settled.
    const stream = new EventStream<string>();
    const iterator = stream[Symbol.asyncIterator]();
    const calls = [iterator.next(), iterator.next(), iterator.next()];
    stream.push('a');
    stream.push('b');
    stream.close();
    expect(await Promise.all(calls)).toEqual([
      { value: 'a', done: false },
      { value: 'b', done: false },
      { value: undefined, done: true },
    ]);
  });

  it('ends every waiting call when the reader returns early', async () => {
    const stream = new EventStream<string>();
    const iterator = stream[Symbol.asyncIterator]();
    const waiting = [iterator.next(), iterator.next()];
    expect(await iterator.return?.()).toEqual({ value: undefined, done: true });
    expect(await Promise.all(waiting)).toEqual([
      { value: undefined, done: true },
      { value: undefined, done: true },
    ]);
    stream.push('late');
    expect(await iterator.next()).toEqual({ value: undefined, done: true });
  });

  it('is read with for await, and a reader that breaks out drops the rest and stops the stream', async () => {
    const stream = new EventStream<number>();
    for (const n of [1, 2, 3]) stream.push(n);
    const read: number[] = [];
    for await (const n of stream) {
      read.push(n);
      if (n === 2) break;
    }
    expect(read).toEqual([1, 2]);
    stream.push(4);
    const rest: number[] = [];
    for await (const n of stream) rest.push(n);
    expect(rest).toEqual([]);
  });

  it('the return of an early exit says done', async () => {
    const stream = new EventStream<number>();
    stream.push(1);
    const iterator = stream[Symbol.asyncIterator]();
    expect(await iterator.return?.()).toEqual({ value: undefined, done: true });
    expect(await iterator.next()).toEqual({ value: undefined, done: true });
  });

  // Audit leftover (2026-12-05): a reader that stopped early stayed among its session's observers.
  it('tells its pusher once when the reader stops early, by return() or throw(), and never on close', async () => {
    const stopped: EventStream<number>[] = [];
    const stream = new EventStream<number>((s) => stopped.push(s));
    stream.push(1);
    for await (const _ of stream) break;
    expect(stopped).toEqual([stream]);
    const iterator = stream[Symbol.asyncIterator]();
    await iterator.return?.();
    expect(stopped).toEqual([stream]);

    const thrown = new EventStream<number>((s) => stopped.push(s));
    const waiting = thrown[Symbol.asyncIterator]().next();
    thrown.push(2); // answers the waiting call
    const boom = new Error('reader gave up');
    await expect(thrown[Symbol.asyncIterator]().throw?.(boom)).rejects.toBe(boom);
    expect(stopped).toEqual([stream, thrown]);
    expect(await waiting).toEqual({ value: 2, done: false });
    thrown.push(3);
    expect(await thrown[Symbol.asyncIterator]().next()).toEqual({ value: undefined, done: true });

    const closed = new EventStream<number>((s) => stopped.push(s));
    closed.close();
    for await (const _ of closed) break;
    expect(stopped).toEqual([stream, thrown]);
  });

  it('throw() ends a waiting reader and drops what was buffered', async () => {
    const stream = new EventStream<number>();
    stream.push(1);
    const iterator = stream[Symbol.asyncIterator]();
    await expect(iterator.throw?.(new Error('stop'))).rejects.toThrow('stop');
    expect(await iterator.next()).toEqual({ value: undefined, done: true });
    const other = new EventStream<number>();
    const reader = other[Symbol.asyncIterator]();
    const waiting = reader.next();
    await expect(reader.throw?.(new Error('stop'))).rejects.toThrow('stop');
    expect(await waiting).toEqual({ value: undefined, done: true });
  });
});
