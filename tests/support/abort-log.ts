/**
 * A provider that forwards to `inner` and records what the tests ask of it: each call (numbered
 * from 1 in `calls`, when given) and the reason of each call that was aborted (`aborted`).
 */
import type { ChatProvider } from '../../src/providers/port.js';

export function withAbortLog(inner: ChatProvider, aborted: string[], calls?: number[]): ChatProvider {
  const watch = (signal: AbortSignal) => {
    calls?.push(calls.length + 1);
    signal.addEventListener('abort', () => aborted.push(String(signal.reason)), { once: true });
  };
  return {
    name: inner.name,
    complete: (request, options) => {
      watch(options.signal);
      return inner.complete(request, options);
    },
    stream: (request, options) => {
      watch(options.signal);
      return inner.stream(request, options);
    },
  };
}
