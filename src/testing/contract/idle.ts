/**
 * errorsMapped's stall under a bound: `complete()` given `idleTimeoutMs` (`CallOptions`) against a
 * server that sends the headers and half the body, then nothing (`fault:stall`), must end by itself,
 * with no abort, as `TIMED_OUT` (`timeout: 'idle'`, not retryable) within the bound and a margin of
 * the body's last byte, and close its request. The runtime gives every whole answer the session's
 * bound and counts on the adapter for it: an adapter that ignores it holds a stalled answer, its
 * slot and its caller until the run deadline. A stream's silence is the runtime's to watch (between
 * deltas): not asked of `stream()`.
 */
import { TroupeError } from '../../core/errors.js';
import {
  brief,
  type ContractContext,
  expectClosedAfterAbort,
  LateError,
  onWire,
  requestFor,
  watch,
} from './harness.js';

/** The bound the suite gives, in ms. */
export const IDLE_MS = 300;
/**
 * How far past the bound the call may end, in ms: undici's own body timer (troupe's adapters use it,
 * `bodyTimeout`) is checked on a clock that ticks every half second, so it fires up to two ticks
 * late (300 ms ended at 1011 ms, twice, for the GLM preset), and a loaded machine adds its own.
 */
export const IDLE_MARGIN_MS = 1500;
/** How long the suite waits before it calls the bound ignored (and aborts the call), in ms. */
const IGNORED_AFTER_MS = 4000;

export async function checkIdle(context: ContractContext): Promise<void> {
  const model = 'fault:stall';
  const what = `complete() against \`${model}\` with idleTimeoutMs ${IDLE_MS}`;
  const nonce = context.script({ content: 'an answer that stops half way '.repeat(4) });
  const controller = new AbortController();
  const request = requestFor(context, nonce, model);
  const call = watch(
    Promise.resolve().then(() =>
      context.provider.complete(request, { signal: controller.signal, idleTimeoutMs: IDLE_MS }),
    ),
  );
  const wire = context.server === undefined ? undefined : await onWire(context.server, nonce);
  // The server sends its half body as the request comes: the silence begins then.
  const silentFrom = wire?.receivedAt ?? Date.now();
  await call.within(silentFrom + IGNORED_AFTER_MS - Date.now());
  if (call.state === 'pending') {
    controller.abort();
    throw new Error(
      `Expected ${what} to end by itself as TIMED_OUT (timeout 'idle') about ${IDLE_MS} ms after the body's last byte, got no end in ${IGNORED_AFTER_MS} ms (aborted then): does the adapter read the whole body with no bound between its bytes? \`CallOptions.idleTimeoutMs\` is the longest silence of an answer read whole`,
    );
  }
  const error = call.error;
  if (call.state === 'resolved' || !(error instanceof TroupeError) || error.code !== 'TIMED_OUT')
    throw new Error(
      `Expected ${what} to reject as TIMED_OUT (timeout 'idle'), got ${call.state === 'resolved' ? 'a success' : brief(error)}`,
    );
  if (error.timeout !== 'idle' || error.retryable)
    throw new Error(
      `Expected ${what} to reject as TIMED_OUT with timeout 'idle' and retryable false (the runtime's idle timeout, as a silent stream's), got timeout ${JSON.stringify(error.timeout)}, retryable ${error.retryable}`,
    );
  const endedAt = call.at as number;
  if (endedAt - silentFrom > IDLE_MS + IDLE_MARGIN_MS)
    throw new LateError(
      `Expected ${what} to end within ${IDLE_MS + IDLE_MARGIN_MS} ms of the body's last byte, got ${endedAt - silentFrom} ms`,
    );
  if (wire !== undefined) await expectClosedAfterAbort(context, wire, endedAt, `its idle timeout (${what})`);
}
