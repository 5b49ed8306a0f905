/**
 * Writes the unsent bytes bound cannot take yet (`http-held.ts`): held until they fit, in order
 * with the response's later writes and its end; past `stalledMs`, or with no room left to hold them,
 * an answer goes as an error for its id. Responses are stand-ins with what the bound reads and
 * calls; the bound's checks are called by hand. Over real HTTP with the SDK's client:
 * tests/integration/security/answers-beside.test.ts.
 */
import { EventEmitter } from 'node:events';
import type { ServerResponse } from 'node:http';
import { afterEach, expect, it } from 'vitest';
import { steadyClock } from '../../../src/core/clock.js';
import { UnsentResponses } from '../../../src/mcp/http-unsent.js';

class Response extends EventEmitter {
  readonly socket = null;
  writableLength = 0;
  readonly written: string[] = [];
  ended = false;
  destroyed = false;
  _header = 'HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n\r\n';
  readonly heads: unknown[][] = [];
  write(chunk: string): boolean {
    this.written.push(chunk);
    this.writableLength += Buffer.byteLength(chunk);
    return false;
  }
  end(): this {
    this.ended = true;
    return this;
  }
  writeHead(...args: unknown[]): this {
    this.heads.push(args);
    return this;
  }
  /** As Node's: 'close' comes on the next tick. */
  destroy(): void {
    this.destroyed = true;
    process.nextTick(() => this.emit('close'));
  }
  /** The client took everything: the buffer is empty, and says so. */
  drained(): void {
    this.writableLength = 0;
    this.emit('drain');
  }
}

const watchers: UnsentResponses[] = [];
/** How far the bound's clock is moved past the steady clock. */
let aheadMs = 0;
const clock = { ...steadyClock, now: () => steadyClock.now() + aheadMs };
afterEach(() => {
  for (const w of watchers.splice(0)) w.close();
  aheadMs = 0;
});

function setup(maxBytes: number, stalledMs = 60_000) {
  const unsent = new UnsentResponses({ maxBytes, stalledMs, clock });
  watchers.push(unsent);
  const watch = (caller = '') => {
    const res = new Response();
    unsent.watch(res as unknown as ServerResponse, () => caller);
    return res;
  };
  return { unsent, watch };
}

/** An SSE event carrying a tool result for `id` whose text is `size` characters. */
function answer(id: number, size: number): string {
  const text = 'x'.repeat(size);
  const result = { content: [{ type: 'text', text }], structuredContent: { ok: true, content: text } };
  return `event: message\ndata: ${JSON.stringify({ jsonrpc: '2.0', id, result })}\n\n`;
}

const refusedFor = (event: string | undefined) =>
  JSON.parse((event as string).slice('event: message\ndata: '.length)) as {
    id: number;
    result: { isError: boolean; structuredContent: { error: { code: string; message: string } } };
  };

it('holds an answer that does not fit beside what waits, and writes it, then its end, once room is made', () => {
  const { unsent, watch } = setup(1000);
  const first = watch();
  const second = watch();
  first.write(answer(1, 300));
  const progress = 'event: message\ndata: {"jsonrpc":"2.0","method":"notifications/progress"}\n\n';
  second.write(answer(2, 300));
  second.write(progress);
  second.end();
  // 1,000 bytes: the first waits (about 700), the second would take it past the bound.
  expect(second.written).toEqual([]);
  expect(second.ended).toBe(false);
  expect(unsent.heldBytes).toBeGreaterThan(700);
  // Nothing changed at a check: still held, nothing cut.
  unsent.check();
  expect([second.written.length, first.destroyed, second.destroyed]).toEqual([0, false, false]);
  first.drained();
  expect(second.written).toEqual([answer(2, 300), progress]);
  expect(second.ended).toBe(true);
  expect(unsent.heldBytes).toBe(0);
});

