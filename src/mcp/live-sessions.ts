/**
 * Live sessions by state, for the `sessions` tool: `RuntimeStatus` counts them, this keeps the ids.
 * Fed by `runtime.subscribe()`, so it costs one map entry per live session and nothing after.
 */
import type { Runtime, RuntimeEvent } from '../runtime/types.js';

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

  constructor(runtime: Runtime) {
    this.#unsubscribe = runtime.subscribe((event) => this.#on(event));
  }

  list(): readonly LiveSession[] {
    return [...this.#sessions.values()];
  }

  get(id: string): LiveSession | undefined {
    return this.#sessions.get(id);
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
