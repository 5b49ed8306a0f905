/**
 * Where session and supervisor events go: the session's own streams (`handle.events`) and the
 * runtime's subscribers. Callers ask `wants()` first, so no event object is built when nobody listens.
 */
import { safeReporter } from '../core/listener-warning.js';
import type { SessionRecord } from './session-record.js';
import type { RuntimeEvent, SessionEvent } from './types.js';

export { safeReporter } from '../core/listener-warning.js';

export class EventHub {
  private readonly listeners = new Listeners<RuntimeEvent>();

  /** The runtime's `onError`, made safe (`safeReporter`): where the runtime reports what nobody awaits. */
  readonly report: (error: unknown) => void;

  /**
   * @param stamp turns a session event's `at` into the time its user reads (`WallTimes.stamp`: the
   * wall clock, where the runtime's clock is a steady one); absent, `at` stays as made.
   */
  constructor(
    onError: (error: unknown) => void,
    private readonly stamp?: (at: number) => number,
  ) {
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
    return this.listeners.add(listener);
  }

  /**
   * Tells the session's observers `event` and the subscribers the same event with the session's
   * provider and label. `event` must be a new object made for this call: when no observer holds it
   * (a session nobody follows, the usual case) the two fields are added to it rather than to a
   * copy, which on a busy runtime was one more object and a generic copy per event.
   */
  emit(record: SessionRecord, event: SessionEvent): void {
    if (this.stamp !== undefined) (event as { at: number }).at = this.stamp(event.at);
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
    this.listeners.tell(event, this.report);
  }
}

/**
 * A runtime's subscribers, in the order they subscribed (one entry per function, as a `Set`). An
 * event goes to those subscribed when its broadcast began: one that a listener subscribes while
 * being told hears the next event, not this one (until 2026-12-05 the walk of a `Set` reached what
 * was added during it). Without a copy per event, since a broadcast runs per streamed chunk: each
 * entry keeps the number of its subscription, and the walk stops at the first one newer than itself.
 */
export class Listeners<T> {
  readonly #entries = new Map<
    (event: T) => void,
    { readonly listener: (event: T) => void; readonly n: number }
  >();
  #subscribed = 0;

  get size(): number {
    return this.#entries.size;
  }

  /** Subscribes `listener` (again: no second entry) and returns its unsubscribe. */
  add(listener: (event: T) => void): () => void {
    if (!this.#entries.has(listener)) this.#entries.set(listener, { listener, n: this.#subscribed++ });
    return () => {
      this.#entries.delete(listener);
    };
  }

  /** Tells `event` to each listener subscribed before this call, through `tell`; one removed meanwhile, not yet told, is not. */
  tell(event: T, report: (error: unknown) => void): void {
    const end = this.#subscribed;
    for (const entry of this.#entries.values()) {
      if (entry.n >= end) return;
      tell(entry.listener, event, report);
    }
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
