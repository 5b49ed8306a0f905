/**
 * `checkRuntimeProperties` with your providers (the real clock) leaves no timer behind when it
 * resolves. Before, each run raced its shutdown against a 6 s timer it never cleared, so a script
 * running the check stayed alive 6 s after it passed, with one such timer per run.
 */
import { expect, it } from 'vitest';
import type { ChatProvider } from '../../../src/providers/port.js';
import { checkRuntimeProperties } from '../../../src/testing/index.js';

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(signal.reason);
      },
      { once: true },
    );
  });

const provider: ChatProvider = {
  name: 'inproc',
  async complete(_request, { signal }) {
    await sleep(2, signal);
    return {
      content: 'ok',
      finishReason: 'stop',
      usage: { promptTokens: 1, completionTokens: 1, totalTokens: 2 },
    };
  },
  async *stream(_request, { signal }) {
    await sleep(2, signal);
    yield { type: 'content', text: 'ok' };
    yield { type: 'finish', reason: 'stop' };
  },
};

const timers = () => process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;

it('leaves no timer running after it resolves', async () => {
  const before = timers();
  await checkRuntimeProperties({
    providers: [provider],
    contract: false,
    numRuns: 3,
    maxCommands: 8,
    seed: 1,
  });
  // A moment for the runtime's own unref'd timers to be cleared by its shutdown.
  await new Promise((resolve) => setImmediate(resolve));
  expect(timers()).toBeLessThanOrEqual(before);
});
