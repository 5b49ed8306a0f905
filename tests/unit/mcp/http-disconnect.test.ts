/**
 * `DisconnectedCalls`: the calls of a 2025-era POST stream closed before its answer are cancelled
 * only once `graceMs` passed without a resume of that stream, and never after their session closed.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DisconnectedCalls } from '../../../src/mcp/http-disconnect.js';

describe('DisconnectedCalls', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  function setup(graceMs: number) {
    const aborted: string[] = [];
    const notInFlight = new Set<string>();
    const calls = new DisconnectedCalls(graceMs, {
      abort: (sid, id, reason) => aborted.push(`${sid}/${String(id)}: ${reason}`),
      has: (sid, id) => !notInFlight.has(`${sid}/${String(id)}`),
    });
    return { calls, aborted, notInFlight };
  }

  it('cancels the calls of a stream nobody resumed once the grace has passed, and only then', () => {
    const { calls, aborted } = setup(1000);
    calls.closed('s1', [7, 'x']);
    vi.advanceTimersByTime(999);
    expect(aborted).toEqual([]);
    expect(calls.size).toBe(2);
    vi.advanceTimersByTime(1);
    expect(aborted).toEqual([
      's1/7: the HTTP response stream was closed and not resumed',
      's1/x: the HTTP response stream was closed and not resumed',
    ]);
    expect(calls.size).toBe(0);
  });

  it('keeps the calls of a resumed stream, and those of a closed session, uncancelled', () => {
    const { calls, aborted } = setup(1000);
    calls.closed('s1', [7, 8]);
    calls.closed('s2', [7]);
    calls.resumed('s1', [7]);
    calls.forget('s2');
    vi.advanceTimersByTime(5000);
    expect(aborted).toEqual(['s1/8: the HTTP response stream was closed and not resumed']);
  });

  it('waits only for calls in flight: any other id is aborted at once, so nothing piles up', () => {
    const { calls, aborted, notInFlight } = setup(1000);
    notInFlight.add('s1/ping-1');
    calls.closed('s1', ['ping-1', 7]);
    expect(aborted).toEqual(['s1/ping-1: the HTTP response stream was closed and not resumed']);
    expect(calls.size).toBe(1);
  });

  it('tells a numeric id from the same text, and cancels at once with no grace', () => {
    const { calls, aborted } = setup(1000);
    calls.closed('s1', [7]);
    calls.resumed('s1', ['7']);
    vi.advanceTimersByTime(1000);
    expect(aborted).toHaveLength(1);
    const now = setup(0);
    now.calls.closed('s1', [3]);
    expect(now.aborted).toEqual(['s1/3: the HTTP response stream was closed and not resumed']);
    expect(now.calls.size).toBe(0);
  });
});
