/**
 * Where session and supervisor events go: the session's own streams (`handle.events`) and the
 * runtime's subscribers. Callers ask `wants()` first, so no event object is built when nobody listens.
 */
import type { SessionRecord } from './session-record.js';
import type { RuntimeEvent, SessionEvent } from './types.js';

export class EventHub {
  private readonly listeners = new Set<(event: RuntimeEvent) => void>();

  constructor(private readonly onError: (error: unknown) => void) {}

  get listening(): boolean {
    return this.listeners.size > 0;
  }

  /** Whether anyone would receive an event about this session. */
  wants(record: SessionRecord): boolean {
    return this.listeners.size > 0 || record.observers !== null;
  }

  subscribe(listener: (event: RuntimeEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(record: SessionRecord, event: SessionEvent): void {
    if (record.observers !== null) for (const stream of record.observers) stream.push(event);
    // Stryker disable next-line ConditionalExpression,EqualityOperator: a shortcut that saves building the event; with no subscriber `broadcast` calls nobody.
    if (this.listeners.size > 0) {
      this.broadcast(Object.assign({}, event, { provider: record.provider, label: record.label }));
    }
  }

  broadcast(event: RuntimeEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (error) {
        // A listener's bug must not break the runtime, nor vanish.
        this.onError(error);
      }
    }
  }
}
