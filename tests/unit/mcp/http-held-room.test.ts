/**
 * The held budget's edges (`http-held.ts`), on stand-in responses with the bound's checks called by
 * hand and its clock moved by the test (timers faked: no check runs unless a test says): a write of
 * exactly the bound, one over it by itself, a held write tried again, a response that cannot go on
 * within the bounds, and which held writes give room, how many, and in what order.
 */
import { EventEmitter } from 'node:events';
import type { ServerResponse } from 'node:http';
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { steadyClock } from '../../../src/core/clock.js';
import { UnsentResponses } from '../../../src/mcp/http-unsent.js';

/** A response as the bound reads it; `reads` counts how often its unsent bytes were read. */
class Response extends EventEmitter {
  readonly socket = null;
  reads = 0;
  #unsent = 0;
  readonly written: string[] = [];
  ends = 0;
  destroyed = false;
  _header = 'HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n\r\n';
  readonly heads: unknown[][] = [];
  constructor(readonly name: string) {
    super();
  }
  get writableLength(): number {
    this.reads++;
    return this.#unsent;
  }
  set writableLength(bytes: number) {
    this.#unsent = bytes;
  }
  /** Nothing goes out: what is written waits. */
  write(chunk: string): boolean {
    this.written.push(chunk);
    this.#unsent += Buffer.byteLength(chunk);
    return false;
  }
  end(): this {
    this.ends++;
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
  /** The client took everything. */
  drained(): void {
    this.writableLength = 0;
    this.emit('drain');
  }
}

/** A client that takes each write at once: its buffer empties, and says so, within the write. */
class Taking extends Response {
  override write(chunk: string): boolean {
    super.write(chunk);
    this.drained();
    return true;
  }
}

let now = 0;
const clock = { ...steadyClock, now: () => now };
const watchers: UnsentResponses[] = [];
beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
});
afterEach(() => {
  for (const w of watchers.splice(0)) w.close();
  vi.useRealTimers();
  now = 0;
});

