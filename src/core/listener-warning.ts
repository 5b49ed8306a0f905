/**
 * The default reporter for errors nobody else can handle (a throwing subscriber, an inspector's
 * callback): a process warning under `TROUPE_LISTENER_ERROR`, the error's stack as its detail.
 * Given an `Error`, `process.emitWarning` ignores its options, so until 2026-12-07 no such warning
 * carried the code a `'warning'` listener filters by: the warning is now the error's text.
 */
export function warnListenerError(error: unknown): void {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  const detail = error instanceof Error ? error.stack : undefined;
  // Node leaves a `detail` of `undefined` out of the warning (a thrown string has no stack).
  process.emitWarning(text, { code: LISTENER_ERROR, detail });
}

/** The code of the warnings `warnListenerError` emits. */
export const LISTENER_ERROR = 'TROUPE_LISTENER_ERROR';
