/** The live display's rate: sessions ended per second over the last 3 s, counted from the start. */
import { describe, expect, it } from 'vitest';
import { LiveDisplay } from '../../src/observe/live-display.js';

function display() {
  let now = 1000;
  let out = '';
  const d = new LiveDisplay(
    {
      write: (chunk: string) => {
        out += chunk;
        return true;
      },
    } as unknown as NodeJS.WritableStream,
    { tty: false, plainEveryMs: 0, now: () => now },
  );
  return {
    d,
    at: (ms: number) => {
      now = 1000 + ms;
    },
    lines: () => out.trim().split('\n'),
  };
}

describe('LiveDisplay rate', () => {
  it('counts the first frame from the start, not as 0.0/s', () => {
    const { d, at, lines } = display();
    at(300);
    d.update({ ended: 12, total: 60, counts: [['done', 12]] });
    expect(lines()[0]).toBe('[   0.3s] 12/60 ended  done=12  40.0/s');
  });

  it('measures over the last 3 s once the run is longer', () => {
    const { d, at, lines } = display();
    at(1000);
    d.update({ ended: 10, total: 100, counts: [] });
    at(4000);
    d.update({ ended: 40, total: 100, counts: [] });
    at(5000);
    d.update({ ended: 60, total: 100, counts: [] });
    // The start and the frame at 1 s are more than 3 s old: the rate is 40 -> 60 in the last second.
    expect(lines()[2]).toMatch(/ 20\.0\/s$/);
  });
});
