/**
 * A client picks its JSON-RPC ids, and a string id may fill a whole 4 MiB body. troupe keeps an id
 * past its request in two places: a session's metadata (`requestId`, with the ended-session
 * history) and the aborts remembered for calls that have not started (`CallRegistry`). Each keeps at
 * most `MAX_REQUEST_ID_LENGTH` characters of it, in a string of its own: before, 150 closed batches
 * with a 3.9 MB id each took `troupe serve` to 930 MB.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { expect, it } from 'vitest';
import { CallRegistry, MAX_ABORT_REASON_LENGTH } from '../../../src/mcp/call-registry.js';
import { keptRequestId, MAX_REQUEST_ID_LENGTH } from '../../../src/mcp/request-ids.js';

it('keeps an id up to the bound as it is, and a longer one as its head and its length', () => {
  expect(MAX_REQUEST_ID_LENGTH).toBe(128);
  expect(keptRequestId(7)).toBe('7');
  const at = 'a'.repeat(MAX_REQUEST_ID_LENGTH);
  expect(keptRequestId(at)).toBe(at);
  const over = `${at}b`;
  expect(keptRequestId(over)).toBe(`${at}… (129 characters)`);
  expect(keptRequestId('é'.repeat(200))).toBe(`${'é'.repeat(128)}… (200 characters)`);
});

it('remembers an abort for a call with a long id: it still finds its call', () => {
  const registry = new CallRegistry({ now: () => 0 });
  const long = `${'x'.repeat(10_000)}-1`;
  registry.abort('s', long, 'closed');
  // Another of the session's ids that differs only past the head is another call: its length differs.
  const other = registry.track('s', `${'x'.repeat(10_000)}-12`, new AbortController().signal);
  expect(other.signal.aborted).toBe(false);
  const mine = registry.track('s', long, new AbortController().signal);
  expect(mine.signal.aborted).toBe(true);
  expect(mine.signal.reason).toBe('closed');
});

it('keeps two calls whose long ids differ only past the head, at the same length, apart', () => {
  const registry = new CallRegistry({ now: () => 0 });
  const a = registry.track('s', `${'x'.repeat(128)}A`, new AbortController().signal);
  const b = registry.track('s', `${'x'.repeat(128)}B`, new AbortController().signal);
  expect(registry.size).toBe(2);
  registry.abort('s', `${'x'.repeat(128)}A`, 'closed');
  expect([a.signal.aborted, b.signal.aborted]).toEqual([true, false]);
  // The aborted call is forgotten, the other still in flight.
  expect(registry.has('s', `${'x'.repeat(128)}B`)).toBe(true);
  expect(registry.size).toBe(1);
  // A remembered abort finds only its own call too.
  registry.abort('s', `${'y'.repeat(128)}A`, 'early');
  expect(registry.track('s', `${'y'.repeat(128)}B`, new AbortController().signal).signal.aborted).toBe(false);
  expect(registry.track('s', `${'y'.repeat(128)}A`, new AbortController().signal).signal.aborted).toBe(true);
});

it('keeps two calls whose long ids differ only in a lone surrogate apart', () => {
  // A JSON string may carry `\ud800` alone; read as UTF-8 (the hash's default) it is U+FFFD, so
  // until 2026-12-07 these three ids were one call: closing one's stream cancelled the others.
  const registry = new CallRegistry({ now: () => 0 });
  const id = (tail: string) => `${'x'.repeat(200)}${tail}`;
  const a = registry.track('s', id('\ud800'), new AbortController().signal);
  const b = registry.track('s', id('\ud801'), new AbortController().signal);
  const c = registry.track('s', id('\ufffd'), new AbortController().signal);
  expect(registry.size).toBe(3);
  registry.abort('s', id('\ud800'), 'closed');
  expect([a.signal.aborted, b.signal.aborted, c.signal.aborted]).toEqual([true, false, false]);
});

it('holds none of the long ids of the aborts it remembers', () => {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const registry = new CallRegistry({ now: () => 0 });
  gc();
  const before = process.memoryUsage().heapUsed;
  for (let i = 0; i < 200; i++) registry.abort('s', `${i}-${'e'.repeat(1_000_000)}`, 'closed');
  gc();
  const grew = process.memoryUsage().heapUsed - before;
  expect(registry.earlyAborts).toBe(200);
  // 200 ids of 1 MB each: 200 MB if the entries held them (or slices of them).
  expect(grew).toBeLessThan(20 * 1024 * 1024);
});

it('keeps the head of a long reason of an abort it remembers, and its length, and a short one whole', () => {
  const registry = new CallRegistry({ now: () => 0 });
  const long = `${'a'.repeat(MAX_ABORT_REASON_LENGTH)}${'b'.repeat(10_000)}`;
  registry.abort('s', 1, long);
  registry.abort('s', 2, 'a'.repeat(MAX_ABORT_REASON_LENGTH));
  const one = registry.track('s', 1, new AbortController().signal);
  const two = registry.track('s', 2, new AbortController().signal);
  expect(one.signal.reason).toBe(`${'a'.repeat(MAX_ABORT_REASON_LENGTH)}… (${long.length} characters)`);
  expect(two.signal.reason).toBe('a'.repeat(MAX_ABORT_REASON_LENGTH));
});
