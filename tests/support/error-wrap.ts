/**
 * An adapter whose errors pass through `change` on their way out, `complete()`'s and `stream()`'s
 * alike (its `streamTo()` left out, so the contract reads `stream()`): for a test that gives a
 * correct adapter one mistake in what its errors carry.
 */
import type { ChatProvider } from '../../src/providers/port.js';

export function withErrors(adapter: ChatProvider, change: (error: unknown) => unknown): ChatProvider {
  return {
    ...adapter,
    complete: (request, options) =>
      adapter.complete(request, options).catch((error: unknown) => Promise.reject(change(error))),
    async *stream(request, options) {
      try {
        yield* adapter.stream(request, options);
      } catch (error) {
        throw change(error);
      }
    },
    streamTo: undefined,
  };
}
