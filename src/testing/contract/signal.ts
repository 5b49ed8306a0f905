/**
 * signalHonoured: an abort at a random moment (before the call, before the response headers, in
 * the middle of a whole body, in the middle of a stream, after a stream's whole body has arrived)
 * settles the call within the bound as a rejection, never a success; with a server, the HTTP
 * request closes within the bound too.
 *
 * `after-body` is the abort fetch may never report: the server sends the stream's whole body in one
 * write (`one-write=1`), so the adapter's first read holds all of it, `[DONE]` included. fetch
 * reports an abort only by failing the next read, and an adapter that stops at `[DONE]` reads no
 * more: if it counts on fetch and never checks its signal, it ends as a whole answer. troupe's own
 * adapters read on to the body's end and check the signal there: `stream()` still yields the deltas
 * it had parsed, then throws `CANCELLED` in place of its usage and finish; `streamTo()` checks it
 * after each event and pushes nothing more. The runtime drops whatever an aborted call reports, so
 * its session ends cancelled either way; the rule is for everyone else who calls the adapter.
 */
import { TroupeError } from '../../core/errors.js';
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
  pollUntil,
  requestFor,
  retryingLate,
  sleep,
  streamOf,
} from './harness.js';
import { type ContractProperty, erase, finishRead } from './property.js';

type Phase = 'before-call' | 'before-headers' | 'mid-body' | 'mid-stream' | 'after-body' | 'after-delay';

interface SignalCase {
  readonly kind: CallKind;
  readonly phase: Phase;
  /** Wait after the phase's moment, before the abort (not for a pushed stream's `after-body`). */
  readonly delayMs: number;
  /** For `mid-stream` and `after-body`: deltas read (or, pushed, handed over) before the abort. */
  readonly deltas: number;
}

/** Server faults that hold each phase open for far longer than the bound (or, after the body, send it at once). */
const MODEL_FOR: Readonly<Partial<Record<Phase, string>>> = {
  'before-headers': 'fault:ok:latency=1500',
  'mid-body': 'fault:stall',
  'mid-stream': 'fault:ok:chunk-ms=20',
  'after-body': 'fault:ok:one-write=1',
};

const AFTER_BODY_HINT =
  ' (the whole body had come in one read, so no read failed with the abort: check the signal, at the end too)';

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
    ? ['before-call', 'before-headers', 'mid-stream', 'after-body']
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
    if (wire === undefined) {
      controller.abort(); // the call of this try, if it comes, is not left running into the next
      // Only about time (a first call that loads its SDK on a busy machine): tried once more.
      throw new LateError(
        `Expected the request (${c.kind}, ${request.model}) on the wire within 2 s, got none`,
      );
    }
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
    // A pushed stream hands over a body that came in one read without a pause, so no timer could
    // land before its end: it is aborted inside its `onDelta`, the body already whole.
    const pushedAbort = c.phase === 'after-body' && c.kind === 'streamTo';
    const onPush = (pushed: number) => {
      if (pushed !== c.deltas) return;
      abort();
      reader.until = abortedAt + bound + GRACE_MS;
    };
    const reader = streamOf(context, request, controller.signal, c.kind, pushedAbort ? onPush : undefined);
    const stream = c.kind === 'streamTo' ? 'streamTo()' : 'the stream';
    const tooFew = () =>
      new Error(`Expected ${c.deltas} deltas from the stream within 3 s, got ${reader.deltas.length}`);
    if (pushedAbort) {
      reader.until = Date.now() + 3000;
      const got = await reader.read();
      if (got === 'late' && abortedAt === 0) throw tooFew();
      if (abortedAt === 0) return; // the stream was shorter than that: nothing to abort
    } else if (c.phase === 'mid-stream' || c.phase === 'after-body') {
      reader.until = Date.now() + 3000;
      const got = await reader.read(c.deltas);
      if (got === 'late') throw tooFew();
      if (got === 'ended') return; // the stream was shorter than that: nothing to abort
      // Without a server, a provider's whole answer may be a few deltas: once its finish came there
      // is nothing to abort (until 2026-12-07 such a stream failed here, read as cut short).
      if (context.server === undefined && finishRead(reader.deltas)) return;
      await reachWire();
      if (c.phase === 'after-body' && (await pollUntil(() => wire?.closedAt, 2000)) === undefined)
        throw new Error(
          `Expected the server to have sent the whole body (${request.model}) within 2 s, got it still open`,
        );
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
        `Expected ${stream} aborted ${c.phase} to end by throwing, got a normal end (${reader.deltas.length} deltas), which reads as a whole answer${c.phase === 'after-body' ? AFTER_BODY_HINT : ''}`,
      );
    if (reader.end.at - abortedAt > bound)
      throw new LateError(
        `Expected ${stream} to throw within ${bound} ms of an abort (${c.phase}), got ${reader.end.at - abortedAt} ms (${brief(reader.end.error)})`,
      );
    // As errorsMapped holds a stalled call: any rejection, but a TroupeError says CANCELLED.
    const error = reader.end.error;
    if (c.phase === 'after-body' && error instanceof TroupeError && error.code !== 'CANCELLED')
      throw new Error(`Expected ${stream} aborted after-body to reject as CANCELLED, got ${error.code}`);
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
