/**
 * The `EventBus` port in one process: every instance of one hub hears every message, its own
 * included (as a Redis subscriber hears its own publishes), in the order they were published and
 * never inside the publisher's call: messages are delivered from a microtask, as a message from a
 * server would arrive. A listener that throws is reported to its own instance's `onError`.
 */
import type { BusMessage, CancelMessage, EventBus } from '../ports.js';
import type { RuntimeEvent } from '../types.js';

interface Listener {
  readonly event: (message: BusMessage) => void;
  readonly cancel: (message: CancelMessage) => void;
  readonly onError: (error: unknown) => void;
}

type Delivery =
  | { readonly kind: 'event'; readonly message: BusMessage }
  | { readonly kind: 'cancel'; readonly message: CancelMessage };

/** The channel every instance of one hub shares. */
export class MemoryBusCore {
  private readonly listeners = new Set<Listener>();
  private pending: Delivery[] = [];

  get listenerCount(): number {
    return this.listeners.size;
  }

  listen(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  publish(message: BusMessage): void {
    this.deliver({ kind: 'event', message });
  }

  publishCancel(message: CancelMessage): void {
    // Stryker disable next-line StringLiteral: `flush` tells only 'event' apart; any other kind is a cancel.
    this.deliver({ kind: 'cancel', message });
  }

  private deliver(delivery: Delivery): void {
    this.pending.push(delivery);
    // Stryker disable next-line ConditionalExpression: coalescing only; a flush after the first finds nothing pending.
    if (this.pending.length === 1) queueMicrotask(() => this.flush());
  }

  private flush(): void {
    const batch = this.pending;
    this.pending = [];
    for (const delivery of batch) {
      for (const listener of [...this.listeners]) {
        try {
          if (delivery.kind === 'event') listener.event(delivery.message);
          else listener.cancel(delivery.message);
        } catch (error) {
          listener.onError(error);
        }
      }
    }
  }
}

/** One instance's `EventBus` over the hub's channel. */
export class MemoryEventBus implements EventBus {
  private unlisten: (() => void) | null = null;

  constructor(
    private readonly core: MemoryBusCore,
    private readonly origin: string,
    private readonly onError: (error: unknown) => void,
  ) {}

  publish(event: RuntimeEvent): Promise<void> {
    this.core.publish({ origin: this.origin, event });
    return Promise.resolve();
  }

  publishCancel(message: CancelMessage): Promise<void> {
    this.core.publishCancel(message);
    return Promise.resolve();
  }

  /** `reconnected` never runs: an in-process bus is never cut. */
  listen(handlers: {
    readonly event: (message: BusMessage) => void;
    readonly cancel: (message: CancelMessage) => void;
    readonly reconnected: () => void;
  }): Promise<void> {
    this.unlisten?.();
    this.unlisten = this.core.listen({
      event: handlers.event,
      cancel: handlers.cancel,
      onError: this.onError,
    });
    return Promise.resolve();
  }

  /** Stops hearing the bus (the instance closed). */
  close(): void {
    this.unlisten?.();
    this.unlisten = null;
  }
}
