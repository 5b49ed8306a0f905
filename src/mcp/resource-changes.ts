/**
 * Which troupe resources changed, from the runtime's events: `troupe://sessions/{id}` whenever that
 * session moves (queued, started, retrying, ended; streamed characters at most once a second) and
 * `troupe://sessions` with it. One subscription to the runtime serves every connection; each
 * connection (or the HTTP handler's event bus) filters what its client subscribed to.
 */
import type { Runtime, RuntimeEvent } from '../runtime/types.js';

export const SESSIONS_URI = 'troupe://sessions';

export function sessionUri(sessionId: string): string {
  return `${SESSIONS_URI}/${encodeURIComponent(sessionId)}`;
}

/** Least time between two updates caused only by streamed characters, per session, in ms. */
const DELTA_UPDATE_MS = 1000;

export type ResourceListener = (uri: string, sessionId: string) => void;

/** Whether a listener may want any update now; when none does, no URI is built. */
export type ResourceInterest = () => boolean;

const ALWAYS: ResourceInterest = () => true;

export class ResourceChanges {
  readonly #listeners = new Map<ResourceListener, ResourceInterest>();
  readonly #lastDeltaAt = new Map<string, number>();
  readonly #unsubscribe: () => void;

  constructor(runtime: Runtime) {
    this.#unsubscribe = runtime.subscribe((event) => this.#on(event));
  }

  /**
   * Calls `listener` with each changed URI while `interested()` says it may want one (a
   * connection with no subscription asks for nothing: its client gets nothing either way, and
   * three session changes a call with two URIs each were built and looked up for nobody); returns
   * the unsubscribe function.
   */
  subscribe(listener: ResourceListener, interested: ResourceInterest = ALWAYS): () => void {
    this.#listeners.set(listener, interested);
    return () => this.#listeners.delete(listener);
  }

  /** Listeners now: one per connected MCP server. */
  get size(): number {
    return this.#listeners.size;
  }

  close(): void {
    this.#unsubscribe();
    this.#listeners.clear();
    this.#lastDeltaAt.clear();
  }

  /** Sessions whose updates for streamed characters are being throttled now: live ones only. */
  get throttled(): number {
    return this.#lastDeltaAt.size;
  }

  #on(event: RuntimeEvent): void {
    if (!('sessionId' in event)) return;
    const id = event.sessionId;
    // Forgotten at its end whoever listens then: a session that streamed while a connection
    // listened and ended after the last one closed was kept for good (until 2026-12-07).
    if (event.type === 'session.ended') this.#lastDeltaAt.delete(id);
    if (this.#listeners.size === 0) return;
    if (event.type === 'session.delta') {
      const last = this.#lastDeltaAt.get(id) ?? 0;
      if (event.at - last < DELTA_UPDATE_MS) return;
      this.#lastDeltaAt.set(id, event.at);
    }
    let uri: string | undefined;
    for (const [listener, interested] of this.#listeners) {
      if (!interested()) continue;
      uri ??= sessionUri(id);
      listener(uri, id);
      listener(SESSIONS_URI, id);
    }
  }
}