it('writes a held answer as its error for its id once it has waited `stalledMs`', () => {
  const { unsent, watch } = setup(1000, 5_000);
  const first = watch();
  const second = watch();
  first.write(answer(1, 300));
  second.write(answer(2, 300));
  unsent.check();
  expect(second.written).toEqual([]);
  aheadMs = 5_000;
  unsent.check();
  const refused = refusedFor(second.written[0]);
  expect(refused).toMatchObject({
    id: 2,
    result: { isError: true, structuredContent: { error: { code: 'INVALID_REQUEST' } } },
  });
  expect(refused.result.structuredContent.error.message).toMatch(
    /^Expected an answer to fit the 1000 bytes that may wait unsent over HTTP \(maxUnsentBytes\) beside the answers waiting for their clients, got 7\d\d: it was not sent; ask again once they are read, or for a shorter one \(max_tokens\)$/,
  );
  expect(unsent.heldBytes).toBe(0);
});

it('with held bytes at the bound, sends an answer that does not fit as its error at once', () => {
  const { unsent, watch } = setup(1000);
  const [first, second, third] = [watch(), watch(), watch()];
  first.write(answer(1, 300));
  second.write(answer(2, 300));
  third.write(answer(3, 300));
  expect(second.written).toEqual([]);
  expect(refusedFor(third.written[0])).toMatchObject({ id: 3, result: { isError: true } });
  // Held and waiting are each within the bound: the two answers in all, not the third.
  expect(unsent.heldBytes).toBe(Buffer.byteLength(answer(2, 300)));
});

it('drops what a response held when it closes', async () => {
  const { unsent, watch } = setup(1000);
  const first = watch();
  const second = watch();
  first.write(answer(1, 300));
  second.write(answer(2, 300));
  second.destroy();
  await new Promise((resolve) => process.nextTick(resolve));
  expect(unsent.heldBytes).toBe(0);
  first.drained();
  expect(second.written).toEqual([]);
});

it('cuts the response of a caller holding more to make room, as the check does, rather than hold', () => {
  const { unsent, watch } = setup(1000);
  const hog = watch('alice');
  hog.write(answer(1, 300));
  const bob = watch('bob');
  bob.write('x'.repeat(400));
  // Alice holds about 700 against Bob's 400: hers goes, his is written.
  expect(hog.destroyed).toBe(true);
  expect(bob.written).toHaveLength(1);
  expect(unsent.heldBytes).toBe(0);
});

it('sends an event stream without a length, so an answer in it can be rewritten', () => {
  const { watch } = setup(1000);
  const res = watch();
  const headers = { 'Content-Type': 'text/event-stream', 'Content-Length': '2097752', 'mcp-session-id': 's' };
  res.writeHead(200, headers);
  expect(res.heads).toEqual([[200, { 'Content-Type': 'text/event-stream', 'mcp-session-id': 's' }]]);
  const json = { 'content-type': 'application/json', 'content-length': '12' };
  res.writeHead(200, json);
  expect(res.heads[1]).toEqual([200, { 'content-type': 'application/json', 'content-length': '12' }]);
});

it('counts a caller’s held writes with its unsent bytes: one that reads nothing loses its response to another’s answer', async () => {
  const { unsent, watch } = setup(10_000);
  const alice = [watch('alice'), watch('alice')];
  alice[0]?.write(answer(1, 2400));
  alice[1]?.write(answer(2, 2900));
  // About 5,000 waiting and 6,000 held: Alice waits on 11,000.
  expect(alice[1]?.written).toEqual([]);
  const bob = watch('bob');
  bob.write(answer(3, 2700));
  // Bob's 5,600 would hold the most of the unsent bytes alone; with Alice's held bytes, she does.
  expect(alice[0]?.destroyed).toBe(true);
  expect(bob.written).toEqual([answer(3, 2700)]);
  await new Promise((resolve) => process.nextTick(resolve));
  // Alice's held answer still waits, and does not cut Bob's that is being read to go.
  unsent.check();
  expect([bob.destroyed, alice[1]?.written.length]).toEqual([false, 0]);
  bob.drained();
  expect(alice[1]?.written).toEqual([answer(2, 2900)]);
});

