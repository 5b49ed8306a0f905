import { once } from 'node:events';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { CallRegistry } from '../../../src/mcp/call-registry.js';
import { batchedOutput } from '../../../src/mcp/stdio-output.js';

/** A sink that records each write it receives, and can hold its callbacks (a full pipe). */
function sink(options: { hold?: boolean } = {}) {
  const writes: string[] = [];
  const held: (() => void)[] = [];
  const state = { hold: options.hold === true };
  const out = new Writable({
    write(chunk: Buffer, _encoding, done) {
      writes.push(chunk.toString());
      if (state.hold) held.push(() => done());
      else done();
    },
  });
  return { out, writes, held, state };
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

describe('batchedOutput', () => {
  it('sends the messages written in one turn as one write, in order', async () => {
    const { out, writes } = sink();
    const batched = batchedOutput(out);
    batched.write('{"id":1}\n');
    batched.write('{"id":2}\n');
    await Promise.resolve();
    batched.write('{"id":3}\n');
    expect(writes).toEqual([]);
    await turn();
    await turn();
    expect(writes).toEqual(['{"id":1}\n{"id":2}\n{"id":3}\n']);
    batched.write('{"id":4}\n');
    await turn();
    await turn();
    expect(writes).toEqual(['{"id":1}\n{"id":2}\n{"id":3}\n', '{"id":4}\n']);
  });

  it('keeps backpressure: write returns false over the mark, drain follows once the sink takes it', async () => {
    const { out, writes, held, state } = sink({ hold: true });
    const batched = batchedOutput(out, { highWaterMark: 16 });
    expect(batched.write('0123456789\n')).toBe(true);
    expect(batched.write('0123456789\n')).toBe(false);
    await turn();
    await turn();
    expect(writes).toHaveLength(1);
    // The sink has not finished the first batch: the next one waits for it.
    batched.write('later\n');
    await turn();
    await turn();
    expect(writes).toHaveLength(1);
    const drained = once(batched, 'drain');
    state.hold = false;
    for (const release of held.splice(0)) release();
    await drained;
    await turn();
    expect(writes.join('')).toBe('0123456789\n0123456789\nlater\n');
  });

  it('passes an error of the sink on, so the transport hears of it', async () => {
    const { out } = sink();
    const batched = batchedOutput(out);
    const failed = once(batched, 'error');
    out.emit('error', new Error('EPIPE'));
    const [error] = (await failed) as [Error];
    expect(error.message).toBe('EPIPE');
  });

  it('a host that takes no byte for stalledMs ends the stream with why, and closes it', async () => {
    const { out, writes } = sink({ hold: true });
    const batched = batchedOutput(out, { stalledMs: 40 });
    const failed = once(batched, 'error');
    const closed = new Promise((resolve) => batched.on('close', resolve));
    const started = Date.now();
    batched.write('{"id":1}\n');
    const [error] = (await failed) as [Error];
    expect(error.message).toBe(
      'Expected the host to read stdout, got no part of 9 bytes taken for 40 ms: stopping as on a closed stdin',
    );
    await closed;
    // Within one to two waits: the look runs every stalledMs, not once per batch.
    expect(Date.now() - started).toBeGreaterThanOrEqual(39);
    expect(writes).toEqual(['{"id":1}\n']);
  });

  it('a host that reads slowly is not cut off: each batch taken starts the wait afresh', async () => {
    const { out, writes, held } = sink({ hold: true });
    // 150 ms, not less: a busy machine's timers fire that late (40 ms was crossed under load).
    const batched = batchedOutput(out, { stalledMs: 150 });
    let failed: unknown;
    batched.on('error', (error) => {
      failed = error;
    });
    // 12 batches 60 ms apart: 720 ms in all, far past one wait.
    for (let i = 0; i < 12; i++) {
      batched.write(`{"id":${i}}\n`);
      await new Promise((resolve) => setTimeout(resolve, 60));
      for (const release of held.splice(0)) release();
    }
    await turn();
    expect(failed).toBeUndefined();
    expect(batched.destroyed).toBe(false);
    expect(writes.join('')).toContain('{"id":11}');
  });

  // A review (2026-12-04): a socket's writableLength stays whole until a write is all sent, so a
  // batch larger than the host reads in stalledMs was cut off while the host went on reading.
  it('a host reading one large batch slowly, a piece at a time, is not cut off; the bytes arrive whole', async () => {
    const taken: Buffer[] = [];
    // As a socket: writes queued together go as one, done when all of it is sent; 15 ms a 64 KiB.
    const take = (chunks: Buffer[], done: () => void) => {
      for (const chunk of chunks) taken.push(Buffer.from(chunk));
      const bytes = chunks.reduce((n, c) => n + c.length, 0);
      setTimeout(done, 15 * Math.ceil(bytes / 65_536));
    };
    const out = new Writable({
      write: (chunk: Buffer, _encoding, done) => take([chunk], done),
      writev: (chunks, done) =>
        take(
          chunks.map((c) => c.chunk as Buffer),
          done,
        ),
    });
    const batched = batchedOutput(out, { stalledMs: 150 });
    let failed: unknown;
    batched.on('error', (error) => {
      failed = error;
    });
    // 40 pieces of 64 Ki characters at 15 ms each: 600 ms for the batch, far past 150 ms. One
    // character first, so an emoji (a surrogate pair) sits across the first piece's end: without
    // it every pair started at an even index and no piece end (64 Ki, even) fell inside one.
    const line = `x${'😀'.repeat(40 * 32 * 1024)}\n`;
    batched.write(line);
    const finished = new Promise((resolve) => batched.end(resolve));
    await finished;
    expect(failed).toBeUndefined();
    expect(taken.length).toBeGreaterThan(39);
    expect(Buffer.concat(taken).toString('utf8')).toBe(line);
  });

  it('more than 4,096 messages waiting on drain ends the stream (their listeners cost the square to remove)', async () => {
    const { out } = sink({ hold: true });
    const batched = batchedOutput(out, { highWaterMark: 16 });
    const failed = once(batched, 'error');
    for (let i = 0; i < 5000 && !batched.destroyed; i++) {
      if (!batched.write(`{"id":${i}}\n`)) batched.once('drain', () => {});
    }
    const [error] = (await failed) as [Error];
    expect(error.message).toBe(
      'Expected the host to read stdout, got 4096 messages waiting unsent: stopping as on a closed stdin',
    );
    // The write refused is the last to wait (the SDK waits on 'drain' whenever write says false).
    expect(batched.listenerCount('drain')).toBe(4097);
  });

  it('more than maxUnsentBytes waiting (a batch until the sink took it all) ends the stream, whatever the time', async () => {
    const { out } = sink({ hold: true });
    const batched = batchedOutput(out, { maxUnsentBytes: 100 });
    const failed = once(batched, 'error');
    expect(batched.write(`${'x'.repeat(59)}\n`)).toBe(true);
    await turn();
    await turn();
    // 60 held by the sink, 60 more here: 120.
    expect(batched.write(`${'y'.repeat(59)}\n`)).toBe(false);
    const [error] = (await failed) as [Error];
    expect(error.message).toBe(
      'Expected the host to read stdout, got 120 characters waiting unsent (more than 100): stopping as on a closed stdin',
    );
    expect(batched.destroyed).toBe(true);
  });

  it('one answer over maxUnsentBytes by itself goes as an error for its id, and the stream goes on', async () => {
    const { out, writes } = sink();
    const batched = batchedOutput(out, { maxUnsentBytes: 1000 });
    const pad = 'x'.repeat(2000);
    expect(
      batched.write(`${JSON.stringify({ jsonrpc: '2.0', id: 9, result: { resources: [pad] } })}\n`),
    ).toBe(true);
    batched.write('{"jsonrpc":"2.0","id":10,"result":{}}\n');
    await turn();
    await turn();
    expect(batched.destroyed).toBe(false);
    const sent = writes
      .join('')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { id: number; error?: object });
    expect(sent.map((m) => m.id)).toEqual([9, 10]);
    expect(sent[0]?.error).toMatchObject({ code: -32603 });
    // A notification over it has nobody waiting on it: the bound ends the stream as before.
    const failed = once(batched, 'error');
    batched.write(
      `${JSON.stringify({ jsonrpc: '2.0', method: 'notifications/message', params: { pad } })}\n`,
    );
    const [error] = (await failed) as [Error];
    expect(error.message).toMatch(
      /^Expected the host to read stdout, got \d+ characters waiting unsent \(more than 1000\)/,
    );
  });

  it('an answer that does not fit beside those waiting goes as an error for its id; the host slow to read gets the rest', async () => {
    const { out, writes, held, state } = sink({ hold: true });
    const batched = batchedOutput(out, { maxUnsentBytes: 3500 });
    const answer = (id: number) => {
      const text = 'x'.repeat(600);
      const result = { content: [{ type: 'text', text }], structuredContent: { ok: true, content: text } };
      return `${JSON.stringify({ jsonrpc: '2.0', id, result })}\n`;
    };
    batched.write(answer(1));
    await turn();
    await turn();
    // About 1,300 waiting for the host: the second fits beside it, the third does not.
    batched.write(answer(2));
    batched.write(answer(3));
    await turn();
    expect(batched.destroyed).toBe(false);
    state.hold = false;
    for (const release of held.splice(0)) release();
    await turn();
    await turn();
    const sent = writes
      .join('')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { id: number; result: { isError?: boolean; structuredContent: object } });
    expect(sent.map((m) => m.id)).toEqual([1, 2, 3]);
    expect(`${JSON.stringify(sent[1])}\n`).toBe(answer(2));
    expect(sent[2]?.result).toMatchObject({
      isError: true,
      structuredContent: {
        error: {
          code: 'INVALID_REQUEST',
          message: `Expected an answer to fit the 3500 characters that may wait unsent on stdout beside the answers waiting for the host, got ${answer(3).length}: it was not sent; ask again once they are read, or for a shorter one (max_tokens)`,
        },
      },
    });
    // The stream goes on: a later answer, once there is room, is sent whole.
    batched.write(answer(4));
    await turn();
    await turn();
    expect(writes.join('').endsWith(answer(4))).toBe(true);
  });

  it('a host that reads nothing has its answers past the bound refused, then is taken for gone after stalledMs', async () => {
    const { out } = sink({ hold: true });
    const batched = batchedOutput(out, { maxUnsentBytes: 3500, stalledMs: 200 });
    const failed = once(batched, 'error');
    const answer = (id: number) =>
      `${JSON.stringify({ jsonrpc: '2.0', id, result: { resources: ['x'.repeat(1200)] } })}\n`;
    for (const id of [1, 2, 3, 4]) batched.write(answer(id));
    await turn();
    // Two wait, the others were refused: the bound is kept, and the stream goes on for now.
    expect(batched.destroyed).toBe(false);
    expect(batched.writableLength).toBeLessThanOrEqual(3500);
    const [error] = (await failed) as [Error];
    expect(error.message).toMatch(
      /^Expected the host to read stdout, got no part of \d+ bytes taken for 200 ms: stopping as on a closed stdin$/,
    );
  });

  it('many messages waiting for drain raise no MaxListenersExceededWarning', async () => {
    const { out } = sink({ hold: true });
    const batched = batchedOutput(out, { highWaterMark: 16 });
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on('warning', onWarning);
    try {
      for (let i = 0; i < 20; i++) {
        batched.write(`{"id":${i}}\n`);
        batched.once('drain', () => {});
        batched.once('error', () => {});
      }
      await turn();
      await turn();
      expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([]);
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('flushes what is pending on end', async () => {
    const { out, writes } = sink();
    const batched = batchedOutput(out);
    batched.write('last\n');
    batched.end();
    await once(batched, 'finish');
    expect(writes).toEqual(['last\n']);
  });
});

describe('CallRegistry', () => {
  it('an untracked call (no MCP session) gets the request signal itself', () => {
    const registry = new CallRegistry();
    const base = new AbortController();
    const tracked = registry.track(undefined, 1, base.signal);
    expect(tracked.signal).toBe(base.signal);
    expect(registry.size).toBe(0);
  });

  it('a tracked call aborts on either the request signal or abort(), with that reason', () => {
    const registry = new CallRegistry();
    const base = new AbortController();
    const first = registry.track('s', 1, base.signal);
    base.abort('client cancelled');
    expect(first.signal.aborted).toBe(true);
    expect(first.signal.reason).toBe('client cancelled');
    first.release();

    const other = new AbortController();
    const second = registry.track('s', 2, other.signal);
    registry.abort('s', 2, 'stream closed');
    expect(second.signal.aborted).toBe(true);
    expect(second.signal.reason).toBe('stream closed');
    second.release();
    expect(registry.size).toBe(0);
  });

  it('forgets an aborted call at once, though its handler never settles (no release)', () => {
    const registry = new CallRegistry();
    const cancelled = new AbortController();
    registry.track('s', 1, cancelled.signal);
    registry.track('s', 2, new AbortController().signal);
    registry.track('s', 3, new AbortController().signal);
    expect(registry.size).toBe(3);
    // The client's cancellation (the SDK aborts the request signal), a closed stream (abort()).
    cancelled.abort('client cancelled');
    registry.abort('s', 2, 'stream closed');
    expect(registry.size).toBe(1);
    expect(registry.has('s', 1)).toBe(false);
    expect(registry.has('s', 3)).toBe(true);
  });

  it('gives a later call with an aborted call’s id a signal of its own', () => {
    const registry = new CallRegistry();
    const hung = registry.track('s', 1, new AbortController().signal);
    registry.abort('s', 1, 'stream closed');
    const next = registry.track('s', 1, new AbortController().signal);
    expect(hung.signal.aborted).toBe(true);
    expect(next.signal.aborted).toBe(false);
    // The hung call's late release leaves the new one tracked.
    hung.release();
    expect(registry.has('s', 1)).toBe(true);
  });

  it('release stops following the request signal', () => {
    const registry = new CallRegistry();
    const base = new AbortController();
    const tracked = registry.track('s', 3, base.signal);
    tracked.release();
    base.abort('late');
    expect(tracked.signal.aborted).toBe(false);
  });

  it('an abort that came before the call started is kept for it', () => {
    const registry = new CallRegistry();
    registry.abort('s', 4, 'early');
    const tracked = registry.track('s', 4, new AbortController().signal);
    expect(tracked.signal.aborted).toBe(true);
    expect(tracked.signal.reason).toBe('early');
    // Born aborted: not held as a call in flight.
    expect(registry.size).toBe(0);
  });

  it('remembers an early abort for 30 s, once, and does not count it as a call in flight', () => {
    let now = 0;
    const registry = new CallRegistry({ now: () => now });
    registry.abort('s', 5, 'early');
    registry.abort('s', 6, 'early');
    expect(registry.size).toBe(0);
    expect(registry.earlyAborts).toBe(2);
    now = 29_999;
    const kept = registry.track('s', 5, new AbortController().signal);
    expect(kept.signal.aborted).toBe(true);
    kept.release();
    // Taken: the same id again starts clean.
    expect(registry.track('s', 5, new AbortController().signal).signal.aborted).toBe(false);
    now = 30_000;
    expect(registry.track('s', 6, new AbortController().signal).signal.aborted).toBe(false);
    registry.abort('s', 7, 'early');
    now = 60_000;
    expect(registry.earlyAborts).toBe(0);
  });

  it('keeps at most maxEarlyAborts, forgetting the oldest first', () => {
    const registry = new CallRegistry({ maxEarlyAborts: 3 });
    for (const id of [1, 2, 3, 4]) registry.abort('s', id, `early ${id}`);
    expect(registry.earlyAborts).toBe(3);
    expect(registry.track('s', 1, new AbortController().signal).signal.aborted).toBe(false);
    const newest = registry.track('s', 4, new AbortController().signal);
    expect(newest.signal.reason).toBe('early 4');
    expect(registry.track('s', 2, new AbortController().signal).signal.reason).toBe('early 2');
  });

  it('past maxEarlyAborts, forgets the oldest of the MCP session holding the most, not another’s', () => {
    let now = 0;
    const registry = new CallRegistry({ maxEarlyAborts: 4, now: () => now });
    registry.abort('victim', 1, 'closed by the victim');
    for (const id of [1, 2, 3, 4, 5, 6]) {
      now += 1;
      registry.abort('flood', id, `flood ${id}`);
    }
    expect(registry.earlyAborts).toBe(4);
    // The victim's older abort is still there for its call; the flood lost its own oldest.
    expect(registry.track('victim', 1, new AbortController().signal).signal.reason).toBe(
      'closed by the victim',
    );
    expect(registry.track('flood', 3, new AbortController().signal).signal.aborted).toBe(false);
    expect(registry.track('flood', 4, new AbortController().signal).signal.reason).toBe('flood 4');
    // Taken and expired ones leave the counts too: the flood alone fills the room again.
    now += 30_000;
    for (const id of [7, 8, 9, 10, 11]) registry.abort('flood', id, `flood ${id}`);
    expect(registry.earlyAborts).toBe(4);
    expect(registry.track('flood', 11, new AbortController().signal).signal.reason).toBe('flood 11');
    expect(registry.track('flood', 7, new AbortController().signal).signal.aborted).toBe(false);
  });

  it('counts only the aborts an MCP session still holds: taken ones do not make it the most', () => {
    const registry = new CallRegistry({ maxEarlyAborts: 2 });
    for (const id of [1, 2, 3]) registry.abort('a', id, `a ${id}`);
    for (const id of [1, 2, 3]) registry.track('a', id, new AbortController().signal).release();
    registry.abort('b', 1, 'b 1');
    registry.abort('b', 2, 'b 2');
    registry.abort('a', 4, 'a 4');
    expect(registry.track('a', 4, new AbortController().signal).signal.reason).toBe('a 4');
    expect(registry.track('b', 1, new AbortController().signal).signal.aborted).toBe(false);
    expect(registry.track('b', 2, new AbortController().signal).signal.reason).toBe('b 2');
  });
});
