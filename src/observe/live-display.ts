/**
 * The live terminal line(s) of `troupe demo` and `troupe load`: on a TTY, a block redrawn in place
 * (counts per state, rate, a progress bar); otherwise one plain line per `plainEveryMs`, so logs
 * and CI output stay readable.
 */
export interface DisplayFrame {
  readonly ended: number;
  readonly total: number;
  /** Counts to show, in order (e.g. queued, running, done, failed...). */
  readonly counts: readonly (readonly [string, number])[];
}

export interface LiveDisplayOptions {
  /** @default whether `out.isTTY` */
  readonly tty?: boolean;
  /** Plain mode: least time between lines, in ms. @default 1000 */
  readonly plainEveryMs?: number;
  /** @default performance.now */
  readonly now?: () => number;
}

const BAR_WIDTH = 30;

export class LiveDisplay {
  readonly #out: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  readonly #tty: boolean;
  readonly #plainEveryMs: number;
  readonly #now: () => number;
  readonly #startedAt: number;
  #drawnLines = 0;
  #lastPlainAt = Number.NEGATIVE_INFINITY;
  #recent: { at: number; ended: number }[] = [];

  constructor(out: NodeJS.WritableStream & { isTTY?: boolean }, options: LiveDisplayOptions = {}) {
    this.#out = out;
    this.#tty = options.tty ?? out.isTTY === true;
    this.#plainEveryMs = options.plainEveryMs ?? 1000;
    this.#now = options.now ?? (() => performance.now());
    this.#startedAt = this.#now();
    // The rate counts from the start: the first frame (12 ended after 0.3 s) said 0.0/s.
    this.#recent.push({ at: this.#startedAt, ended: 0 });
  }

  get tty(): boolean {
    return this.#tty;
  }

  /** Draws a frame; in plain mode only if `plainEveryMs` passed (or `force`). */
  update(frame: DisplayFrame, force = false): void {
    const now = this.#now();
    this.#recent.push({ at: now, ended: frame.ended });
    while (this.#recent.length > 2 && now - this.#recent[0]!.at > 3000) this.#recent.shift();
    const first = this.#recent[0]!;
    const rate = now - first.at > 0 ? ((frame.ended - first.ended) * 1000) / (now - first.at) : 0;
    const elapsed = ((now - this.#startedAt) / 1000).toFixed(1);
    const counts = frame.counts.map(([k, v]) => `${k}=${v}`).join(' ');
    if (!this.#tty) {
      if (!force && now - this.#lastPlainAt < this.#plainEveryMs) return;
      this.#lastPlainAt = now;
      this.#out.write(
        `[${elapsed.padStart(6)}s] ${frame.ended}/${frame.total} ended  ${counts}  ${rate.toFixed(1)}/s\n`,
      );
      return;
    }
    const done = frame.total === 0 ? 1 : frame.ended / frame.total;
    const filled = Math.round(done * BAR_WIDTH);
    const lines = [
      `[${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}] ${frame.ended}/${frame.total} ${(done * 100).toFixed(0).padStart(3)}%  ${elapsed}s  ${rate.toFixed(1)} sessions/s`,
      ...frame.counts.map(([k, v]) => `  ${k.padEnd(11)} ${String(v).padStart(7)}  ${mini(v, frame.total)}`),
    ];
    let text = this.#drawnLines > 0 ? `\x1b[${this.#drawnLines}F` : '\x1b[?25l';
    for (const line of lines) text += `\x1b[2K${line}\n`;
    this.#drawnLines = lines.length;
    this.#out.write(text);
  }

  /** Leaves the last frame on screen and shows the cursor again. */
  finish(frame: DisplayFrame): void {
    this.update(frame, true);
    if (this.#tty) this.#out.write('\x1b[?25h');
  }
}

function mini(value: number, total: number): string {
  const width = 20;
  const n = total === 0 ? 0 : Math.min(width, Math.round((value / total) * width));
  return '▇'.repeat(n);
}
