/**
 * The unsent-bytes bound between callers: past `maxBytes`, the caller holding the most unsent bytes
 * loses its response waiting longest, and only as many as bring the total under the bound. Before
 * 2026-12-04 the response waiting longest went whoever held the most. Responses are stand-ins with
 * what the check reads (`writableLength`, `destroy`, `once('close')`); each check is called by hand.
 */
import { EventEmitter } from 'node:events';
import type { ServerResponse } from 'node:http';
import { afterEach, expect, it } from 'vitest';
import { UnsentResponses } from '../../../src/mcp/http-unsent.js';

class Response extends EventEmitter {
  destroyed = false;
  readonly socket = null;
  constructor(
    readonly name: string,
    public writableLength: number,
  ) {
    super();
  }
  destroy(): void {
    this.destroyed = true;
    this.emit('close');
  }
}

const watchers: UnsentResponses[] = [];
afterEach(() => {
  for (const w of watchers.splice(0)) w.close();
});

function setup(maxBytes: number) {
  const unsent = new UnsentResponses({ maxBytes, stalledMs: 60_000 });
  watchers.push(unsent);
  const watch = (caller: string, name: string, bytes: number) => {
    const res = new Response(name, bytes);
    unsent.watch(res as unknown as ServerResponse, () => caller);
    return res;
  };
  return { unsent, watch };
}

const cut = (...all: Response[]) => all.filter((r) => r.destroyed).map((r) => r.name);

it('cuts the largest holder’s oldest response, not the oldest of all', () => {
  const { unsent, watch } = setup(14);
  const bob = watch('bob', 'bob 7', 7);
  const alice = watch('alice', 'alice 12', 12);
  unsent.check();
  expect(cut(bob, alice)).toEqual(['alice 12']);
});

it('cuts only as many as bring the total under the bound, each time from whoever holds the most then', () => {
  const { unsent, watch } = setup(9);
  const b1 = watch('bob', 'bob 1', 3);
  const a1 = watch('alice', 'alice 1', 6);
  const a2 = watch('alice', 'alice 2', 4);
  const c1 = watch('carol', 'carol 1', 5);
  // 18 in all: Alice holds 10 and loses her oldest (12 left); then Carol holds the most (5): 7 left.
  unsent.check();
  expect(cut(b1, a1, a2, c1)).toEqual(['alice 1', 'carol 1']);
  // Under the bound now: nothing more goes.
  unsent.check();
  expect(cut(b1, a1, a2, c1)).toEqual(['alice 1', 'carol 1']);
});

it('with one caller, cuts its responses oldest first, as before; a response with nothing unsent counts for nothing', () => {
  const { unsent, watch } = setup(10);
  const first = watch('', 'first', 8);
  const idle = watch('', 'idle', 0);
  const second = watch('', 'second', 8);
  unsent.check();
  expect(cut(first, idle, second)).toEqual(['first']);
});

it('reads whose a response is at each check (known once its request is authenticated)', () => {
  const { unsent, watch } = setup(10);
  const other = watch('bob', 'bob', 5);
  let owner = 'anonymous';
  const early = new Response('early', 4);
  unsent.watch(early as unknown as ServerResponse, () => owner);
  owner = 'alice';
  const more = watch('alice', 'alice', 4);
  // Alice holds 8 (the early response is hers by now), Bob 5: her oldest goes, not Bob's older one.
  unsent.check();
  expect(cut(other, early, more)).toEqual(['early']);
});

it('cuts no response the bound did not need: a small one of the largest holder, chosen first, stays when its next frees enough alone', () => {
  const { unsent, watch } = setup(10);
  const small = watch('alice', 'alice small', 1);
  const large = watch('alice', 'alice large', 6);
  const bob = watch('bob', 'bob', 5);
  // 12 in all: Alice holds 7 and her oldest goes first, but 11 is still over; her 6 then brings it
  // to 5, with room for the 1 again. Until 2026-12-07 both of hers went.
  unsent.check();
  expect(cut(small, large, bob)).toEqual(['alice large']);
  expect(unsent.unsentBytes).toBe(6);
});
