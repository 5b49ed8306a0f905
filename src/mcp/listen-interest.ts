/**
 * Which resource URIs a 2026-07-28 stdio client listens to, read off its inbound messages.
 *
 * Over stdio the SDK's entry keeps the `subscriptions/listen` streams and drops a
 * `notifications/resources/updated` that none of them asked for, but only after the server built
 * and sent it: six per `chat` call (three session changes, two URIs each), about a tenth of a
 * modern stdio call's time with nobody listening. The server asks `wants(uri)` first.
 *
 * It errs on the side of sending: every listen request naming resource URIs counts until the
 * client cancels it, even one the entry refused, so no update a stream asked for is skipped.
 */
export class ListenInterest {
  /** Listen request id (verbatim, as the entry keys it) -> the resource URIs it named. */
  readonly #subscriptions = new Map<unknown, readonly unknown[]>();

  /** Reads one inbound JSON-RPC message, or a batch. */
  observe(message: unknown): void {
    if (Array.isArray(message)) {
      for (const one of message) this.observe(one);
      return;
    }
    if (message === null || typeof message !== 'object') return;
    const { method, id, params } = message as { method?: unknown; id?: unknown; params?: unknown };
    if (method === 'subscriptions/listen' && id !== undefined) {
      const uris = (params as { notifications?: { resourceSubscriptions?: unknown } } | undefined)
        ?.notifications?.resourceSubscriptions;
      if (Array.isArray(uris) && uris.length > 0) this.#subscriptions.set(id, uris);
    } else if (method === 'notifications/cancelled') {
      this.#subscriptions.delete((params as { requestId?: unknown } | undefined)?.requestId);
    }
  }

  /** Whether an open listen stream may want updates of `uri`. */
  wants(uri: string): boolean {
    for (const uris of this.#subscriptions.values()) if (uris.includes(uri)) return true;
    return false;
  }

  /** Listen requests naming resources, not cancelled. */
  get size(): number {
    return this.#subscriptions.size;
  }
}
