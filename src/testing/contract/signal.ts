/**
 * signalHonoured: an abort at a random moment (before the call, before the response headers, in
 * the middle of a whole body, in the middle of a stream) settles the call within the bound as a
 * rejection, never a success; with a server, the HTTP request closes within the bound too.
 */
import type { RecordedRequest } from '../openai-server.js';
import {
  brief,
  type CallKind,
  type ContractContext,
  callKinds,
  completeOf,
  expectClosedAfterAbort,
  GRACE_MS,
  LateError,
  onWire,
  requestFor,
  retryingLate,
  sleep,
  streamOf,
} from './harness.js';
import { type ContractProperty, erase } from './property.js';

type Phase = 'before-call' | 'before-headers' | 'mid-body' | 'mid-stream' | 'after-delay';

interface SignalCase {
  readonly kind: CallKind;
  readonly phase: Phase;
  /** Wait after the phase's moment, before the abort. */
  readonly delayMs: number;
  /** For `mid-stream`: deltas read before the abort. */
  readonly deltas: number;
}

/** Server faults that hold each phase open for far longer than the bound. */
const MODEL_FOR: Readonly<Partial<Record<Phase, string>>> = {
  'before-headers': 'fault:ok:latency=1500',
  'mid-body': 'fault:stall',
  'mid-stream': 'fault:ok:chunk-ms=20',
};

export const signalHonoured: ContractProperty = {
  name: 'signalHonoured',
  title: 'an abort at any moment settles the call within the bound, as a rejection, and closes its request',
  skip: () => undefined,
  examples(context) {
    return callKinds(context).flatMap((kind) =>
      phasesFor(kind, context.server !== undefined).map(
        (phase): SignalCase => ({ kind, phase, delayMs: 5, deltas: 2 }),
      ),
    );
  },
  build(fc, context) {
    const withServer = context.server !== undefined;
    const phases = (kind: SignalCase['kind']): Phase[] => phasesFor(kind, withServer);
    const arbitrary = fc.constantFrom(...callKinds(context)).chain((kind) =>
      fc.record({
        kind: fc.constant(kind),
        phase: fc.constantFrom(...phases(kind)),
        delayMs: fc.integer({ min: 0, max: 30 }),
        deltas: fc.integer({ min: 1, max: 4 }),
      }),
    );
    return erase(fc.asyncProperty(arbitrary, (c) => retryingLate(() => checkAbort(context, c))));
  },
};

function phasesFor(kind: SignalCase['kind'], withServer: boolean): Phase[] {
  if (!withServer)
    return kind !== 'complete'
      ? ['before-call', 'after-delay', 'mid-stream']
      : ['before-call', 'after-delay'];
  return kind !== 'complete'
    ? ['before-call', 'before-headers', 'mid-stream']
    : ['before-call', 'before-headers', 'mid-body'];
}

async function checkAbort(context: ContractContext, c: SignalCase): Promise<void> {
  const bound = context.abortWithinMs;
  const nonce = context.script({ content: 'abort me '.repeat(30) });
  const request = requestFor(context, nonce, MODEL_FOR[c.phase] ?? context.model);
  const controller = new AbortController();
  let abortedAt = 0;
  const abort = () => {
    abortedAt = Date.now();
    controller.abort();
  };
  if (c.phase === 'before-call') abort();

  let wire: RecordedRequest | undefined;
  const reachWire = async () => {
    if (context.server === undefined) return;
    wire = await onWire(context.server, nonce);
    if (wire === undefined)
      throw new Error(`Expected the request (${c.kind}, ${request.model}) on the wire within 2 s, got none`);
  };

  if (c.kind === 'complete') {
    const call = completeOf(context, request, controller.signal);
    if (c.phase !== 'before-call') {
      if (c.phase === 'after-delay') await sleep(c.delayMs);
      else {
        await reachWire();
        await sleep(c.delayMs);
      }
      if (call.state !== 'pending') return; // it finished before the abort: nothing to check
      abort();
    }
    await call.within(bound + GRACE_MS);
    if (call.state === 'pending')
      throw new LateError(
        `Expected complete() to settle within ${bound} ms of an abort (${c.phase}), got it still pending after ${bound + GRACE_MS} ms`,
      );
    if (call.state === 'resolved')
      throw new Error(
        `Expected complete() aborted ${c.phase} to reject, got a success: ${JSON.stringify(call.value).slice(0, 120)}`,
      );
    if ((call.at ?? 0) - abortedAt > bound)
      throw new LateError(
        `Expected complete() to reject within ${bound} ms of an abort (${c.phase}), got ${(call.at ?? 0) - abortedAt} ms`,
      );
  } else {
    const reader = streamOf(context, request, controller.signal, c.kind);
    const stream = c.kind === 'streamTo' ? 'streamTo()' : 'the stream';
    if (c.phase === 'mid-stream') {
      reader.until = Date.now() + 3000;
      const got = await reader.read(c.deltas);
      if (got === 'late')
        throw new Error(
          `Expected ${c.deltas} deltas from a slow stream within 3 s, got ${reader.deltas.length}`,
        );
      if (got === 'ended') return; // the stream was shorter than that: nothing to abort
      await reachWire();
      await sleep(c.delayMs);
      abort();
    } else if (c.phase !== 'before-call') {
      // Read in the background while the abort comes.
      reader.until = Date.now() + 5000;
      const reading = reader.read();
      if (c.phase === 'after-delay') await sleep(c.delayMs);
      else {
        await reachWire();
        await sleep(c.delayMs);
      }
      if (reader.end !== undefined) return;
      abort();
      reader.until = abortedAt + bound + GRACE_MS;
      await reading;
    }
    reader.until = abortedAt + bound + GRACE_MS;
    await reader.read();
    if (reader.endedBeforeAbort) return; // a pushed stream that had ended: nothing to abort
    if (reader.end === undefined)
      throw new LateError(
        `Expected ${stream} to end within ${bound} ms of an abort (${c.phase}), got it still going after ${bound + GRACE_MS} ms (${reader.deltas.length} deltas)`,
      );
    if (reader.end.kind === 'done')
      throw new Error(
        `Expected ${stream} aborted ${c.phase} to end by throwing, got a normal end (${reader.deltas.length} deltas), which reads as a whole answer`,
      );
    if (reader.end.at - abortedAt > bound)
      throw new LateError(
        `Expected ${stream} to throw within ${bound} ms of an abort (${c.phase}), got ${reader.end.at - abortedAt} ms (${brief(reader.end.error)})`,
      );
  }
  if (context.server === undefined) return;
  if (c.phase === 'before-call') {
    // Nothing need reach the wire; whatever did must close.
    await sleep(20);
    wire = context.server.requests.find((r) => JSON.stringify(r.body ?? '').includes(nonce));
  }
  if (wire === undefined) return;
  await expectClosedAfterAbort(context, wire, abortedAt, `the abort (${c.kind}, aborted ${c.phase})`);
}
