/**
 * Retries told to the client that is waiting: each `session.retry` of a session a tool call
 * started goes to that call's `ClientLog` as a warning (why, and when the next attempt goes).
 *
 * One runtime subscription serves every call; a call only registers its log under the session id
 * until the session's result is in. (Each call used to follow its own session's event stream for
 * this: a stream, an async iterator and a promise per event, on every call, for retries that
 * almost never happen.)
 */
import type { Runtime, RuntimeEvent } from '../runtime/types.js';
import type { ClientLog } from './run-session.js';

export class RetryLogs {
  readonly #logs = new Map<string, ClientLog>();
  readonly #unsubscribe: () => void;

  constructor(runtime: Runtime) {
    this.#unsubscribe = runtime.subscribe((event) => this.#on(event));
  }

  /** Sends `sessionId`'s retries to `log` until `forget(sessionId)`. */
  follow(sessionId: string, log: ClientLog): void {
    this.#logs.set(sessionId, log);
  }

  forget(sessionId: string): void {
    this.#logs.delete(sessionId);
  }

  /** Sessions followed now (each one's call is still waiting for its result). */
  get size(): number {
    return this.#logs.size;
  }

  close(): void {
    this.#unsubscribe();
    this.#logs.clear();
  }

  #on(event: RuntimeEvent): void {
    if (event.type !== 'session.retry') return;
    const log = this.#logs.get(event.sessionId);
    if (log === undefined) return;
    log('warning', {
      message: `session ${event.sessionId}: ${event.error.code} (${event.error.message}); retrying in ${event.delayMs} ms as attempt ${event.attempt}`,
      sessionId: event.sessionId,
      code: event.error.code,
      attempt: event.attempt,
      delayMs: event.delayMs,
    });
  }
}
