import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { InFlightIds } from '../../../src/mcp/in-flight-ids.js';
import { guardStdin } from '../../../src/mcp/stdio-guard.js';
import { AnsweringStdioTransport } from '../../../src/mcp/stdio-request-ids.js';

const call = (id: unknown) => ({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'chat' } });
const answer = (id: string | number) => ({ jsonrpc: '2.0' as const, id, result: {} });
const cancel = (requestId: unknown) => ({
  jsonrpc: '2.0',
  method: 'notifications/cancelled',
  params: { requestId },
});
const taken = (shown: string) =>
  `Invalid Request: id ${shown} is taken by a request still in flight, so this one was not run; give each request an id of its own`;

describe('InFlightIds', () => {
  it('refuses a request whose id is in flight, and takes it again once answered or cancelled', () => {
    const ids = new InFlightIds();
    expect(ids.admit(call(1))).toBeUndefined();
    expect(ids.admit(call(1))).toBe(taken('1'));
    // `1` and `'1'` are two ids, as the SDK keeps them.
    expect(ids.admit(call('1'))).toBeUndefined();
    expect(ids.admit(call('1'))).toBe(taken('"1"'));
    expect(ids.size).toBe(2);
    ids.answered(answer(1));
    expect(ids.admit(call(1))).toBeUndefined();
    ids.admit(cancel('1'));
    expect(ids.admit(call('1'))).toBeUndefined();
    // An error answer frees its id too.
    ids.answered({ jsonrpc: '2.0', id: 1, error: { code: -32603, message: 'x' } });
    expect(ids.size).toBe(1);
  });

  it('leaves alone what is no request of the client’s, and no answer of the server’s', () => {
    const ids = new InFlightIds();
    expect(ids.admit(call(5))).toBeUndefined();
    for (const other of [
      null,
      7,
      'text',
      // The client's answer to a request of the server's, with the same id.
      { jsonrpc: '2.0', id: 5, result: {} },
      { jsonrpc: '2.0', method: 'notifications/initialized' },
      cancel({ x: 5 }),
      { jsonrpc: '2.0', method: 'notifications/cancelled' },
      { jsonrpc: '2.0', method: 'notifications/cancelled', params: null },
      // Only a cancellation frees an id.
      { jsonrpc: '2.0', method: 'notifications/roots/list_changed', params: { requestId: 5 } },
      { jsonrpc: '2.0', id: { x: 5 }, method: 'ping' },
    ]) {
      expect(ids.admit(other)).toBeUndefined();
    }
    // The server's own request with that id is no answer.
    ids.answered({ jsonrpc: '2.0', id: 5, method: 'elicitation/create', params: {} });
    ids.answered({
      jsonrpc: '2.0',
      method: 'notifications/progress',
      params: { progressToken: 5, progress: 1 },
    });
    expect(ids.size).toBe(1);
    expect(ids.admit(call(5))).toBe(taken('5'));
  });

  it('keeps ids long or many within its bound, forgetting the oldest first', () => {
    const ids = new InFlightIds(3);
    const long = 'x'.repeat(5000);
    expect(ids.admit(call(long))).toBeUndefined();
    expect(ids.admit(call(long))).toBe(taken(`"${'x'.repeat(128)}… (5000 characters)"`));
    // Ids that differ only past the first 128 characters are two.
    expect(ids.admit(call(`${long}y`))).toBeUndefined();
    expect(ids.admit(call(1))).toBeUndefined();
    expect(ids.admit(call(2))).toBeUndefined();
    expect(ids.size).toBe(3);
    // The oldest, `long`, went; the others are still guarded.
    expect(ids.admit(call(long))).toBeUndefined();
    expect(ids.admit(call(2))).toBe(taken('2'));
  });
});

describe('InFlightIds on a batch (a 2025-era POST)', () => {
  it('refuses a batch with an id in flight or twice in it, and keeps none of its ids', () => {
    const ids = new InFlightIds();
    expect(ids.admit(call(1))).toBeUndefined();
    expect(ids.admit([call(2), call(1)])).toBe(taken('1'));
    expect(ids.admit([call(3), call(4), call(3)])).toBe(taken('3'));
    expect(ids.size).toBe(1);
    // None of the refused batches' ids was kept.
    expect(ids.admit([call(2), call(3), call(4)])).toBeUndefined();
    expect(ids.size).toBe(4);
  });

  it('checks a batch against the ids in flight before it: its own cancel frees no id for it', () => {
    const ids = new InFlightIds();
    expect(ids.admit(call(5))).toBeUndefined();
    expect(ids.admit([cancel(5), call(5)])).toBe(taken('5'));
    expect(ids.size).toBe(1);
    // A call and its own cancel in one batch: the id is free after it.
    expect(ids.admit([call(6), cancel(6), cancel(5)])).toBeUndefined();
    expect(ids.size).toBe(0);
  });

  it('frees the ids of requests the server will not answer', () => {
    const ids = new InFlightIds();
    expect(ids.admit([call(1), call('1'), call(2)])).toBeUndefined();
    ids.forget([1, '1', null, { id: 2 }]);
    expect(ids.size).toBe(1);
    expect(ids.admit(call(2))).toBe(taken('2'));
    expect(ids.admit(call(1))).toBeUndefined();
  });
});

