/**
 * A provider whose calls answer only when a test says so: every order of starts a test sees is
 * decided by admission alone. `started` lists the calls (their last message's text) as they start;
 * `answer(text)` answers the one running with that text; an aborted call rejects with its reason.
 */
import type { ChatProvider } from '../../src/providers/port.js';

export function heldProvider(name = 'p') {
  const started: string[] = [];
  const waiting = new Map<string, () => void>();
  const provider = {
    name,
    complete(request: { messages: readonly { content: string | null }[] }, options: { signal: AbortSignal }) {
      const text = String(request.messages.at(-1)?.content);
      started.push(text);
      return new Promise((resolve, reject) => {
        waiting.set(text, () => resolve({ content: text }));
        options.signal.addEventListener('abort', () => reject(options.signal.reason), { once: true });
      });
    },
    // biome-ignore lint/correctness/useYield: not streamed here.
    async *stream() {
      throw new Error('not used');
    },
  } as unknown as ChatProvider;
  const answer = (text: string) => {
    const go = waiting.get(text);
    if (go === undefined) throw new Error(`Expected a call "${text}" running, got none`);
    waiting.delete(text);
    go();
  };
  return { provider, started, answer };
}
