/**
 * What the adapter logs, searched for the key after every case, as its errors and notes are: a log
 * line is read by whoever reads the logs. Until 2026-12-08 nothing looked, and an adapter that
 * logged its request's headers passed every property.
 *
 * Two places: the entries of a logger the caller gave the adapter (`logged`, e.g. a
 * `createLogCapture()`'s), and what the adapter writes with `console`. The console is read only for
 * the calls made inside a case, as its own async context (`AsyncLocalStorage`): a test running
 * beside it in the same worker logs outside that context and is neither read nor blamed, and every
 * call still reaches the console as before. What an adapter writes to `process.stdout`/`stderr` or
 * a file descriptor itself (pino's default destination) is not seen: give it a logger to search.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { inspect } from 'node:util';
import type { IRawProperty, Plugin } from 'fast-check';
import { keyIn } from './leak.js';

const METHODS = ['log', 'info', 'warn', 'error', 'debug', 'trace'] as const;
type Method = (typeof METHODS)[number];

/** The console calls of the case running in this async context. */
const cases = new AsyncLocalStorage<{ method: Method; args: unknown[] }[]>();
let users = 0;
const wrapped = new Map<Method, { original: Console[Method]; wrapper: Console[Method] }>();

/** Wraps the console's methods while any check runs; returns the undo. Calls pass through. */
function watchConsole(): () => void {
  if (users++ === 0)
    for (const method of METHODS) {
      const original = console[method];
      const wrapper = function (this: unknown, ...args: unknown[]) {
        cases.getStore()?.push({ method, args });
        return original.apply(this, args);
      };
      wrapped.set(method, { original, wrapper });
      console[method] = wrapper;
    }
  return () => {
    if (--users > 0) return;
    // Put back only what is still ours: a spy set on top since stays, and passes through to ours.
    for (const [method, { original, wrapper }] of wrapped)
      if (console[method] === wrapper) console[method] = original;
    wrapped.clear();
  };
}

/** What a logger prints of a value: `util.inspect`'s text and `JSON.stringify`'s (getters, `toJSON`). */
function textsOf(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  let json = '';
  try {
    json = JSON.stringify(value) ?? '';
  } catch {}
  return [inspect(value, { depth: 12, breakLength: Number.POSITIVE_INFINITY, getters: true }), json];
}

function leakAmong(values: readonly unknown[], apiKey: string | undefined): string | undefined {
  for (const text of values.flatMap(textsOf)) {
    const leak = keyIn(text, apiKey);
    if (leak !== undefined) return leak;
  }
  return undefined;
}

type Run<Ts> = IRawProperty<Ts, boolean>['run'];
type Outcome = Awaited<ReturnType<Run<unknown>>>;

export interface LogWatch<Ts> {
  /** For `fc.check`'s `plugins`: a case that passed fails when what it logged carries the key. */
  readonly plugin: Plugin<Ts>;
  /** Stops reading the console. */
  readonly stop: () => void;
}

export function watchLogs<Ts>(
  apiKey: string | undefined,
  logged: (() => readonly unknown[]) | undefined,
): LogWatch<Ts> {
  const stop = watchConsole();
  // Entries read so far: each case reads what came since, so a line logged after a case ended
  // (a late callback) is read by the next one, not skipped.
  let read = logged?.().length ?? 0;
  const decorateRun =
    (nestedRun: Run<Ts>): Run<Ts> =>
    (value) => {
      const calls: { method: Method; args: unknown[] }[] = [];
      const outcome = cases.run(calls, () => nestedRun(value));
      const settle = (result: Outcome): Outcome => {
        const from = read;
        const entries = logged?.().slice(from) ?? [];
        read = from + entries.length;
        if (result !== null) return result;
        const message = leakMessage(calls, entries, from, apiKey);
        return message === undefined ? null : { error: new Error(message) };
      };
      // A synchronous run must stay so (fast-check's rule for `decorateRun`).
      return outcome !== null && 'then' in outcome ? outcome.then(settle) : settle(outcome as Outcome);
    };
  return { plugin: () => ({ decorateRun }), stop };
}

function leakMessage(
  calls: readonly { method: Method; args: unknown[] }[],
  entries: readonly unknown[],
  from: number,
  apiKey: string | undefined,
): string | undefined {
  const expected =
    'Expected nothing the adapter logged to carry the API key (log lines are read by whoever reads the logs)';
  for (const [i, entry] of entries.entries()) {
    const leak = leakAmong([entry], apiKey);
    if (leak !== undefined) return `${expected}, got ${leak} in entry #${from + i} of \`logged()\``;
  }
  for (const call of calls) {
    const leak = leakAmong(call.args, apiKey);
    if (leak !== undefined) return `${expected}, got ${leak} in what it wrote with console.${call.method}()`;
  }
  return undefined;
}
