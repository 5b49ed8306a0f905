/**
 * In-flight tool calls by (MCP session, JSON-RPC id), so the HTTP layer can cancel a call whose
 * response stream the client closed. The SDK's 2025-era HTTP transport drops such a stream without
 * aborting the handler; this closes that gap. (stdio and 2026-07-28 HTTP abort the handler's
 * signal themselves.)
 *
 * An abort for a call that has not started yet is remembered briefly, for the call to find. Those
 * are bounded: at most `maxEarlyAborts`, each for `EARLY_ABORT_MEMORY_MS`, with no timer per entry
 * (a client closing streams of 100-message batches made 100 timers and entries per request, kept
 * for 30 s, without limit). Past the bound, the MCP session holding the most loses its oldest: until
 * 2026-12-05 the oldest of all went, so one client closing streams by the thousand made another's
 * abort forgotten, and its call ran on for nobody (found by an audit).
 */

import { steadyClock } from '../core/clock.js';
import { keptText, requestKey } from './request-ids.js';

/** How long an abort for a call that has not started yet is remembered, in ms. */
const EARLY_ABORT_MEMORY_MS = 30_000;
/** Most aborts remembered for calls that have not started. */
export const MAX_EARLY_ABORTS = 1000;
/**
 * Most characters of a remembered abort's reason (a client's `notifications/cancelled` names its
 * own), as many as `cancel_session` takes; a longer one is kept as its head and its length.
 */
export const MAX_ABORT_REASON_LENGTH = 500;

export class CallRegistry {
  readonly #calls = new Map<string, AbortController>();
  /** Aborts for calls not started yet: key -> reason and when it is forgotten. Insertion order is age. */
  readonly #early = new Map<string, Early>();
  /** How many of `#early` each MCP session holds. */
  readonly #earlyBySession = new Map<string, number>();
  readonly #maxEarly: number;
  readonly #now: () => number;

  constructor(options: { readonly maxEarlyAborts?: number; readonly now?: () => number } = {}) {
    this.#maxEarly = options.maxEarlyAborts ?? MAX_EARLY_ABORTS;
    this.#now = options.now ?? steadyClock.now;
  }

  /**
   * The signal for one call: `base` (the SDK's request signal) or an abort through `abort()`,
   * whichever comes first. Release it when the call ends. A call outside an MCP session (stdio,
   * 2026-07-28 HTTP) cannot be named to `abort()`, and its transport aborts `base` itself: it gets
   * `base` back, with no controller and no listener (per call, that was about a tenth of a stdio
   * call's CPU, mostly `AbortSignal.any`).
   */
  track(
    sessionId: string | undefined,
    requestId: string | number,
    base: AbortSignal,
  ): { signal: AbortSignal; release: () => void } {
    if (sessionId === undefined) return { signal: base, release: noop };
    const key = requestKey(sessionId, requestId);
    let controller = this.#calls.get(key);
    if (controller === undefined) {
      controller = new AbortController();
      this.#calls.set(key, controller);
    }
    const mine = controller;
    const early = this.#takeEarly(key);
    if (early !== undefined) mine.abort(early);
    // Forwarding `base` by one listener, not `AbortSignal.any` (weak references and a registry per call).
    const forward = () => mine.abort(base.reason);
    // An aborted call is forgotten then, not when its handler settles: nothing more can be done for
    // it, and a tool of yours that never settles was held here for the life of the process (the SDK
    // lets go of its own when the connection closes), and a later call with its id began aborted.
    const forget = () => {
      base.removeEventListener('abort', forward);
      if (this.#calls.get(key) === mine) this.#calls.delete(key);
    };
    if (base.aborted) forward();
    if (mine.signal.aborted) forget();
    else {
      base.addEventListener('abort', forward, { once: true });
      mine.signal.addEventListener('abort', forget, { once: true });
    }
    return {
      signal: mine.signal,
      release: () => {
        mine.signal.removeEventListener('abort', forget);
        forget();
      },
    };
  }

  /** Aborts the call if it is running; remembers the abort briefly if it has not started. */
  abort(sessionId: string, requestId: string | number, reason: string): void {
    const key = requestKey(sessionId, requestId);
    const existing = this.#calls.get(key);
    if (existing !== undefined) {
      existing.abort(reason);
      return;
    }
    const now = this.#now();
    this.#forgetExpired(now);
    this.#forget(key);
    // The reason is the client's (a 4 MiB body's): until 2026-12-07 kept whole, 1,000 of them for
    // 30 s, and 100 cancels with 3 MB reasons held 300 MB.
    const kept = keptText(reason, MAX_ABORT_REASON_LENGTH);
    this.#early.set(key, { sessionId, reason: kept, until: now + EARLY_ABORT_MEMORY_MS });
    this.#earlyBySession.set(sessionId, (this.#earlyBySession.get(sessionId) ?? 0) + 1);
    if (this.#early.size > this.#maxEarly) this.#forgetOldestOfMost();
  }

  /** Whether that call is in flight now. */
  has(sessionId: string, requestId: string | number): boolean {
    return this.#calls.has(requestKey(sessionId, requestId));
  }

  /** Calls in flight. */
  get size(): number {
    return this.#calls.size;
  }

  /** Aborts remembered for calls that have not started (at most `maxEarlyAborts`). */
  get earlyAborts(): number {
    this.#forgetExpired(this.#now());
    return this.#early.size;
  }

  #takeEarly(key: string): string | undefined {
    const early = this.#forget(key);
    return early !== undefined && early.until > this.#now() ? early.reason : undefined;
  }

  #forgetExpired(now: number): void {
    for (const [key, early] of this.#early) {
      if (early.until > now) return;
      this.#forget(key);
    }
  }

  /** The oldest abort of the MCP session holding the most (one pass over at most `maxEarlyAborts` + 1). */
  #forgetOldestOfMost(): void {
    let most = '';
    let count = 0;
    for (const [sessionId, held] of this.#earlyBySession)
      if (held > count) {
        most = sessionId;
        count = held;
      }
    for (const [key, early] of this.#early)
      if (early.sessionId === most) {
        this.#forget(key);
        return;
      }
  }

  #forget(key: string): Early | undefined {
    const early = this.#early.get(key);
    if (early === undefined) return undefined;
    this.#early.delete(key);
    const held = (this.#earlyBySession.get(early.sessionId) ?? 1) - 1;
    if (held === 0) this.#earlyBySession.delete(early.sessionId);
    else this.#earlyBySession.set(early.sessionId, held);
    return early;
  }
}

interface Early {
  readonly sessionId: string;
  readonly reason: string;
  readonly until: number;
}

function noop(): void {}
