/**
 * `callerShareWatch` (src/mcp/caller-shares.ts): told that a second caller's sessions are in flight
 * beside another's, it reads the runtime's limits once and warns once when they give one caller all
 * the slots or all the queue, unless the embedder chose that (`allowNoCallerShare`). Over real HTTP:
 * tests/integration/mcp/caller-share-warning.test.ts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { callerShareWatch, chooseNoCallerShare, wholeShares } from '../../../src/mcp/caller-shares.js';
import type { RuntimeStatus } from '../../../src/runtime/types.js';

type Limits = Pick<
  RuntimeStatus,
  'maxConcurrent' | 'maxRunningPerCaller' | 'maxQueued' | 'maxQueuedPerCaller'
>;

/** A runtime whose `status` answers `limits`, counting its reads (and what each asked). */
function runtimeOf(limits: Limits) {
  const runtime = {
    reads: 0,
    asked: [] as unknown[],
    status(options?: unknown) {
      runtime.reads += 1;
      runtime.asked.push(options);
      return limits as RuntimeStatus;
    },
  };
  return runtime;
}

const NO_SHARE: Limits = {
  maxConcurrent: 8,
  maxRunningPerCaller: 8,
  maxQueued: 10_000,
  maxQueuedPerCaller: 10_000,
};

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

describe('callerShareWatch', () => {
  it('warns once, naming the whole limits, the values to set and the kinds of caller, never their keys', () => {
    const runtime = runtimeOf(NO_SHARE);
    const warned: string[] = [];
    const watch = callerShareWatch(runtime, (message) => warned.push(message));
    // An embedder's user id may hold any character, a line break too.
    watch(['token:alice', 'mcp:8c2f-secret-session', 'user:bob\nsmith', 'anonymous', 'user:carol']);
    watch(['token:alice', 'user:bob']);
    expect(runtime.reads).toBe(1);
    expect(runtime.asked).toEqual([{ recent: 0 }]); // the limits, and no ended session's summary
    expect(warned).toEqual([
      "troupe: sessions of several callers (token:…, mcp:…, user:…, anonymous) are in flight at once on a runtime that gives each caller no share of its slots and queue, got limits.maxRunningPerCaller 8 of maxConcurrent 8 and limits.maxQueuedPerCaller 10000 of maxQueued 10000: one caller's calls can take them all while the others' wait out their deadlines; set createRuntime({ limits: { maxRunningPerCaller: 6, maxQueuedPerCaller: 2500 } }) (troupe serve's: three quarters of maxConcurrent, a quarter of maxQueued). Told once per runtime",
    ]);
  });

  it('names only the limit left whole', () => {
    const warned: string[] = [];
    callerShareWatch(runtimeOf({ ...NO_SHARE, maxRunningPerCaller: 6 }), (m) => warned.push(m))(['a', 'b']);
    callerShareWatch(runtimeOf({ ...NO_SHARE, maxQueuedPerCaller: 9_999 }), (m) => warned.push(m))([
      'a',
      'b',
    ]);
    expect(warned.map((message) => message.split(', got ')[1]?.split(':')[0])).toEqual([
      'limits.maxQueuedPerCaller 10000 of maxQueued 10000',
      'limits.maxRunningPerCaller 8 of maxConcurrent 8',
    ]);
  });

  it('says nothing, and reads no more, with shares, with nothing to share, or once the embedder chose none', () => {
    const warned: string[] = [];
    const chosen = runtimeOf(NO_SHARE);
    chooseNoCallerShare(chosen);
    const runtimes = [
      runtimeOf({ ...NO_SHARE, maxRunningPerCaller: 6, maxQueuedPerCaller: 2500 }),
      runtimeOf({ maxConcurrent: 1, maxRunningPerCaller: 1, maxQueued: 1, maxQueuedPerCaller: 1 }),
      chosen,
    ];
    for (const runtime of runtimes) {
      const watch = callerShareWatch(runtime, (message) => warned.push(message));
      watch(['user:a', 'user:b']);
      watch(['user:a', 'user:b']);
    }
    expect(warned).toEqual([]);
    expect(runtimes.map((runtime) => runtime.reads)).toEqual([1, 1, 0]);
  });

  it('warns through the process’s warnings by default, under TROUPE_NO_CALLER_SHARE', async () => {
    const warnings: (Error & { code?: string })[] = [];
    const listen = (warning: Error & { code?: string }) => warnings.push(warning);
    process.on('warning', listen);
    cleanups.push(() => process.off('warning', listen));
    callerShareWatch(runtimeOf(NO_SHARE))(['user:a', 'user:b']);
    await new Promise((resolve) => setTimeout(resolve, 10));
    const ours = warnings.filter((warning) => warning.code === 'TROUPE_NO_CALLER_SHARE');
    expect(ours).toHaveLength(1);
    expect(ours[0]?.message).toMatch(/^troupe: sessions of several callers \(user:…\) are in flight at once/);
  });
});

describe('wholeShares', () => {
  it('counts a share at the limit as whole, and one below it as a share', () => {
    const want = { maxRunningPerCaller: 6, maxQueuedPerCaller: 2500 };
    expect(
      wholeShares({ ...NO_SHARE, maxRunningPerCaller: 9, maxQueuedPerCaller: 10_001 }, want),
    ).toHaveLength(2);
    expect(wholeShares({ ...NO_SHARE, maxRunningPerCaller: 7, maxQueuedPerCaller: 9_999 }, want)).toEqual([]);
  });
});
