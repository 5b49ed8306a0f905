/**
 * What the tests of answers waiting for their clients share: a provider whose answers are large, and
 * a fetch for the SDK's client that holds back what it reads, as a client on a slow link (or one that
 * has stopped reading) would.
 */
import type { ChatProvider, ChatRequest, ChatResponse } from '../../../src/providers/port.js';

/**
 * A provider whose every answer is `text` characters long (or as long as `text` says for the call's
 * last message); `answered` counts them.
 */
export function largeAnswers(
  text: number | ((prompt: string) => number),
): ChatProvider & { answered: number } {
  const usage = { promptTokens: 1, completionTokens: 1, totalTokens: 2 };
  const answer = (request: ChatRequest) =>
    'x'.repeat(typeof text === 'number' ? text : text(String(request.messages.at(-1)?.content)));
  const provider = {
    name: 'large',
    answered: 0,
    async complete(request: ChatRequest): Promise<ChatResponse> {
      provider.answered += 1;
      return { content: answer(request), usage, finishReason: 'stop' };
    },
    async *stream(request: ChatRequest) {
      provider.answered += 1;
      yield { type: 'content' as const, text: answer(request) };
      yield { type: 'usage' as const, usage };
    },
  };
  return provider;
}

/** A fetch whose responses' bodies are read only once `open()` is called, while `hold()` is in force. */
export function slowLink() {
  let opened: Promise<void> = Promise.resolve();
  let open = () => {};
  const fetchHeld = async (url: string | URL, init?: RequestInit): Promise<Response> => {
    const response = await fetch(url, init);
    const gate = opened;
    if (response.body === null) return response;
    const held = new TransformStream<Uint8Array, Uint8Array>({
      async transform(chunk, controller) {
        await gate;
        controller.enqueue(chunk);
      },
    });
    const { status, statusText, headers } = response;
    return new Response(response.body.pipeThrough(held), { status, statusText, headers });
  };
  return {
    fetch: fetchHeld,
    hold() {
      opened = new Promise((resolve) => {
        open = resolve;
      });
    },
    open: () => open(),
  };
}
