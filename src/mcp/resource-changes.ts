/**
 * Which troupe resources changed, from the runtime's events: `troupe://sessions/{id}` whenever that
 * session moves (queued, started, retrying, ended; streamed characters at most once a second) and
 * `troupe://sessions` with it. One subscription to the runtime serves every connection; each
 * connection (or the HTTP handler's event bus) filters what its client subscribed to.
 *
 * The subscription is held only while some listener may want an update: at the first change that
 * no listener wants it is dropped, and `wake()` takes it again when one's interest turns on. A
 * runtime with no subscriber builds no event at all (`EventHub.wants`), so a stdio server whose
 * client subscribed to nothing does not have the runtime build events for this.
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
  readonly #runtime: Runtime;
  readonly #listeners = new Map<ResourceListener, ResourceInterest>();
  readonly #lastDeltaAt = new Map<string, number>();
  /** The runtime subscription while held. */
  #unsubscribe: (() => void) | null = null;

  constructor(runtime: Runtime) {
    this.#runtime = runtime;
  }

  /**
   * Calls `listener` with each changed URI while `interested()` says it may want one (a
   * connection with no subscription asks for nothing: its client gets nothing either way, and
   * three session changes a call with two URIs each were built and looked up for nobody); returns
   * the unsubscribe function. Whoever lets `interested()` turn from false to true calls `wake()`
   * then: changes after it are told, none before.
   */
  subscribe(listener: ResourceListener, interested: ResourceInterest = ALWAYS): () => void {
    this.#listeners.set(listener, interested);
    this.wake();
    return () => {
      this.#listeners.delete(listener);
      if (this.#listeners.size === 0) this.#release();
    };
  }

  /** Subscribes to the runtime if some listener may want an update now and it is not subscribed. */
  wake(): void {
    if (this.#unsubscribe !== null) return;
    for (const interested of this.#listeners.values()) {
      if (interested()) {
        this.#unsubscribe = this.#runtime.subscribe((event) => this.#on(event));
        return;
      }
    }
  }

  /** Whether the runtime subscription is held now. */
  get listening(): boolean {
    return this.#unsubscribe !== null;
  }

  close(): void {
    this.#release();
    this.#listeners.clear();
  }

  #release(): void {
    this.#unsubscribe?.();
    this.#unsubscribe = null;
    this.#lastDeltaAt.clear();
  }

  #on(event: RuntimeEvent): void {
    if (!('sessionId' in event)) return;
    const id = event.sessionId;
    if (event.type === 'session.delta') {
      const last = this.#lastDeltaAt.get(id) ?? 0;
      if (event.at - last < DELTA_UPDATE_MS) return;
      this.#lastDeltaAt.set(id, event.at);
    } else if (event.type === 'session.ended') {
      this.#lastDeltaAt.delete(id);
    }
    let uri: string | undefined;
    for (const [listener, interested] of this.#listeners) {
      if (!interested()) continue;
      uri ??= sessionUri(id);
      listener(uri, id);
      listener(SESSIONS_URI, id);
    }
    // Nobody wanted this one: stop listening until `wake()`.
    if (uri === undefined) this.#release();
  }
}