describe('on the stdio guard and transport', () => {
  it('refuses the reused id before the SDK reads it, with `id: null`, and frees the id with its answer', async () => {
    const input = new PassThrough();
    const output = new PassThrough();
    const ids = new InFlightIds();
    const refused: string[] = [];
    const guarded = guardStdin(input, (line) => refused.push(line), { onMessage: (m) => ids.admit(m) });
    const transport = new AnsweringStdioTransport(guarded as PassThrough, output, ids);
    const received: unknown[] = [];
    transport.onmessage = (message) => received.push(message);
    await transport.start();
    input.write(`${JSON.stringify(call(1))}\n${JSON.stringify(call(1))}\n${JSON.stringify(call(2))}\n`);
    await new Promise((r) => setImmediate(r));
    expect(received).toEqual([call(1), call(2)]);
    expect(refused.map((line) => JSON.parse(line))).toEqual([
      { jsonrpc: '2.0', id: null, error: { code: -32600, message: taken('1') } },
    ]);
    await transport.send(answer(1));
    expect(output.read()?.toString()).toBe(`${JSON.stringify(answer(1))}\n`);
    input.write(`${JSON.stringify(call(1))}\n`);
    await new Promise((r) => setImmediate(r));
    expect(received).toEqual([call(1), call(2), call(1)]);
    expect(refused).toHaveLength(1);
    await transport.close();
  });
});

describe('AnsweringStdioTransport’s close', () => {
  async function started() {
    const input = new PassThrough();
    const closings: (Error | undefined)[] = [];
    const order: string[] = [];
    const transport = new AnsweringStdioTransport(input, new PassThrough(), new InFlightIds(), {
      onClosing: (error) => {
        closings.push(error);
        order.push('closing');
      },
    });
    const heard: Error[] = [];
    transport.onerror = (error) => heard.push(error);
    let closed = 0;
    transport.onclose = () => {
      closed += 1;
      order.push('closed');
    };
    await transport.start();
    return { input, transport, closings, heard, closed: () => closed, order };
  }

  it('tells the error it closes on, once, before the SDK hears of the close', async () => {
    const { transport, closings, heard, closed, order } = await started();
    const error = new Error('reader over its bound');
    transport.onerror?.(error);
    expect(heard).toEqual([error]);
    expect(closed()).toBe(0);
    await transport.close();
    await transport.close();
    expect(closings).toEqual([error]);
    expect(order).toEqual(['closing', 'closed']);
    expect(closed()).toBe(1);
  });

  // Until 2026-12-07 only an error of the close's own turn counted.
  it('tells the last error reported, however many turns before the close', async () => {
    const { transport, closings } = await started();
    transport.onerror?.(new Error('a bad line, answered'));
    const error = new Error('reader over its bound');
    transport.onerror?.(error);
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setTimeout(r, 5));
    await transport.close();
    expect(closings).toEqual([error]);
  });

  it('tells no error for a close asked of it, nor for one after a server of it began closing', async () => {
    const first = await started();
    await first.transport.close();
    expect(first.closings).toEqual([undefined]);
    const second = await started();
    second.transport.onerror?.(new Error('a bad line, answered'));
    second.transport.forgetError();
    await second.transport.close();
    expect(second.closings).toEqual([undefined]);
    // An error reported after the server began closing is told.
    const third = await started();
    third.transport.forgetError();
    const error = new Error('stdout failed');
    third.transport.onerror?.(error);
    await third.transport.close();
    expect(third.closings).toEqual([error]);
  });

  it('tells the error when nobody set `onerror` before starting it', async () => {
    const closings: (Error | undefined)[] = [];
    const transport = new AnsweringStdioTransport(new PassThrough(), new PassThrough(), new InFlightIds(), {
      onClosing: (error) => closings.push(error),
    });
    await transport.start();
    const error = new Error('reader over its bound');
    transport.onerror?.(error);
    await transport.close();
    expect(closings).toEqual([error]);
  });

  it('tells stdin’s end as a close with no error', async () => {
    const { input, closings, closed } = await started();
    input.end();
    await new Promise((r) => setImmediate(r));
    expect(closings).toEqual([undefined]);
    expect(closed()).toBe(1);
  });
});
