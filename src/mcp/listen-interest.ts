/**
 * Which resource URIs a 2026-07-28 stdio client listens to, read off its inbound messages.
 *
 * Over stdio the SDK's entry keeps the `subscriptions/listen` streams and drops a
 * `notifications/resources/updated` that none of them asked for, but only after the server built
 * and sent it: six per `chat` call (three session changes, two URIs each), about a tenth of a
 * modern stdio call's time with nobody listening. The server asks `wants(uri)` first.
 *
 * It errs on the side of sending: every listen request naming resource URIs counts until the
 * client cancels it, even one the entry refused, so no update a stream asked for is skipped. It is
 * bounded: past `MAX_LISTENS` requests or `MAX_URIS` URIs held it forgets them all and wants every
 * update from then on, as the server did before it asked.
 */

/** Listen requests kept (the SDK entry's own cap on open streams is 1,024). */
export const MAX_LISTENS = 1024;
/** URIs kept across them. */
export const MAX_URIS = 10_000;

export class ListenInterest {
  /** Listen request id (verbatim, as the entry keys it) -> the resource URIs it named. */
  readonly #subscriptions = new Map<unknown, readonly unknown[]>();
  #uris = 0;
  /** Over a bound: every update is wanted. */
  #everything = false;

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
      if (!Array.isArray(uris) || uris.length === 0 || this.#everything) return;
      this.#forget(id);
      this.#subscriptions.set(id, uris);
      this.#uris += uris.length;
      if (this.#subscriptions.size > MAX_LISTENS || this.#uris > MAX_URIS) {
        this.#everything = true;
        this.#subscriptions.clear();
        this.#uris = 0;
      }
    } else if (method === 'notifications/cancelled') {
      this.#forget((params as { requestId?: unknown } | undefined)?.requestId);
    }
  }

  /** Whether an open listen stream may want updates of `uri`. */
  wants(uri: string): boolean {
    if (this.#everything) return true;
    for (const uris of this.#subscriptions.values()) if (uris.includes(uri)) return true;
    return false;
  }

  /** Whether an open listen stream may want any update (no URI is built for the others). */
  wantsAny(): boolean {
    return this.#everything || this.#subscriptions.size > 0;
  }

  #forget(id: unknown): void {
    const uris = this.#subscriptions.get(id);
    if (uris === undefined) return;
    this.#subscriptions.delete(id);
    this.#uris -= uris.length;
  }

  /** Listen requests naming resources, not cancelled. */
  get size(): number {
    return this.#subscriptions.size;
  }
}
