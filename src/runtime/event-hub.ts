/**
 * Where session and supervisor events go: the session's own streams (`handle.events`) and the
 * runtime's subscribers. Callers ask `wants()` first, so no event object is built when nobody listens.
 */
import { reportError } from './requests.js';
import type { SessionRecord } from './session-record.js';
import type { RuntimeEvent, SessionEvent } from './types.js';

export class EventHub {
  private readonly listeners = new Set<(event: RuntimeEvent) => void>();

  private readonly report: (error: unknown) => void;

  constructor(onError: (error: unknown) => void) {
    this.report = safeReporter(onError);
  }

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

  /**
   * Tells the session's observers `event` and the subscribers the same event with the session's
   * provider and label. `event` must be a new object made for this call: when no observer holds it
   * (a session nobody follows, the usual case) the two fields are added to it rather than to a
   * copy, which on a busy runtime was one more object and a generic copy per event.
   */
  emit(record: SessionRecord, event: SessionEvent): void {
    const observers = record.observers;
    if (observers !== null) for (const stream of observers) stream.push(event);
    // Stryker disable next-line ConditionalExpression,EqualityOperator: a shortcut that saves building the event; with no subscriber `broadcast` calls nobody.
    if (this.listeners.size > 0) {
      const told = (observers === null ? event : Object.assign({}, event)) as RuntimeEvent & {
        provider: string;
        label: string | undefined;
      };
      // An end names the target the session ended on: one held at its hop's gate has not yet
      // taken that provider's slot (`record.provider` is still the one it left).
      told.provider = event.type === 'session.ended' ? event.result.metadata.provider : record.provider;
      told.label = record.label;
      this.broadcast(told);
    }
  }

  broadcast(event: RuntimeEvent): void {
    for (const listener of this.listeners) tell(listener, event, this.report);
  }
}

/**
 * Tells one subscriber an event. A listener's bug must not break the runtime, nor vanish: a throw,
 * or an async listener's rejection (until 2026-12-04 unhandled: Node ended the process), goes to
 * `report`. The local runtime and the cluster's both tell their subscribers through it.
 */
export function tell<T>(listener: (event: T) => void, event: T, report: (error: unknown) => void): void {
  try {
    const returned = listener(event) as unknown;
    if (typeof (returned as PromiseLike<unknown> | null)?.then === 'function')
      (returned as PromiseLike<unknown>).then(undefined, report);
  } catch (error) {
    report(error);
  }
}

/**
 * `onError`, with what it throws sent to the process's warnings (the default reporter). Before
 * 2026-12-04 that throw failed the session whose event it was (`INTERNAL`), or made `submit` throw
 * with the session already queued.
 */
export function safeReporter(onError: (error: unknown) => void): (error: unknown) => void {
  return (error) => {
    try {
      onError(error);
    } catch (thrown) {
      reportError(thrown);
    }
  };
}
