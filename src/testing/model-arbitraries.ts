/**
 * The arbitraries that draw the runtime model's commands (`model-commands.ts`): the random runs'
 * (`commandArbitraries`) and the deep queues' (`queueCommandArbitraries`); `model-limits.ts` draws
 * the limits.
 */
import fc from 'fast-check';
import {
  Advance,
  Cancel,
  type Command,
  Drain,
  type Hint,
  Settle,
  SettleAll,
  Shutdown,
  Submit,
  ToBreakerEdge,
} from './model-commands.js';
import type { Settlement } from './scripted-provider.js';

/**
 * A 429's `Retry-After` (`Hint`): mostly the scripted 0.5 s; else none (1 s), whole or fractional
 * seconds, an HTTP date, or a day (held to 10 minutes).
 */
const hintArbitrary: fc.Arbitrary<Hint> = fc.oneof(
  { weight: 3, arbitrary: fc.constant(undefined) },
  fc.constantFrom<Hint>(null, '0', '2', '1.25', 'date+1500', 'date+3000', '86400'),
);

/** Weighted by repetition (fc.commands picks uniformly): shutdown is rare, so most runs get far. */
export function commandArbitraries(
  scripted: boolean,
  maxDeadlineMs = 5000,
  shutdown = true,
): fc.Arbitrary<Command>[] {
  const submit = fc
    .tuple(
      fc.nat(3),
      fc.integer({ min: 0, max: 9 }),
      fc.integer({ min: 50, max: maxDeadlineMs }),
      fc.integer({ min: 50, max: maxDeadlineMs }),
      fc.array(fc.nat(3), { maxLength: 3 }),
      fc.boolean(),
      fc.nat(400),
      fc.option(fc.nat(1), { nil: undefined, freq: 3 }),
    )
    .map(
      ([p, prio, t, q, fallbacks, stream, pad, caller]) =>
        new Submit(p, prio, t, q, fallbacks, stream, pad, caller),
    );
  const settleCall = fc
    .tuple(
      fc.nat(50),
      fc.constantFrom<Settlement>('ok', 'ok', 'retryable', 'fatal', 'partial', 'rateLimited'),
      hintArbitrary,
    )
    .map(([pick, outcome, hint]) => new Settle(pick, outcome, hint));
  const child = childOf(submit);
  const commands: fc.Arbitrary<Command>[] = [
    submit,
    submit,
    submit,
    // Children of sessions submitted before (running mostly): two commands in about fourteen.
    child,
    child,
    fc.nat(50).map((pick) => new Cancel(pick)),
    fc.integer({ min: 1, max: 3000 }).map((ms) => new Advance(ms)),
    // A drain one time in three: it ends all the work in flight, as a shutdown does.
    fc.oneof(
      { weight: 2, arbitrary: fc.integer({ min: -2, max: 2 }).map((ms) => new ToBreakerEdge(ms)) },
      { weight: 1, arbitrary: fc.nat(2).map((p) => new Drain(p)) },
    ),
  ];
  if (shutdown) commands.push(fc.integer({ min: 0, max: 3000 }).map((ms) => new Shutdown(ms)));
  if (scripted)
    commands.push(
      settleCall,
      settleCall,
      settleCall,
      fc.constantFrom<Settlement>('retryable', 'rateLimited', 'ok').map((outcome) => new SettleAll(outcome)),
    );
  return commands;
}

/** `Submit`s as `submit` draws them, each naming a session submitted before as its `parent`. */
function childOf(submit: fc.Arbitrary<Submit>): fc.Arbitrary<Submit> {
  return fc
    .tuple(submit, fc.nat(40))
    .map(
      ([s, parent]) =>
        new Submit(
          s.provider,
          s.priority,
          s.timeoutMs,
          s.queueTimeoutMs,
          s.fallbacks,
          s.stream,
          s.pad,
          s.caller,
          s.idleTimeoutMs,
          parent,
        ),
    );
}

/**
 * A profile of deep queues, for the order of admissions (`turn-invariants.ts`) and for work
 * conservation: the random commands above shut down about one run in twelve commands and meet rate
 * windows of a few calls a minute, so their queues rarely hold three sessions of one priority (200
 * runs made 358 admissions, 2 of them past a waiting session of the same priority). Here: three
 * callers and sessions without one, on p2 mostly (no window), at three priorities, with long
 * deadlines; answers come one by one, the clock moves in small steps, and no shutdown comes. Some
 * sessions on p0 or p1 fall back to p2, so hops leave full providers with sessions queued there.
 */
export function queueCommandArbitraries(): fc.Arbitrary<Command>[] {
  const submit = fc
    .tuple(
      fc.oneof(fc.constant(2), fc.constant(2), fc.nat(3)),
      fc.integer({ min: 4, max: 6 }),
      fc.integer({ min: 1000, max: 5000 }),
      fc.integer({ min: 2000, max: 8000 }),
      fc.option(fc.nat(2), { nil: undefined, freq: 4 }),
      // Some stream with an idle timeout shorter than their run deadline, some with a fallback.
      fc.option(fc.integer({ min: 50, max: 2000 }), { nil: undefined, freq: 2 }),
      fc.array(fc.nat(3), { maxLength: 1 }),
    )
    .map(
      ([p, prio, t, q, caller, idle, fallbacks]) =>
        new Submit(p, prio, t, q, fallbacks, idle !== undefined, 0, caller, idle),
    );
  const settleCall = fc
    .tuple(
      fc.nat(50),
      fc.constantFrom<Settlement>('ok', 'ok', 'ok', 'retryable', 'retryable', 'fatal', 'rateLimited'),
      hintArbitrary,
    )
    .map(([pick, outcome, hint]) => new Settle(pick, outcome, hint));
  // p0 or p1 (a slot or two each) falling back to p2 (no slots: the hop goes at once): a 503 hops
  // it away, and a session queued there must take its slot at once. Without these (and with half
  // the 503s), 4 of 10 seeds of 200 runs found a hop that ran no pass of the queue (`mayRetry`).
  const caller = fc.option(fc.nat(2), { nil: undefined, freq: 2 });
  const hopping = fc
    .tuple(fc.constantFrom(0, 1, 1), fc.integer({ min: 4, max: 6 }), caller)
    .map(([p, prio, c]) => new Submit(p, prio, 5000, 8000, [2], false, 0, c));
  const cancel = fc.nat(50).map((pick) => new Cancel(pick));
  const advance = fc.integer({ min: 1, max: 400 }).map((ms) => new Advance(ms));
  // Children too (one command in twelve), which the deep queues' full slots lend theirs to.
  const submits = [submit, submit, submit, submit, hopping, hopping, childOf(submit)];
  return [...submits, settleCall, settleCall, settleCall, cancel, advance];
}