it('makes room in the held budget from a caller holding more: its held answer goes as its error, the other’s is held and sent', () => {
  const { unsent, watch } = setup(10_000);
  const carol = watch('carol');
  carol.write('x'.repeat(5000));
  const alice = watch('alice');
  alice.write(answer(1, 2900));
  // Alice's 6,000 do not fit beside Carol's 5,000, and are more: held.
  expect(alice.written).toEqual([]);
  const bob = watch('bob');
  bob.write(answer(2, 2700));
  // Bob's 5,600 do not fit either, nor beside Alice's held 6,000: hers, more, makes room.
  expect(bob.written).toEqual([]);
  expect(unsent.heldBytes).toBeLessThan(Buffer.byteLength(answer(2, 2700)) + 1000);
  carol.drained();
  expect(refusedFor(alice.written[0])).toMatchObject({
    id: 1,
    result: { isError: true, structuredContent: { error: { code: 'INVALID_REQUEST' } } },
  });
  const size = Buffer.byteLength(answer(1, 2900));
  expect(refusedFor(alice.written[0]).result.structuredContent.error.message).toContain(`, got ${size}: `);
  expect(bob.written).toEqual([answer(2, 2700)]);
  expect(unsent.heldBytes).toBe(0);
});

it('cuts off the response of a caller holding more when what it holds is no answer', () => {
  const { watch } = setup(10_000);
  const carol = watch('carol');
  carol.write('x'.repeat(5000));
  const alice = watch('alice');
  alice.write(`data: ${'y'.repeat(6000)}\n\n`);
  expect(alice.written).toEqual([]);
  const bob = watch('bob');
  bob.write(answer(2, 2700));
  expect(alice.destroyed).toBe(true);
  expect(bob.destroyed).toBe(false);
  carol.drained();
  expect(bob.written).toEqual([answer(2, 2700)]);
});

it('refuses the writer when no caller holding more holds anything: the one holding the most yields first', () => {
  const { watch } = setup(10_000);
  const carol = watch('carol');
  carol.write('x'.repeat(5000));
  const alice = watch('alice');
  alice.write(answer(1, 2900));
  const bob = watch('bob');
  bob.write(answer(2, 3000));
  // Bob would wait on 6,200, Alice on 6,000: his goes as its error, hers stays held.
  expect(refusedFor(bob.written[0])).toMatchObject({ id: 2, result: { isError: true } });
  carol.drained();
  expect(alice.written).toEqual([answer(1, 2900)]);
});

it('tries a held answer again without cutting anything: it waits for room, though another caller holds more', () => {
  const { unsent, watch } = setup(10_000);
  const carol = watch('carol');
  carol.write('x'.repeat(5000));
  const alice = watch('alice');
  alice.write(answer(1, 2900));
  expect(alice.written).toEqual([]);
  // Carol's client takes most of hers; then Bob's answer fits beside what is left.
  carol.writableLength = 1000;
  const bob = watch('bob');
  bob.write(answer(2, 3400));
  expect(bob.written).toHaveLength(1);
  // Bob waits on 6,900 against Alice's 5,900, but his client may well be reading it: it is not cut
  // for hers, which costs only a wait (a fresh write of Alice's would have cut it).
  unsent.check();
  expect([bob.destroyed, alice.written.length]).toEqual([false, 0]);
  bob.drained();
  carol.drained();
  expect(alice.written).toEqual([answer(1, 2900)]);
});

it('sends an answer refused to make room as it was refused, when it has waited `stalledMs` too', () => {
  const { unsent, watch } = setup(10_000, 5_000);
  const carol = watch('carol');
  carol.write('x'.repeat(5000));
  const alice = watch('alice');
  alice.write(answer(1, 2900));
  watch('bob').write(answer(2, 2700));
  aheadMs = 5_000;
  unsent.check();
  const size = Buffer.byteLength(answer(1, 2900));
  expect(refusedFor(alice.written[0]).result.structuredContent.error.message).toContain(`, got ${size}: `);
});

