/**
 * A runtime property failure prints `replay with seed N, path "…"`: both go back into
 * `checkRuntimeProperties`, and the replay runs that one (already shrunk) case.
 */
import { describe, expect, it } from 'vitest';
import { providerError } from '../../../src/core/errors.js';
import type {
  CallOptions,
  ChatDelta,
  ChatProvider,
  ChatRequest,
  ChatResponse,
} from '../../../src/providers/port.js';
import { checkRuntimeProperties } from '../../../src/testing/model.js';

/** Rejects 300 ms after its abort: `callsReleased` breaks whenever a session of it is cancelled. */
function slowToRelease(calls: { n: number }): ChatProvider {
  const complete = (_: ChatRequest, { signal }: CallOptions) =>
    new Promise<ChatResponse>((resolve, reject) => {
      calls.n += 1;
      const timer = setTimeout(() => resolve({ content: 'answer' }), 1000);
      signal.addEventListener('abort', () => {
        setTimeout(() => {
          clearTimeout(timer);
          reject(providerError('CANCELLED', 'Expected the call to finish, got an abort'));
        }, 300);
      });
    });
  return {
    name: 'p0',
    complete,
    async *stream(request, options): AsyncIterable<ChatDelta> {
      yield { type: 'content', text: (await complete(request, options)).content };
    },
  };
}

const failureOf = (run: Promise<void>) =>
  run.then(
    () => undefined,
    (error: unknown) => (error instanceof Error ? error.message : String(error)),
  );

describe('replaying a runtime property failure', () => {
  it('takes the printed seed and path and runs just that case', async () => {
    const options = { contract: false as const, numRuns: 30, maxCommands: 8, maxDeadlineMs: 400 };
    const first = await failureOf(
      checkRuntimeProperties({ ...options, seed: 7, providers: [slowToRelease({ n: 0 })] }),
    );
    expect(first).toMatch(/callsReleased/);
    const [, seed, path, replayPath] =
      /replay with seed (\d+), path "([^"]+)" \(options \{ seed: \d+, path: "[^"]+", replayPath: "([^"]*)" \}\)/.exec(
        first ?? '',
      ) ?? [];
    expect(seed).toBe('7');
    const calls = { n: 0 };
    const replay = await failureOf(
      checkRuntimeProperties({
        ...options,
        seed: Number(seed),
        path,
        replayPath,
        providers: [slowToRelease(calls)],
      }),
    );
    expect(replay).toMatch(/callsReleased/);
    // The shrunk case alone: one run, nothing left to shrink.
    expect(replay).toMatch(/failed after 1 runs/);
    expect(replay).toMatch(/Shrunk 0 time/);
  }, 120_000);

  it('refuses a path without its seed', async () => {
    await expect(checkRuntimeProperties({ path: '0:1', contract: false, numRuns: 1 })).rejects.toThrow(
      /Expected `seed` with `path`/,
    );
  });
});
