/**
 * Live sessions by state, for the `sessions` tool: `RuntimeStatus` counts them, this keeps the ids.
 * Fed by `runtime.subscribe()`, so it costs one map entry per live session and nothing after.
 *
 * What it lists is checked against the runtime as it is read: an entry the runtime no longer has
 * live is dropped. Events alone left some for good on a cluster (an audit, 2026-12-04): a Redis
 * that came back empty takes the sessions of an instance that died meanwhile out of the runtime's
 * view with no event, and a `session.queued` heard late from a frozen Redis came after the end the
 * backstop had already told. Until then the `sessions` tool and `troupe://sessions` showed them
 * `queued` for good while the counts said 0.
 */
import type { Runtime, RuntimeEvent, SessionSummary } from '../runtime/types.js';

export interface LiveSession {
  readonly sessionId: string;
  readonly state: 'queued' | 'running';
  readonly provider: string;
  readonly label?: string;
  /** Sessions ahead of it when it was last queued (0: next); not updated as the queue moves. */
  readonly position?: number;
  /** Characters received so far, for streaming sessions. */
  readonly chars?: number;
  readonly since: number;
}

export class LiveSessions {
  readonly #sessions = new Map<string, LiveSession>();
  readonly #unsubscribe: () => void;
  readonly #runtime: Runtime;

  constructor(runtime: Runtime) {
    this.#runtime = runtime;
    this.#unsubscribe = runtime.subscribe((event) => this.#on(event));
  }

  /**
   * The live sessions `keep` takes, at most `limit`: `keep` first, so that only those it takes are
   * checked against the runtime (a caller's own among 10,000 live, or the first 50 of a list).
   */
  list(keep?: (session: LiveSession) => boolean, limit = Number.POSITIVE_INFINITY): readonly LiveSession[] {
    const live: LiveSession[] = [];
    for (const [id, session] of this.#sessions) {
      if (live.length >= limit) break;
      if (keep !== undefined && !keep(session)) continue;
      if (this.#gone(id)) this.#sessions.delete(id);
      else live.push(session);
    }
    return live;
  }

  get(id: string): LiveSession | undefined {
    if (!this.#sessions.has(id)) return undefined;
    if (!this.#gone(id)) return this.#sessions.get(id);
    this.#sessions.delete(id);
    return undefined;
  }

  /** The runtime's summary of a session, live or one of its recently ended (`historySize`). */
  summary(id: string): SessionSummary | undefined {
    return this.#runtime.session(id);
  }

  /** The runtime has it ended, or not at all. */
  #gone(id: string): boolean {
    const state = this.#runtime.session(id)?.state;
    return state !== 'queued' && state !== 'running';
  }

  close(): void {
    this.#unsubscribe();
    this.#sessions.clear();
  }

  #on(event: RuntimeEvent): void {
    // Object literals written out whole (no shared `base` spread in): one allocation per change.
    switch (event.type) {
      case 'session.queued':
        this.#sessions.set(event.sessionId, {
          sessionId: event.sessionId,
          provider: event.provider,
          label: event.label,
          state: 'queued',
          position: event.position,
          since: event.at,
        });
        return;
      case 'session.started':
        this.#sessions.set(event.sessionId, {
          sessionId: event.sessionId,
          provider: event.provider,
          label: event.label,
          state: 'running',
          since: event.at,
        });
        return;
      case 'session.delta': {
        const known = this.#sessions.get(event.sessionId);
        if (known !== undefined) this.#sessions.set(event.sessionId, { ...known, chars: event.chars });
        return;
      }
      case 'session.ended':
        this.#sessions.delete(event.sessionId);
        return;
      default:
        return;
    }
  }
}