it('keeps a small unsent response of the caller waiting on the most when cutting it would free too little: the next caller’s alone makes room', () => {
  const { unsent, watch } = setup(25_000);
  const alice = [watch('alice'), watch('alice')];
  alice[0]?.write('x'.repeat(5000));
  const carol = watch('carol');
  carol.write('x'.repeat(16_000));
  // About 12,000 held: Alice waits on 17,000, more than Carol's 16,000.
  alice[1]?.write(answer(1, 5900));
  expect(alice[1]?.written).toEqual([]);
  const bob = watch('bob');
  bob.write('x'.repeat(12_000));
  // 33,000 would wait: Alice's 5,000 alone leaves 28,000, so Carol's goes too, and that alone is
  // enough. Until 2026-12-07 Alice's went as well, for nothing.
  expect([alice[0]?.destroyed, carol.destroyed, bob.destroyed]).toEqual([false, true, false]);
  expect(bob.written).toHaveLength(1);
  expect(unsent.unsentBytes).toBe(17_000);
  alice[0]?.drained();
  expect(alice[1]?.written).toEqual([answer(1, 5900)]);
});

it('gives up only the held answers that room needs: a small one held longest stays when the next frees enough', async () => {
  const { unsent, watch } = setup(20_000);
  const first = watch('alice');
  first.write('x'.repeat(19_000));
  const [small, large] = [watch('alice'), watch('alice')];
  small.write(answer(1, 700));
  large.write(answer(2, 5900));
  expect(unsent.heldBytes).toBe(Buffer.byteLength(answer(1, 700)) + Buffer.byteLength(answer(2, 5900)));
  // Alice's client takes the first (no drain yet: what she holds stays held); Carol's then waits.
  first.writableLength = 0;
  const carol = watch('carol');
  carol.write('x'.repeat(11_000));
  const bob = watch('bob');
  bob.write(answer(3, 5900));
  // Bob's 12,000 are held, for room only Alice's large answer gives. Until 2026-12-07 her small one,
  // held longest, was refused first, though it freed about 1,000.
  carol.drained();
  expect(small.written).toEqual([answer(1, 700)]);
  expect(refusedFor(large.written[0])).toMatchObject({ id: 2, result: { isError: true } });
  expect(bob.written).toEqual([answer(3, 5900)]);
});

it('gives up nothing when room cannot be made: the writer alone is refused', () => {
  const { watch } = setup(10_000);
  const carol = watch('carol');
  carol.write('x'.repeat(5000));
  const alice = [watch('alice'), watch('alice')];
  alice[0]?.write('x'.repeat(4000));
  const dave = watch('dave');
  dave.write(answer(1, 2700));
  // Dave's 5,500 do not fit beside the 9,000 waiting, and are the most: held. So are Alice's 2,900.
  alice[1]?.write(answer(2, 1400));
  expect([dave.written, alice[1]?.written]).toEqual([[], []]);
  const bob = watch('bob');
  bob.write(answer(3, 2900));
  // Bob's 5,900 need 4,300 of the held budget: Alice, waiting on 6,900, gives about 2,500 at most,
  // and Dave waits on less than Bob. Until 2026-12-07 her answer went as its error all the same.
  expect(refusedFor(bob.written[0])).toMatchObject({ id: 3, result: { isError: true } });
  expect([alice[0]?.destroyed, carol.destroyed]).toEqual([false, false]);
  carol.drained();
  alice[0]?.drained();
  expect(alice[1]?.written).toEqual([answer(2, 1400)]);
  expect(dave.written).toEqual([answer(1, 2700)]);
});

it('sends a held answer as its error at `stalledMs` behind a client still reading slowly, and leaves that client’s answer whole', () => {
  const { unsent, watch } = setup(10_000, 5_000);
  const reader = watch('bob');
  reader.write('x'.repeat(4500));
  const alice = watch('alice');
  alice.write(answer(1, 2900));
  // Her 5,900 are more than his 4,500: held, rather than his cut.
  expect(alice.written.length).toBe(0);
  // Bob takes 60 bytes a second: never stalled, but 430 more are not free until after 7 s.
  for (let s = 1; s <= 5; s++) {
    aheadMs = s * 1000;
    reader.writableLength = 4500 - s * 60;
    unsent.check();
    if (s < 5) expect([s, alice.written.length]).toEqual([s, 0]);
  }
  expect(refusedFor(alice.written[0])).toMatchObject({ id: 1, result: { isError: true } });
  expect(reader.destroyed).toBe(false);
  expect(unsent.heldBytes).toBe(0);
});
