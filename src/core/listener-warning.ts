/**
 * The default reporter for errors nobody else can handle (a throwing subscriber, an inspector's
 * callback): a process warning under `TROUPE_LISTENER_ERROR` with the error's name, message and
 * stack (`detail`). Given an `Error`, `process.emitWarning` ignores its options, so until 2026-12-07
 * no such warning carried the code a `'warning'` listener filters by.
 */
export function warnListenerError(error: unknown): void {
  if (!(error instanceof Error)) {
    process.emitWarning(String(error), { code: LISTENER_ERROR });
    return;
  }
  // Node leaves a `detail` of `undefined` out of the warning (an error without a stack).
  process.emitWarning(error.message, { type: error.name, code: LISTENER_ERROR, detail: error.stack });
}

/** The code of the warnings `warnListenerError` emits. */
export const LISTENER_ERROR = 'TROUPE_LISTENER_ERROR';

/**
 * `onError`, with what it throws sent to the process's warnings (`warnListenerError`): the runtime's
 * reporter and the inspector's. Before 2026-12-04 that throw failed the session whose event it was
 * (`INTERNAL`), or made `submit` throw with the session already queued.
 */
export function safeReporter(onError: (error: unknown) => void): (error: unknown) => void {
  return (error) => {
    try {
      onError(error);
    } catch (thrown) {
      warnListenerError(thrown);
    }
  };
}
