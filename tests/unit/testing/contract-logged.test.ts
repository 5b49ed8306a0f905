/**
 * What an adapter logs, searched for the key after each case (`contract/logged.ts`): a logger's
 * entries the caller hands over, and the console calls made inside the case's own async context,
 * not those of code running beside it.
 */
import fc from 'fast-check';
import { afterEach, expect, it } from 'vitest';
import { watchLogs } from '../../../src/testing/contract/logged.js';
import { createLogCapture } from '../../../src/testing/log-capture.js';

const KEY = 'sk-logged-0123456789abcdef';
const originals = { warn: console.warn, log: console.log };
const stops: (() => void)[] = [];
afterEach(() => {
  for (const stop of stops.splice(0)) stop();
  console.warn = originals.warn;
  console.log = originals.log;
});

/** One case of a property whose run does `work`; the failure's message, or undefined when it passed. */
async function caseOf(watch: ReturnType<typeof watchLogs<[number]>>, work: () => Promise<void>) {
  const details = await fc.check(
    fc.asyncProperty(fc.constant(1), async (_one: number) => {
      await work();
    }),
    { numRuns: 1, plugins: [watch.plugin] },
  );
  return details.failed ? (details.errorInstance as Error).message : undefined;
}

it('fails a case whose logger entry carries the key, deep or behind a getter, and names the entry', async () => {
  const capture = createLogCapture();
  const watch = watchLogs<[number]>(KEY, () => capture.entries);
  stops.push(watch.stop);
  capture.logger.info({ status: 200 }, 'fine');
  expect(await caseOf(watch, async () => {})).toBeUndefined();
  const getter = {};
  Object.defineProperty(getter, 'request', {
    enumerable: true,
    get: () => ({ authorization: `Bearer ${KEY}` }),
  });
  const message = await caseOf(watch, async () => {
    capture.logger.child({ component: 'adapter' }).warn(getter, 'HTTP error');
  });
  expect(message).toMatch(
    /^Expected nothing the adapter logged to carry the API key .*, got the key in entry #1 of `logged\(\)`$/,
  );
  // Logged after a case ended (a late callback): read by the next case, not skipped.
  capture.logger.debug(`late Bearer ${KEY}`);
  expect(await caseOf(watch, async () => {})).toMatch(/got the key in entry #2 of `logged\(\)`$/);
  const cut = await caseOf(watch, async () => {
    capture.logger.error({ deep: { a: { b: { c: { d: { e: { f: { g: KEY.slice(0, 20) } } } } } } } });
  });
  expect(cut).toMatch(/got part of the key \(`sk-l…`, 20 of its 26 characters in a row\) in entry #3/);
});

it('reads the console inside the case, after an await too, and passes each call through', async () => {
  const seen: unknown[][] = [];
  console.warn = (...args: unknown[]) => {
    seen.push(args);
  };
  const watch = watchLogs<[number]>(KEY, undefined);
  stops.push(watch.stop);
  const message = await caseOf(watch, async () => {
    await new Promise((resolve) => setTimeout(resolve, 5));
    console.warn('request failed', { headers: { authorization: `Bearer ${KEY}` } });
  });
  expect(message).toMatch(/got the key in what it wrote with console\.warn\(\)$/);
  expect(seen).toHaveLength(1);
});

it('blames no case for a console call made outside it, while the case runs', async () => {
  console.log = () => {};
  const watch = watchLogs<[number]>(KEY, undefined);
  stops.push(watch.stop);
  const during = caseOf(watch, async () => {
    await new Promise((resolve) => setTimeout(resolve, 30));
  });
  // A test beside it, started outside the case, logs the key while the case is running.
  await new Promise<void>((resolve) =>
    setTimeout(() => {
      console.log(`Bearer ${KEY}`);
      resolve();
    }, 5),
  );
  expect(await during).toBeUndefined();
});

it('puts the console back once the last watch stops, in any order', () => {
  const first = watchLogs<[number]>(KEY, undefined);
  const second = watchLogs<[number]>(KEY, undefined);
  expect(console.warn).not.toBe(originals.warn);
  first.stop();
  expect(console.warn).not.toBe(originals.warn);
  second.stop();
  expect(console.warn).toBe(originals.warn);
  expect(console.log).toBe(originals.log);
});
