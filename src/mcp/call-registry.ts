/**
 * In-flight tool calls by (MCP session, JSON-RPC id), so the HTTP layer can cancel a call whose
 * response stream the client closed. The SDK's 2025-era HTTP transport drops such a stream without
 * aborting the handler; this closes that gap. (stdio and 2026-07-28 HTTP abort the handler's
 * signal themselves.)
 */

/** How long an abort for a call that has not started yet is remembered, in ms. */
const EARLY_ABORT_MEMORY_MS = 30_000;

export class CallRegistry {
  readonly #calls = new Map<string, AbortController>();

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
    const key = keyOf(sessionId, requestId);
    let controller = this.#calls.get(key);
    if (controller === undefined) {
      controller = new AbortController();
      this.#calls.set(key, controller);
    }
    const mine = controller;
    // Forwarding `base` by one listener, not `AbortSignal.any` (weak references and a registry per call).
    const forward = () => mine.abort(base.reason);
    if (base.aborted) forward();
    else if (!mine.signal.aborted) base.addEventListener('abort', forward, { once: true });
    return {
      signal: mine.signal,
      release: () => {
        base.removeEventListener('abort', forward);
        if (this.#calls.get(key) === mine) this.#calls.delete(key);
      },
    };
  }

  /** Aborts the call if it is running; remembers the abort briefly if it has not started. */
  abort(sessionId: string, requestId: string | number, reason: string): void {
    const key = keyOf(sessionId, requestId);
    const existing = this.#calls.get(key);
    if (existing !== undefined) {
      existing.abort(reason);
      return;
    }
    const controller = new AbortController();
    controller.abort(reason);
    this.#calls.set(key, controller);
    setTimeout(() => {
      if (this.#calls.get(key) === controller) this.#calls.delete(key);
    }, EARLY_ABORT_MEMORY_MS).unref();
  }

  get size(): number {
    return this.#calls.size;
  }
}

function keyOf(sessionId: string, requestId: string | number): string {
  return `${sessionId}\u0000${typeof requestId}:${requestId}`;
}

function noop(): void {}