function setup(maxBytes: number, stalledMs = 60_000) {
  const unsent = new UnsentResponses({ maxBytes, stalledMs, clock });
  watchers.push(unsent);
  const watch = (caller: string, name = caller, res = new Response(name)) => {
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

const bytes = (chunk: string) => Buffer.byteLength(chunk);
const raw = (size: number) => 'x'.repeat(size);
const destroyed = (...all: Response[]) => all.filter((r) => r.destroyed).map((r) => r.name);

function errorOf(event: string | undefined): { id: number; message: string } | undefined {
  const message = JSON.parse((event as string).slice('event: message\ndata: '.length)) as {
    id: number;
    result: { isError?: boolean; structuredContent: { error?: { message: string } } };
  };
  const error = message.result.structuredContent.error;
  return message.result.isError === true && error !== undefined
    ? { id: message.id, message: error.message }
    : undefined;
}

it('writes a write of exactly `maxBytes` at once when nothing waits', () => {
  const { unsent, watch } = setup(1000);
  const res = watch('alice');
  res.write(raw(1000));
  expect(res.written).toEqual([raw(1000)]);
  expect(unsent.heldBytes).toBe(0);
});

it('sends an answer over the bound by itself as its error at once, saying so, and weighs nothing else for it', () => {
  const { unsent, watch } = setup(1000);
  const carol = watch('carol');
  // More than the bound waits (bytes the writes did not bring, a head): the next check's to cut.
  carol.writableLength = 1500;
  const alice = watch('alice');
  alice.write(answer(1, 1100));
  expect(errorOf(alice.written[0])?.message).toMatch(
    /^Expected an answer of at most 1000 bytes waiting unsent over HTTP \(maxUnsentBytes\), got \d+: /,
  );
  expect([carol.destroyed, unsent.heldBytes]).toEqual([false, 0]);
});

it('writes what is no answer as it is when it cannot be held, over the bound by itself or not', () => {
  const { watch } = setup(1000);
  const alice = watch('alice');
  alice.write(raw(1200));
  expect(alice.written).toEqual([raw(1200)]);
});

it('cuts off a response holding writes when its next cannot be held behind them', () => {
  const { unsent, watch } = setup(1000);
  watch('alice', 'first').write(raw(800));
  const second = watch('alice', 'second');
  second.write(raw(300));
  expect([second.written, unsent.heldBytes]).toEqual([[], 300]);
  second.write(raw(800));
  expect(destroyed(second)).toEqual(['second']);
  expect(second.written).toEqual([]);
});

it('ends a response once, its held writes written, when its client takes each write within it', () => {
  const { watch } = setup(1000);
  const first = watch('alice');
  first.write(raw(800));
  const taking = watch('alice', 'taking', new Taking('taking'));
  taking.write(raw(300));
  taking.write(raw(100));
  taking.end();
  expect(taking.written).toEqual([]);
  first.drained();
  expect(taking.written).toEqual([raw(300), raw(100)]);
  expect(taking.ends).toBe(1);
});

it('tries a held write again without cutting a response being read, though its caller now waits on less', () => {
  const { unsent, watch } = setup(10_000);
  // Callers with a little each, and Alice, who waits on the most, whose write is held.
  const small = ['c', 'd', 'e'].map((c) => watch(c));
  for (const res of small) res.write(raw(2000));
  const alice = watch('alice');
  alice.write(raw(3500));
  const held = watch('alice', 'alice held');
  held.write(raw(1000));
  expect(held.written).toEqual([]);
  // Alice's client takes hers; Bob's 4,000 then fit beside the 6,000 others.
  alice.writableLength = 0;
  const bob = watch('bob');
  bob.write(raw(4000));
  expect(bob.written).toHaveLength(1);
  // At the check Alice's 1,000 would wait beside 10,000, and Bob's 4,000 are the most: his client
  // may be reading them, and hers only waits.
  unsent.check();
  expect(destroyed(bob, held, ...small)).toEqual([]);
  expect(held.written).toEqual([]);
  small[0]?.drained();
  expect(held.written).toEqual([raw(1000)]);
});

it('writes a held write tried again when it brings the total to exactly `maxBytes`', () => {
  const { unsent, watch } = setup(10_000);
  const first = watch('alice');
  first.write(raw(8000));
  const held = watch('alice', 'held');
  held.write(raw(3000));
  expect(held.written).toEqual([]);
  first.writableLength = 7000;
  unsent.check();
  expect(held.written).toEqual([raw(3000)]);
});

it('reads no response for a write that fits after a held write was tried again and waits', () => {
  const { unsent, watch } = setup(10_000);
  const first = watch('alice');
  first.write(raw(8000));
  const held = watch('alice', 'held');
  held.write(raw(3000));
  unsent.check();
  expect(held.written).toEqual([]);
  const bob = watch('bob');
  first.reads = 0;
  // 8,000 wait: 2,000 more fit, and nothing need be read to know it.
  bob.write(raw(2000));
  expect([first.reads, bob.written.length]).toEqual([0, 1]);
});

it('sends an answer of exactly `maxBytes` that has to wait and cannot be held as its error, beside the others', () => {
  const max = bytes(answer(2, 900));
  const { unsent, watch } = setup(max);
  for (let i = 0; i < 10; i++) watch(`small ${i}`).write(raw(Math.floor(max / 11)));
  watch('alice').write(raw(300));
  expect(unsent.heldBytes).toBe(300);
  const bob = watch('bob');
  bob.write(answer(2, 900));
  expect(errorOf(bob.written[0])?.message).toMatch(
    new RegExp(
      `^Expected an answer to fit the ${max} bytes that may wait unsent over HTTP \\(maxUnsentBytes\\) beside the answers waiting for their clients, got ${max}: `,
    ),
  );
});

it('gives up only the held writes room needs, and keeps one chosen early that the later ones made room for', () => {
  const { unsent, watch } = setup(10_000);
  const small = [watch('carol'), watch('dave'), watch('erin')];
  small[0]?.write(raw(2500));
  small[1]?.write(raw(2500));
  small[2]?.write(raw(1000));
  const first = watch('alice', 'alice first');
  first.write(raw(4000));
  // Alice waits on the most: each of her writes is held, one a response, longest first.
  const held = [1000, 3000, 2000, 4000].map((size, i) => {
    now = i + 1;
    const res = watch('alice', `alice ${size}`);
    res.write(raw(size));
    return res;
  });
  expect(unsent.heldBytes).toBe(10_000);
  // Her client takes her first; Bob's 5,000 wait on less than her 10,000 held and need 5,000 of
  // them: her 1,000, 3,000 and 2,000, held longest, are chosen, and the last two make room alone.
  first.writableLength = 0;
  now = 5;
  const bob = watch('bob');
  bob.write(raw(5000));
  expect(destroyed(...held)).toEqual(['alice 3000', 'alice 2000']);
  expect(unsent.heldBytes).toBe(10_000);
});

it('takes room from the caller waiting on the most each time: one that gave enough to wait on less gives no more', () => {
  const { unsent, watch } = setup(10_000);
  // Ten callers with 950 each; Alice and Carol, each waiting on more, are held.
  const small = Array.from({ length: 10 }, (_, i) => watch(`small ${i}`));
  for (const res of small) res.write(raw(950));
  const writes: [string, number][] = [
    ['alice', 1000],
    ['alice', 4000],
    ['carol', 4500],
  ];
  const held = writes.map(([caller, size], i) => {
    now = i + 1;
    const res = watch(caller, `${caller} ${size}`);
    res.write(raw(size));
    return res;
  });
  expect(unsent.heldBytes).toBe(9500);
  // Bob's 3,000 need 2,500: Alice (5,000) gives her 1,000, then waits on 4,000, less than Carol's
  // 4,500, who gives hers; Alice's 1,000 then stays, not needed.
  now = 4;
  const bob = watch('bob');
  bob.write(raw(3000));
  expect(destroyed(...held)).toEqual(['carol 4500']);
  expect(unsent.heldBytes).toBe(8000);
});

it('sends an event stream without a length whatever its charset, and leaves any other head’s length, whatever its fields say', () => {
  const { watch } = setup(1000);
  const res = watch('alice');
  res.writeHead(200, 'OK', { 'content-type': 'text/event-stream; charset=utf-8', 'content-length': '9' });
  expect(res.heads[0]).toEqual([200, 'OK', { 'content-type': 'text/event-stream; charset=utf-8' }]);
  const json = {
    'content-type': 'application/json',
    'x-format': 'text/event-stream',
    'content-length': '12',
  };
  res.writeHead(200, json);
  expect(res.heads[1]).toEqual([
    200,
    { 'content-type': 'application/json', 'x-format': 'text/event-stream', 'content-length': '12' },
  ]);
  res.writeHead(204, null);
  expect(res.heads[2]).toEqual([204, null]);
});

it('leaves an answer held too long as it is under a head that declared its length', () => {
  const { unsent, watch } = setup(1000, 5_000);
  watch('alice').write(raw(900));
  const json = watch('alice', 'json');
  json._header = 'HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n';
  const body = JSON.stringify({
    jsonrpc: '2.0',
    id: 1,
    result: { content: [{ type: 'text', text: 'x'.repeat(300) }] },
  });
  json.write(body);
  expect(json.written).toEqual([]);
  checkAt(unsent, 5_000);
  expect(json.written).toEqual([body]);
});

function checkAt(unsent: UnsentResponses, at: number): void {
  now = at;
  unsent.check();
}

it('takes a cut response’s held writes off its caller’s weight: the next cut is the caller holding the most then', () => {
  const { unsent, watch } = setup(100);
  const older = watch('alice', 'alice older');
  older.write(raw(10));
  const other = watch('alice', 'alice other');
  other.write(raw(45));
  const bob = watch('bob');
  bob.write(raw(40));
  // Alice waits on 95 with these 40: held, behind nothing, on her older response.
  older.write(raw(40));
  expect(unsent.heldBytes).toBe(40);
  bob.writableLength = 60;
  // 115 unsent: Alice weighs 95 and loses her older response (10, and the 40 it holds); then Bob,
  // with 60 against her 45, loses his, and her older one, 10, fits again.
  unsent.check();
  expect(destroyed(older, other, bob)).toEqual(['bob']);
});

it('writes a held write tried again at a close when it brings the total to exactly `maxBytes`', async () => {
  const { unsent, watch } = setup(10_000);
  const first = watch('alice');
  first.write(raw(8000));
  const held = watch('alice', 'held');
  held.write(raw(3000));
  // Bob's 500 are written, then taken, and his response closes: the held write is tried then.
  const bob = watch('bob');
  bob.write(raw(500));
  first.writableLength = 7000;
  bob.writableLength = 0;
  bob.destroy();
  await new Promise((resolve) => process.nextTick(resolve));
  expect(held.written).toEqual([raw(3000)]);
  expect(unsent.heldBytes).toBe(0);
});

it('writes a write whose caller held the most once another caller’s response is cut and leaves room for it', () => {
  const { watch } = setup(10);
  const bob = watch('bob');
  bob.write(raw(7));
  const carol = watch('carol');
  carol.write(raw(3));
  // Bytes the writes did not bring (a head, an `end` with data): 15 wait.
  carol.writableLength = 8;
  const more = watch('bob', 'bob more');
  more.write(raw(3));
  // Bob weighs 10 and his 3 go first, then Carol's 8: 7 wait, and his 3 fit again, exactly.
  expect(destroyed(bob, carol, more)).toEqual(['carol']);
  expect(more.written).toEqual([raw(3)]);
});

function heldBy(watch: ReturnType<typeof setup>['watch'], writes: [string, number][]): Response[] {
  return writes.map(([caller, size], i) => {
    now = i + 1;
    const res = watch(caller, `${caller} ${size}`);
    res.write(raw(size));
    return res;
  });
}

it('takes room from the caller waiting on the most, not from the last found waiting on more than the writer', () => {
  const { unsent, watch } = setup(10_000);
  for (let i = 0; i < 10; i++) watch(`small ${i}`).write(raw(950));
  const held = heldBy(watch, [
    ['carol', 4500],
    ['alice', 1000],
    ['alice', 4000],
  ]);
  expect(unsent.heldBytes).toBe(9500);
  now = 4;
  watch('bob').write(raw(3000));
  expect(destroyed(...held)).toEqual(['carol 4500']);
});

it('on a tie between callers waiting on more than the writer, takes room from the one found first', () => {
  const { unsent, watch } = setup(10_000);
  for (let i = 0; i < 10; i++) watch(`small ${i}`).write(raw(950));
  const held = heldBy(watch, [
    ['alice', 4500],
    ['carol', 4500],
  ]);
  expect(unsent.heldBytes).toBe(9000);
  now = 3;
  watch('bob').write(raw(3000));
  expect(destroyed(...held)).toEqual(['alice 4500']);
});

it('takes room from a caller’s answer held longest, across its responses', () => {
  const { watch } = setup(20_000);
  const small = Array.from({ length: 10 }, (_, i) => watch(`small ${i}`));
  for (const res of small) res.write(raw(1900));
  // Alice's answers 1 and 3 on one response, 2 on another, held in the order of their ids.
  const [one, two] = [watch('alice', 'one'), watch('alice', 'two')];
  now = 1;
  one.write(answer(1, 1500));
  now = 2;
  two.write(answer(2, 3200));
  now = 3;
  one.write(answer(3, 3200));
  expect([one.written, two.written]).toEqual([[], []]);
  // Bob's 8,000 need about 4,200 of the held budget: answer 1, then answer 2, held before 3.
  now = 4;
  watch('bob').write(raw(8000));
  for (const res of small) res.drained();
  expect(errorOf(two.written[0])?.id).toBe(2);
  expect(one.written).toEqual([answer(1, 1500), answer(3, 3200)]);
});

it('stops giving up held writes once room is made exactly', () => {
  const { unsent, watch } = setup(10_000);
  const small = [watch('carol'), watch('dave'), watch('erin')];
  small[0]?.write(raw(2500));
  small[1]?.write(raw(2500));
  small[2]?.write(raw(1000));
  const first = watch('alice', 'alice first');
  first.write(raw(4000));
  const held = heldBy(watch, [
    ['alice', 1000],
    ['alice', 4000],
    ['alice', 2000],
    ['alice', 3000],
  ]);
  first.writableLength = 0;
  now = 5;
  const bob = watch('bob');
  bob.write(raw(5000));
  // Her 1,000 and 4,000 make the 5,000 exactly; she then waits on no more than Bob would.
  expect(destroyed(...held)).toEqual(['alice 1000', 'alice 4000']);
  expect([bob.written, unsent.heldBytes]).toEqual([[], 10_000]);
});

it('cuts off the writer’s response when the caller waiting on more has given all it holds and room is still short', () => {
  const { unsent, watch } = setup(10_000);
  // Bob's response holds 4,000 (his client then took the 7,000 ahead of them).
  const ahead = watch('bob', 'bob ahead');
  ahead.write(raw(7000));
  const bob = watch('bob');
  bob.write(raw(4000));
  ahead.writableLength = 0;
  // Alice waits on 9,500 and holds an answer.
  watch('alice', 'alice waiting').write(raw(9500));
  const alice = watch('alice');
  alice.write(answer(1, 1450));
  expect(unsent.heldBytes).toBe(4000 + bytes(answer(1, 1450)));
  // Bob's 5,800 more need about 2,800 of the held budget: Alice's answer as its error gives less,
  // and she has no more. Nothing of hers is given up; Bob's response cannot go on.
  bob.write(raw(5800));
  expect(destroyed(alice, bob)).toEqual(['bob']);
  expect(alice.written).toEqual([]);
});
