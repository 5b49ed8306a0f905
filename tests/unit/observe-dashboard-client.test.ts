/**
 * The dashboard's browser script, run here against stand-ins for the DOM, `EventSource` and
 * `setTimeout` (no browser): a refused stream is asked for again with a backoff that doubles up to
 * 15 s, never longer; the events list keeps the newest 12 lines. The pages in a real Chromium are
 * in tests/e2e/dashboard*.test.ts; these are the bounds they take too long to reach.
 */
import { describe, expect, it } from 'vitest';
import { DASHBOARD_SCRIPT } from '../../src/observe/dashboard-client.js';

type Listener = (message: { data: string }) => void;

function load() {
  const elements = new Map<string, Record<string, unknown>>();
  const document = {
    body: { classList: { toggle: () => {} } },
    querySelector: (selector: string) => {
      if (!elements.has(selector)) elements.set(selector, {});
      return elements.get(selector);
    },
  };
  const sources: FakeSource[] = [];
  class FakeSource {
    static readonly CLOSED = 2;
    readyState = 0;
    onerror: (() => void) | undefined;
    readonly listeners = new Map<string, Listener>();
    constructor(readonly url: string) {
      sources.push(this);
    }
    addEventListener(type: string, listener: Listener) {
      this.listeners.set(type, listener);
    }
    close() {
      this.readyState = FakeSource.CLOSED;
    }
  }
  const timers: { fn: () => void; ms: number }[] = [];
  const setTimeout = (fn: () => void, ms: number) => timers.push({ fn, ms });
  new Function('document', 'EventSource', 'setTimeout', DASHBOARD_SCRIPT)(document, FakeSource, setTimeout);
  return { sources, timers, element: (selector: string) => document.querySelector(selector)! };
}

describe('the dashboard script', () => {
  it('asks again for a refused stream after 1, 2, 4, 8 s, then every 15 s at most', () => {
    const { sources, timers, element } = load();
    for (let i = 0; i < 7; i++) {
      const source = sources.at(-1)!;
      source.readyState = 2;
      source.onerror?.();
      timers.at(-1)!.fn();
    }
    expect(timers.map((t) => t.ms)).toEqual([1000, 2000, 4000, 8000, 15000, 15000, 15000]);
    expect(sources).toHaveLength(8);
    expect(sources.every((s) => s.url === 'events')).toBe(true);
    expect(element('#conn').textContent).toBe('retry in 15 s');
  });

  it('waits for the browser’s own reconnect while the stream is only dropped', () => {
    const { sources, timers, element } = load();
    sources[0]!.readyState = 0;
    sources[0]!.onerror?.();
    expect(timers).toEqual([]);
    expect(element('#conn').textContent).toBe('reconnecting…');
  });

  it('keeps the newest 12 lines in the events list, and says how many were not shown', () => {
    const { sources, element } = load();
    const events = Array.from({ length: 20 }, (_, i) => ({
      type: 'session.ended',
      at: 1_796_000_000_000 + i,
      sessionId: `session-${String(i).padStart(2, '0')}`,
      state: 'done',
    }));
    sources[0]!.listeners.get('batch')!({ data: JSON.stringify({ events, deltas: 0, dropped: 3 }) });
    const lines = String(element('#ticker').textContent).split('\n');
    expect(lines).toHaveLength(13);
    expect(lines[0]).toMatch(/\.019 {2}session\.ended/);
    expect(lines[11]).toMatch(/\.008 {2}session\.ended/);
    expect(lines[12]).toBe('(3 events not shown)');
  });
});
