/**
 * `callsReleased` as `ProviderWatch` words it, for a provider of yours that runs on after its
 * session ended. Until 2026-12-05 it said only "provider call 0 (complete) was still running 308 ms
 * after its session ended": not which provider (with several given), nor what to change.
 */
import { describe, expect, it } from 'vitest';
import type { ChatDelta, ChatProvider } from '../../../src/providers/port.js';
import { ProviderWatch } from '../../../src/testing/watched-provider.js';

const request = { model: 'm', messages: [{ role: 'user' as const, content: 'hi' }] };

/** Ignores its signal: never settles. */
const deaf: ChatProvider = {
  name: 'acme',
  complete: () => new Promise(() => {}),
  stream: (): AsyncIterable<ChatDelta> => ({
    [Symbol.asyncIterator]: () => ({ next: () => new Promise(() => {}) }),
  }),
};

describe('ProviderWatch’s callsReleased message', () => {
  it('names the provider and says what to do with the signal, for a call still running', () => {
    const watch = new ProviderWatch([deaf], 100);
    const controller = new AbortController();
    void watch.providers[0]?.complete(request, { signal: controller.signal });
    controller.abort();
    const abortedAt = watch.calls[0]?.abortedAt ?? 0;
    expect(watch.violations(abortedAt + 300)).toEqual([
      {
        invariant: 'callsReleased',
        detail:
          'provider call 0 (complete) was still running 300 ms after its session ended: its signal aborted then, and "acme" must pass it to every request and read, and reject (or end the stream by throwing) when it aborts',
      },
    ]);
  });

  it('says the same of a stream that settled past the bound', async () => {
    let release: () => void = () => {};
    const late: ChatProvider = {
      ...deaf,
      name: 'slow',
      stream: (): AsyncIterable<ChatDelta> => ({
        [Symbol.asyncIterator]: () => ({
          next: () =>
            new Promise((resolve) => {
              release = () => resolve({ done: true, value: undefined });
            }),
        }),
      }),
    };
    const watch = new ProviderWatch([late], 50);
    const controller = new AbortController();
    const iterator = watch.providers[0]
      ?.stream(request, { signal: controller.signal })
      [Symbol.asyncIterator]();
    const step = iterator?.next();
    controller.abort();
    const call = watch.calls[0];
    if (call === undefined) throw new Error('no call recorded');
    release();
    await step;
    call.settledAt = (call.abortedAt ?? 0) + 80;
    expect(watch.violations()[0]?.detail).toBe(
      'provider call 0 (stream) settled 80 ms after its session ended (bound 50 ms): its signal aborted then, and "slow" must pass it to every request and read, and reject (or end the stream by throwing) when it aborts',
    );
  });

  it('judges nothing of a call that settled within the bound', () => {
    const watch = new ProviderWatch([deaf], 100);
    const controller = new AbortController();
    void watch.providers[0]?.complete(request, { signal: controller.signal });
    controller.abort();
    const call = watch.calls[0];
    if (call === undefined) throw new Error('no call recorded');
    call.settledAt = (call.abortedAt ?? 0) + 20;
    expect(watch.violations()).toEqual([]);
  });
});
