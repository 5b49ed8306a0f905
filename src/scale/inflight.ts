/**
 * What a cluster runtime has asked of its ports and not heard back from yet. The cluster runtime
 * reaches its ports only through `wrap`ped ones, so every call that returns a promise is counted
 * until it settles; on shutdown `drain` waits for them all before the ports' connections close.
 * Without it a call nobody awaits (a limiter's settle of a session the shutdown cancelled, an
 * event published, a sweep) went out on a connection that was closing and reached `onError` as
 * "Connection is closed." after `shutdown()` had resolved.
 */
import { type Clock, settlesWithin } from '../core/clock.js';
import type { ClusterPorts } from '../runtime/ports.js';

export class Inflight {
  private readonly pending = new Set<Promise<unknown>>();

  get size(): number {
    return this.pending.size;
  }

  /** `port` with every call that returns a promise counted until it settles; the rest as they are. */
  wrap<P extends object>(port: P): P {
    // One wrapper per method, made on first use (not one per call).
    const wrappers = new WeakMap<(...args: unknown[]) => unknown, (...args: unknown[]) => unknown>();
    return new Proxy(port, {
      get: (target, name) => {
        const value: unknown = Reflect.get(target, name, target);
        if (typeof value !== 'function') return value;
        const method = value as (...args: unknown[]) => unknown;
        let wrapper = wrappers.get(method);
        if (wrapper === undefined) {
          wrapper = (...args: unknown[]) => {
            const result = Reflect.apply(method, target, args);
            if (result instanceof Promise) this.track(result);
            return result;
          };
          wrappers.set(method, wrapper);
        }
        return wrapper;
      },
    });
  }

  /** The cluster's ports with the queue, its limits, the shared state, the store and the bus wrapped. */
  ports(ports: ClusterPorts): ClusterPorts {
    const { queue, limits, state, store, bus } = ports;
    return {
      ...ports,
      queue: this.wrap(queue),
      limits: this.wrap(limits),
      state: this.wrap(state),
      store: this.wrap(store),
      bus: this.wrap(bus),
    };
  }

  private track(promise: Promise<unknown>): void {
    this.pending.add(promise);
    const forget = () => this.pending.delete(promise);
    // The caller has the promise and its rejection; this copy only counts it.
    promise.then(forget, forget);
  }

  /**
   * Resolves once no call is in flight, or after `boundMs` on `clock` (a call that never answers
   * does not hold a shutdown forever). A settled call's continuation may make the next call of its
   * work (a compare-and-set after its read, a sweep's next step) in the microtasks that follow:
   * after one turn of the event loop it has made it, or made none. So the set is looked at again
   * after each turn until it stays empty.
   */
  async drain(clock: Clock, boundMs: number): Promise<void> {
    const deadlineAt = clock.now() + boundMs;
    for (;;) {
      await nextTurn();
      if (this.pending.size === 0) return;
      const left = Math.max(0, deadlineAt - clock.now());
      if (!(await settlesWithin(clock, Promise.allSettled([...this.pending]), left))) return;
    }
  }
}

/** After every microtask queued so far: not a timer, no time passes on any clock. */
function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
