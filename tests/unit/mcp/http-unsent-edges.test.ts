/**
 * The unsent-bytes bound's edges, each on a clock the test moves and with the checks called by hand
 * (timers faked: the bound's own check every second runs only where a test says): its defaults, the
 * stall's limit to the millisecond, a client reading slowly (its buffer or its socket's handed-off
 * write going down), exactly `maxBytes` waiting, ties between callers, and what `fits` reads.
 */
import { EventEmitter } from 'node:events';
import type { ServerResponse } from 'node:http';
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { steadyClock } from '../../../src/core/clock.js';
import { UnsentResponses } from '../../../src/mcp/http-unsent.js';

/** A response as the bound reads it; `reads` counts how often its unsent bytes were read. */
class Response extends EventEmitter {
  destroyed = false;
  socket: { _handle: { writeQueueSize?: unknown } | null } | null = null;
  reads = 0;
  #unsent: number;
  constructor(
    readonly name: string,
    unsent: number,
  ) {
    super();
    this.#unsent = unsent;
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
    this.#unsent += Buffer.byteLength(chunk);
    return false;
  }
  destroy(): void {
    this.destroyed = true;
    this.emit('close');
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

function setup(maxBytes: number, stalledMs = 5_000) {
  const unsent = new UnsentResponses({ maxBytes, stalledMs, clock });
  watchers.push(unsent);
  const watch = (caller: string, name: string, bytes: number) => {
    const res = new Response(name, bytes);
    unsent.watch(res as unknown as ServerResponse, () => caller);
    return res;
  };
  return { unsent, watch };
}

const cut = (...all: Response[]) => all.filter((r) => r.destroyed).map((r) => r.name);

/** Checks at `at`. */
function checkAt(unsent: UnsentResponses, at: number): void {
  now = at;
  unsent.check();
}

it('defaults to 64 MiB waiting unsent, a 30 s stall and the steady clock', () => {
  const unsent = new UnsentResponses();
  watchers.push(unsent);
  expect([unsent.maxBytes, unsent.stalledMs, unsent.clock]).toEqual([64 * 1024 * 1024, 30_000, steadyClock]);
});

it('checks on its own every second, and no more once closed', () => {
  const { unsent, watch } = setup(10);
  const bob = watch('bob', 'bob', 8);
  const alice = watch('alice', 'alice', 4);
  vi.advanceTimersByTime(999);
  expect(cut(bob, alice)).toEqual([]);
  vi.advanceTimersByTime(1);
  expect(cut(bob, alice)).toEqual(['bob']);
  unsent.close();
  alice.writableLength = 40;
  vi.advanceTimersByTime(5_000);
  expect(cut(bob, alice)).toEqual(['bob']);
});

it('counts each caller’s unsent bytes (a response watched without a caller is no one’s, ``), and forgets a closed response', () => {
  const { unsent, watch } = setup(100);
  const anonymous = new Response('anonymous', 3);
  unsent.watch(anonymous as unknown as ServerResponse);
  const first = watch('alice', 'alice 1', 4);
  watch('alice', 'alice 2', 5);
  watch('bob', 'bob', 0);
  expect(unsent.unsentByCaller()).toEqual(
    new Map([
      ['', 3],
      ['alice', 9],
    ]),
  );
  first.destroy();
  expect(unsent.unsentBytes).toBe(8);
  expect(unsent.unsentByCaller().get('alice')).toBe(5);
});

it('cuts a response whose client took nothing for exactly `stalledMs`, not a millisecond before', () => {
  const { unsent, watch } = setup(1000);
  const res = watch('', 'stalled', 10);
  checkAt(unsent, 0);
  checkAt(unsent, 4_999);
  expect(res.destroyed).toBe(false);
  checkAt(unsent, 5_000);
  expect(res.destroyed).toBe(true);
});

it('never cuts a response with nothing unsent, and starts the wait afresh once its client took everything', () => {
  const { unsent, watch } = setup(1000);
  const res = watch('', 'idle', 0);
  for (const at of [0, 3_000, 6_000, 9_000]) checkAt(unsent, at);
  expect(res.destroyed).toBe(false);
  res.writableLength = 10;
  checkAt(unsent, 9_500);
  res.writableLength = 0;
  checkAt(unsent, 12_000);
  res.writableLength = 10;
  checkAt(unsent, 13_000);
  // 8,500 ms since bytes first waited, but 4,000 since the client took them all.
  checkAt(unsent, 17_000);
  expect(res.destroyed).toBe(false);
  checkAt(unsent, 18_000);
  expect(res.destroyed).toBe(true);
});

it('takes fewer bytes waiting at each check as a client reading, for as long as it reads', () => {
  const { unsent, watch } = setup(10_000);
  const res = watch('', 'slow', 1000);
  for (let at = 0; at <= 12_000; at += 2_000) {
    res.writableLength = 1000 - at / 100;
    checkAt(unsent, at);
  }
  expect(res.destroyed).toBe(false);
  // Then it stops reading.
  checkAt(unsent, 16_999);
  expect(res.destroyed).toBe(false);
  checkAt(unsent, 17_000);
  expect(res.destroyed).toBe(true);
});

it('takes a socket’s handed-off write going down as a client reading, its buffer unchanged; a handle that says nothing has nothing left', () => {
  const { unsent, watch } = setup(100_000);
  const res = watch('', 'large write', 50_000);
  const handle: { writeQueueSize?: unknown } = { writeQueueSize: 50_000 };
  res.socket = { _handle: handle };
  for (let at = 0; at <= 12_000; at += 2_000) {
    handle.writeQueueSize = 50_000 - at;
    checkAt(unsent, at);
  }
  expect(res.destroyed).toBe(false);
  // No size said (the handle going): nothing left there, fewer than before.
  handle.writeQueueSize = undefined;
  checkAt(unsent, 16_000);
  checkAt(unsent, 20_999);
  expect(res.destroyed).toBe(false);
  checkAt(unsent, 21_000);
  expect(res.destroyed).toBe(true);
});

it('lets exactly `maxBytes` wait, and stops cutting once the total is at the bound', () => {
  const { unsent, watch } = setup(10);
  const at = [watch('', 'three', 3), watch('', 'seven', 7)];
  unsent.check();
  expect(cut(...at)).toEqual([]);
  const more = watch('', 'three more', 3);
  unsent.check();
  expect(cut(...at, more)).toEqual(['three']);
  expect(unsent.unsentBytes).toBe(10);
});

it('cuts the caller holding the most when it is not the last to wait, and a byte each is enough to weigh', () => {
  const { unsent, watch } = setup(10);
  const bob = watch('bob', 'bob', 8);
  const alice = watch('alice', 'alice', 3);
  unsent.check();
  expect(cut(bob, alice)).toEqual(['bob']);
  const tiny = setup(1);
  const bytes = [tiny.watch('carol', 'carol 1', 1), tiny.watch('carol', 'carol 2', 1)];
  tiny.unsent.check();
  expect(cut(...bytes)).toEqual(['carol 1']);
});

it('on a tie between callers, cuts the one whose response waits longest, whichever was watched first', () => {
  const { unsent, watch } = setup(10);
  const alice = watch('alice', 'alice', 0);
  const bob = watch('bob', 'bob', 6);
  checkAt(unsent, 0);
  alice.writableLength = 6;
  checkAt(unsent, 1_000);
  expect(cut(alice, bob)).toEqual(['bob']);
  // The anonymous caller too: until 2026-12-08 it lost every tie.
  const other = setup(10);
  const anonymous = other.watch('', 'anonymous', 0);
  const carol = other.watch('carol', 'carol', 6);
  checkAt(other.unsent, 2_000);
  anonymous.writableLength = 6;
  checkAt(other.unsent, 3_000);
  expect(cut(anonymous, carol)).toEqual(['carol']);
});

it('weighs a write against the responses as the check does: the longest waiting of the caller holding the most goes', () => {
  const { unsent, watch } = setup(10);
  const early = watch('alice', 'alice early', 0);
  const late = watch('alice', 'alice late', 4);
  checkAt(unsent, 0);
  now = 1_000;
  (early as unknown as ServerResponse).write('x'.repeat(4));
  const bob = watch('bob', 'bob', 0);
  (bob as unknown as ServerResponse).write('x'.repeat(3));
  // 11 with Bob's 3: Alice holds 8; her response waiting since 0 goes, not the one since 1,000.
  expect(cut(early, late, bob)).toEqual(['alice late']);
  expect(bob.writableLength).toBe(3);
});

it('reads no response while every write since the last look fits', () => {
  const { watch } = setup(100);
  const responses = [watch('alice', 'alice', 0), watch('bob', 'bob', 0)];
  for (const res of responses) res.reads = 0;
  (responses[0] as unknown as ServerResponse).write('x'.repeat(60));
  (responses[1] as unknown as ServerResponse).write('x'.repeat(40));
  // Exactly the bound: still nothing read.
  expect(responses.map((r) => r.reads)).toEqual([0, 0]);
  expect(responses.map((r) => r.writableLength)).toEqual([60, 40]);
});

it('takes a write to a response that has closed, or after the bound closed, and cuts nothing for it', () => {
  const { unsent, watch } = setup(10);
  const bob = watch('bob', 'bob', 0);
  (bob as unknown as ServerResponse).write('x'.repeat(7));
  const gone = watch('', 'gone', 0);
  (gone as unknown as ServerResponse).write('x'.repeat(3));
  gone.destroy();
  // 11 with these 4 (the closed response's own 3 are no longer counted), but they wait for no
  // client: until 2026-12-08 they were the anonymous caller's, and Bob's response was cut for them.
  (gone as unknown as ServerResponse).write('x'.repeat(4));
  expect(cut(bob)).toEqual([]);
  expect(gone.writableLength).toBe(7);
  unsent.close();
  (bob as unknown as ServerResponse).write('x'.repeat(8));
  expect([bob.destroyed, bob.writableLength]).toEqual([false, 15]);
});

it('weighs a caller with no response left to cut as nothing more: the next cut is another caller’s longest waiting', () => {
  const { unsent, watch } = setup(100);
  const small = Array.from({ length: 10 }, (_, i) => watch(`small ${i}`, `small ${i}`, 0));
  for (const res of small) (res as unknown as ServerResponse).write('x'.repeat(8));
  const alice = watch('alice', 'alice', 0);
  (alice as unknown as ServerResponse).write('x'.repeat(20));
  const holding = watch('alice', 'alice holding', 0);
  (holding as unknown as ServerResponse).write('x'.repeat(50));
  expect(unsent.heldBytes).toBe(50);
  // Bytes the writes did not bring: 130 wait. Alice weighs 70 and loses her response; her 50 held
  // are on none that waits, so the next cut is the first small one's, not the last's.
  for (const res of small) res.writableLength = 11;
  unsent.check();
  expect(cut(alice, holding, ...small)).toEqual(['alice', 'small 0']);
});

it('weighs a write against the responses with bytes waiting only, not those that hold writes and wait on none', () => {
  const { watch } = setup(100);
  const holding = watch('alice', 'alice holding', 0);
  const bob = watch('bob', 'bob', 0);
  (bob as unknown as ServerResponse).write('x'.repeat(40));
  const alice = watch('alice', 'alice', 0);
  (alice as unknown as ServerResponse).write('x'.repeat(30));
  (holding as unknown as ServerResponse).write('x'.repeat(50));
  // Carol's 35 make 105: Alice weighs 80 (30 waiting, 50 held) and her waiting response goes.
  const carol = watch('carol', 'carol', 0);
  (carol as unknown as ServerResponse).write('x'.repeat(35));
  expect(cut(holding, bob, alice, carol)).toEqual(['alice']);
});
