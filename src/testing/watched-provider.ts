/**
 * Watches a provider of yours while the runtime uses it: when each call started, when its signal
 * aborted (its session ended) and when the call itself settled (the promise, or the stream's
 * iteration, or the pushed `streamTo()`). A call still running past the bound after its session ended breaks `callsReleased`,
 * as an un-aborted scripted call does. A wrapper, so the runtime needs no hook.
 */
import type { CallOptions, ChatDelta, ChatProvider, ChatRequest, ChatResponse } from '../providers/port.js';
import type { Violation } from './invariants.js';

interface WatchedCall {
  readonly id: number;
  readonly kind: 'complete' | 'stream' | 'streamTo';
  /** The provider's `name`, for the message. */
  readonly provider: string;
  readonly signal: AbortSignal;
  abortedAt: number | undefined;
  settledAt: number | undefined;
}

export class ProviderWatch {
  readonly calls: WatchedCall[] = [];
  readonly providers: ChatProvider[];

  constructor(
    providers: readonly ChatProvider[],
    /** How long a call may run on after its session ended, in ms. @default 100 */
    readonly releaseWithinMs = 100,
  ) {
    this.providers = providers.map((provider) => this.wrap(provider));
  }

  private record(kind: WatchedCall['kind'], signal: AbortSignal, provider: string): WatchedCall {
    const call: WatchedCall = {
      id: this.calls.length,
      kind,
      provider,
      signal,
      abortedAt: undefined,
      settledAt: undefined,
    };
    if (signal.aborted) call.abortedAt = Date.now();
    else signal.addEventListener('abort', () => (call.abortedAt = Date.now()), { once: true });
    this.calls.push(call);
    return call;
  }

  private wrap(provider: ChatProvider): ChatProvider {
    const watch = this;
    const wrapped: ChatProvider = {
      name: provider.name,
      complete(request: ChatRequest, options: CallOptions): Promise<ChatResponse> {
        const call = watch.record('complete', options.signal, provider.name);
        const settle = () => {
          call.settledAt ??= Date.now();
        };
        const result = Promise.resolve().then(() => provider.complete(request, options));
        result.then(settle, settle);
        return result;
      },
      stream(request: ChatRequest, options: CallOptions): AsyncIterable<ChatDelta> {
        const call = watch.record('stream', options.signal, provider.name);
        const settle = () => {
          call.settledAt ??= Date.now();
        };
        const source = provider.stream(request, options);
        return {
          [Symbol.asyncIterator](): AsyncIterator<ChatDelta> {
            const it = source[Symbol.asyncIterator]();
            return {
              next: () =>
                it.next().then(
                  (step) => {
                    if (step.done) settle();
                    return step;
                  },
                  (error: unknown) => {
                    settle();
                    throw error;
                  },
                ),
              return: async (value?: unknown) => {
                try {
                  return (await it.return?.(value)) ?? { done: true, value: undefined };
                } finally {
                  settle();
                }
              },
            };
          },
        };
      },
    };
    // The runtime prefers a pushed stream when the adapter has one: keep it, watched, so the
    // model-based runs call the adapter the way production does.
    const streamTo = provider.streamTo;
    if (streamTo !== undefined)
      wrapped.streamTo = (request, options, onDelta) => {
        const call = watch.record('streamTo', options.signal, provider.name);
        const settle = () => {
          call.settledAt ??= Date.now();
        };
        const result = Promise.resolve().then(() => streamTo.call(provider, request, options, onDelta));
        result.then(settle, settle);
        return result;
      };
    if (provider.close !== undefined) wrapped.close = () => provider.close?.() ?? Promise.resolve();
    return wrapped;
  }

  /** Waits (at most past the bound, plus a little) for calls whose session ended to settle. */
  async released(): Promise<void> {
    const until = Date.now() + this.releaseWithinMs + 200;
    while (Date.now() < until && this.calls.some((c) => c.settledAt === undefined)) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  /** `callsReleased` violations: calls that ran on past the bound after their session ended. */
  violations(now = Date.now()): Violation[] {
    const out: Violation[] = [];
    for (const call of this.calls) {
      if (call.abortedAt === undefined) {
        if (call.settledAt === undefined)
          out.push({
            invariant: 'callsReleased',
            detail: `provider call ${call.id} (${call.kind}) was neither settled nor aborted after every session ended`,
          });
        continue;
      }
      const end = call.settledAt ?? now;
      if (call.settledAt !== undefined && call.settledAt <= call.abortedAt) continue;
      if (end - call.abortedAt > this.releaseWithinMs)
        out.push({
          invariant: 'callsReleased',
          detail: `${
            call.settledAt === undefined
              ? `provider call ${call.id} (${call.kind}) was still running ${end - call.abortedAt} ms after its session ended`
              : `provider call ${call.id} (${call.kind}) settled ${end - call.abortedAt} ms after its session ended (bound ${this.releaseWithinMs} ms)`
          }: its signal aborted then, and "${call.provider}" must pass it to every request and read, and reject (or end the stream by throwing) when it aborts`,
        });
    }
    return out;
  }
}
