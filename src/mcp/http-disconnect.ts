/**
 * A 2025-era POST stream that closed before its answer (`http.ts`). The 2025-11-25 transport says a
 * disconnection "SHOULD NOT be interpreted as the client cancelling its request": a client whose
 * network blinked resumes the stream with `GET` and `Last-Event-ID` and gets the answer. So the calls
 * it carried are cancelled only if no resume of that stream comes within `graceMs`; one that comes
 * keeps them. Until 2026-12-03 they were cancelled at once, and a client that resumed got
 * `CANCELLED` (the provider's request aborted). A client that went away for good holds its calls
 * `graceMs` longer; 0 cancels at once, as before.
 */
import type { EventStore } from '@modelcontextprotocol/server';
import { requestKey } from './request-ids.js';

type RequestId = string | number;

export class DisconnectedCalls {
  readonly #waiting = new Map<
    string,
    { readonly sid: string; readonly timer: ReturnType<typeof setTimeout> }
  >();

  constructor(
    private readonly graceMs: number,
    private readonly calls: {
      abort(sid: string, id: RequestId, reason: string): void;
      has(sid: string, id: RequestId): boolean;
    },
  ) {}

  /**
   * The POST of session `sid` that carried `ids` closed before its answer. Only a call in flight
   * waits for a resume, so what waits is bounded by the caller's calls (its share of the queue):
   * any other id a client sent is aborted at once, as before (the registry keeps a bounded few).
   */
  closed(sid: string, ids: readonly RequestId[]): void {
    const reason = 'the HTTP response stream was closed and not resumed';
    for (const id of ids) {
      if (this.graceMs <= 0 || !this.calls.has(sid, id)) {
        this.calls.abort(sid, id, reason);
        continue;
      }
      const key = requestKey(sid, id);
      clearTimeout(this.#waiting.get(key)?.timer);
      const timer = setTimeout(() => {
        this.#waiting.delete(key);
        this.calls.abort(sid, id, reason);
      }, this.graceMs);
      timer.unref();
      this.#waiting.set(key, { sid, timer });
    }
  }

  /** The client resumed the stream that carries `ids`: they go on. */
  resumed(sid: string, ids: readonly RequestId[]): void {
    for (const id of ids) {
      const key = requestKey(sid, id);
      clearTimeout(this.#waiting.get(key)?.timer);
      this.#waiting.delete(key);
    }
  }

  /** The session closed: its calls end with it, so nothing is left to wait for. */
  forget(sid: string): void {
    for (const [key, waiting] of this.#waiting) {
      if (waiting.sid !== sid) continue;
      clearTimeout(waiting.timer);
      this.#waiting.delete(key);
    }
  }

  /** Calls waiting for a resume now. */
  get size(): number {
    return this.#waiting.size;
  }
}

/** `store` (an object of functions), telling `onResume` the stream each `Last-Event-ID` replay resumed. */
export function watchResumes<S extends EventStore>(store: S, onResume: (streamId: string) => void): S {
  return {
    ...store,
    async replayEventsAfter(lastEventId: string, callbacks: Parameters<EventStore['replayEventsAfter']>[1]) {
      const streamId = await store.replayEventsAfter(lastEventId, callbacks);
      onResume(streamId);
      return streamId;
    },
  };
}
