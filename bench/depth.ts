/**
 * The runtime at depth: 1,000, 10,000 and 100,000 sessions queued behind a provider that never
 * answers (64 admitted and held), and what it costs to end them all at once:
 *
 * - `expiry`: every queued session gets the same queue deadline (the clock is pinned while they
 *   are submitted); how long after that deadline the last result arrives (after the end of the
 *   submission, on the rare run where submitting outlasted the deadline: `lateSubmissions`), and
 *   the longest the event loop was away meanwhile (a timer asked for every millisecond);
 * - `shutdown`: `shutdown({ deadlineMs: 0 })` until its report and every result are in, and the
 *   longest stall meanwhile;
 * - `cancel`: `handle.cancel()` on every handle, in submission order, in reverse and in a random
 *   order, until every result is in (the caller's loop is synchronous, so no stall figure);
 * - `drain`: the same number submitted to a provider that answers at once, until every result is
 *   in: each admission takes the queue's head.
 *
 * `--owner` submits every session as one caller's (`metadata.owner`): callers' turns then give
 * each a depth (one FIFO per depth in use, up to `MAX_DEPTH + 1` of them) instead of one FIFO.
 *
 * `submitMs` (submitting the same sessions) is the in-run reference: on a loaded machine every
 * figure stretches, and a figure's ratio to it says more than its absolute value.
 * Every scenario at every depth runs once per round, rounds interleaved; medians are printed.
 * `BENCH_DEPTHS` (comma-separated) and `BENCH_ROUNDS` override the defaults.
 */
import type { Clock } from '../src/core/clock.js';
import type { ChatProvider } from '../src/providers/port.js';
import { createRuntime } from '../src/runtime/runtime.js';
import type { Runtime, SessionHandle } from '../src/runtime/types.js';

const DEPTHS = (process.env.BENCH_DEPTHS ?? '1000,10000,100000').split(',').map(Number);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const RUNNING = 64;
const REQUEST = { messages: [{ role: 'user' as const, content: 'hi' }] };
/** `--owner`: every session is one caller's. */
let metadata: { owner: string } | undefined;

/** Answers only by failing when its call is aborted. */
const never: ChatProvider = {
  name: 'never',
  complete: (_request, { signal }) =>
    new Promise((_resolve, reject) => {
      if (signal.aborted) reject(signal.reason);
      else signal.addEventListener('abort', () => reject(signal.reason), { once: true });
    }),
  // biome-ignore lint/correctness/useYield: never streamed here.
  async *stream() {
    throw new Error('not used');
  },
};

/** The system clock, but pinned to one instant while a batch is submitted. */
class PinnableClock implements Clock {
  private pinned: number | undefined;
  now = (): number => this.pinned ?? Date.now();
  setTimeout = (fn: (...args: unknown[]) => void, ms: number): unknown => setTimeout(fn, ms);
  clearTimeout = (id: unknown): void => clearTimeout(id as ReturnType<typeof setTimeout>);
  pin(): number {
    this.pinned = Date.now();
    return this.pinned;
  }
  unpin(): void {
    this.pinned = undefined;
  }
}

/** The longest gap between the ticks of a 1 ms timer: how long the event loop was away. */
class StallMeter {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private last = 0;
  maxMs = 0;

  start(): void {
    this.last = performance.now();
    const tick = () => {
      const now = performance.now();
      this.maxMs = Math.max(this.maxMs, now - this.last);
      this.last = now;
      this.timer = setTimeout(tick, 1);
    };
    this.timer = setTimeout(tick, 1);
  }

  stop(): number {
    clearTimeout(this.timer);
    this.maxMs = Math.max(this.maxMs, performance.now() - this.last);
    return this.maxMs;
  }
}

function fill(
  depth: number,
  clock: Clock,
  queueTimeoutMs: number,
): { runtime: Runtime; handles: SessionHandle[] } {
  const runtime = createRuntime({
    providers: [never],
    clock,
    defaults: { model: 'm' },
    limits: { maxConcurrent: RUNNING, maxQueued: depth },
  });
  const handles: SessionHandle[] = [];
  for (let i = 0; i < depth + RUNNING; i++)
    handles.push(runtime.submit(REQUEST, { queueTimeoutMs, metadata }));
  return { runtime, handles };
}

async function collect(): Promise<void> {
  await new Promise((resolve) => setImmediate(resolve));
  (globalThis as { gc?: () => void }).gc?.();
}

/** The queued sessions all reach one queue deadline: last result after it, and the worst stall. */
async function expiry(
  depth: number,
): Promise<{ lastResultMs: number; maxStallMs: number; submitLate: boolean }> {
  const clock = new PinnableClock();
  // Room to submit everything before the shared deadline, even on a loaded machine.
  const queueTimeoutMs = 1000 + depth * 0.06;
  clock.pin();
  const deadlinePerf = performance.now() + queueTimeoutMs;
  const { runtime, handles } = fill(depth, clock, queueTimeoutMs);
  clock.unpin();
  let lastAt = 0;
  let timedOut = 0;
  const results = Promise.all(
    handles.slice(RUNNING).map((h) =>
      h.result.then((result) => {
        lastAt = performance.now();
        if (!result.ok && result.error.code === 'TIMED_OUT') timedOut++;
      }),
    ),
  );
  // If submitting outlasted the deadline, the runtime could only start once the loop was free.
  const submittedPerf = performance.now();
  const submitLate = submittedPerf > deadlinePerf;
  const meter = new StallMeter();
  meter.start();
  await results;
  const maxStallMs = meter.stop();
  if (timedOut !== depth) throw new Error(`Expected ${depth} queue timeouts, got ${timedOut}`);
  await runtime.shutdown({ deadlineMs: 0 });
  return { lastResultMs: lastAt - Math.max(deadlinePerf, submittedPerf), maxStallMs, submitLate };
}

async function shutdown(depth: number): Promise<{ ms: number; maxStallMs: number }> {
  const { runtime, handles } = fill(depth, new PinnableClock(), 600_000);
  // Gathering 100,000 result promises is the caller's work, done before the clock starts: it took
  // 30-50 ms of the first measured stall when it ran inside the window.
  const results = Promise.all(handles.map((h) => h.result));
  await collect();
  const meter = new StallMeter();
  meter.start();
  const started = performance.now();
  const [report] = await Promise.all([runtime.shutdown({ deadlineMs: 0 }), results]);
  const ms = performance.now() - started;
  const maxStallMs = meter.stop();
  if (report.cancelled.length !== depth + RUNNING)
    throw new Error(`Expected ${depth + RUNNING} cancelled, got ${report.cancelled.length}`);
  return { ms, maxStallMs };
}

/** The in-run reference: submitting the same sessions, on the same machine, in the same round. */
async function submitOnly(depth: number): Promise<number> {
  const started = performance.now();
  const { runtime } = fill(depth, new PinnableClock(), 600_000);
  const ms = performance.now() - started;
  await runtime.shutdown({ deadlineMs: 0 });
  return ms;
}

type Order = 'submission' | 'reverse' | 'random';

async function cancelAll(depth: number, order: Order): Promise<number> {
  const { runtime, handles } = fill(depth, new PinnableClock(), 600_000);
  const ordered =
    order === 'submission' ? handles : order === 'reverse' ? [...handles].reverse() : shuffled(handles);
  await collect();
  const started = performance.now();
  for (const handle of ordered) handle.cancel();
  await Promise.all(handles.map((h) => h.result));
  const ms = performance.now() - started;
  await runtime.shutdown({ deadlineMs: 0 });
  return ms;
}

/** Submits `depth` + 64 sessions to a provider that answers at once and waits for every result. */
async function drain(depth: number): Promise<number> {
  const instant: ChatProvider = { ...never, complete: () => Promise.resolve({ content: 'ok' }) };
  const runtime = createRuntime({
    providers: [instant],
    defaults: { model: 'm' },
    limits: { maxConcurrent: RUNNING, maxQueued: depth },
  });
  await collect();
  const started = performance.now();
  const handles: SessionHandle[] = [];
  for (let i = 0; i < depth + RUNNING; i++) handles.push(runtime.submit(REQUEST, { metadata }));
  await Promise.all(handles.map((h) => h.result));
  const ms = performance.now() - started;
  await runtime.shutdown({ deadlineMs: 0 });
  return ms;
}

/** Fisher-Yates with a fixed-seed generator: the same "random" order in every round and run. */
function shuffled<T>(items: readonly T[]): T[] {
  const out = [...items];
  let seed = 0x2545f491;
  const random = () => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) / 2 ** 32;
  };
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

const FIGURES = [
  'submitMs',
  'expiryLastResultMs',
  'expiryMaxStallMs',
  'shutdownMs',
  'shutdownMaxStallMs',
  'cancelInOrderMs',
  'cancelReverseMs',
  'cancelRandomMs',
  'drainMs',
] as const;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

export async function run(argv: readonly string[]): Promise<void> {
  metadata = argv.includes('--owner') ? { owner: 'one caller' } : undefined;
  const samples = new Map<number, Record<(typeof FIGURES)[number], number[]>>();
  let lateSubmissions = 0;
  for (const depth of DEPTHS) samples.set(depth, Object.fromEntries(FIGURES.map((f) => [f, []])) as never);
  for (let round = 0; round < ROUNDS; round++) {
    for (const depth of DEPTHS) {
      const s = samples.get(depth)!;
      s.submitMs.push(await submitOnly(depth));
      await collect();
      const e = await expiry(depth);
      if (e.submitLate) lateSubmissions++;
      s.expiryLastResultMs.push(e.lastResultMs);
      s.expiryMaxStallMs.push(e.maxStallMs);
      await collect();
      const d = await shutdown(depth);
      s.shutdownMs.push(d.ms);
      s.shutdownMaxStallMs.push(d.maxStallMs);
      await collect();
      s.cancelInOrderMs.push(await cancelAll(depth, 'submission'));
      await collect();
      s.cancelReverseMs.push(await cancelAll(depth, 'reverse'));
      await collect();
      s.cancelRandomMs.push(await cancelAll(depth, 'random'));
      await collect();
      s.drainMs.push(await drain(depth));
      await collect();
      if (!argv.includes('--json')) process.stderr.write(`round ${round + 1}, ${depth} queued: done\n`);
    }
  }
  const byDepth = Object.fromEntries(
    [...samples].map(([depth, s]) => [
      depth,
      Object.fromEntries(FIGURES.map((f) => [f, Number(median(s[f]).toFixed(1))])),
    ]),
  );
  const figures = {
    running: RUNNING,
    rounds: ROUNDS,
    oneCaller: metadata !== undefined,
    byDepth,
    // A submission batch that outlasted its own deadline would inflate expiryLastResultMs.
    lateSubmissions,
    loadAverage: (await import('node:os')).loadavg().map((l) => Number(l.toFixed(2))),
    node: process.version,
  };
  if (argv.includes('--json')) {
    process.stdout.write(`${JSON.stringify(figures)}\n`);
    return;
  }
  process.stdout.write(`${'queued'.padEnd(22)}${DEPTHS.map((d) => String(d).padStart(10)).join('')}\n`);
  for (const f of FIGURES) {
    const row = DEPTHS.map((d) => String((byDepth[d] as Record<string, number>)[f]).padStart(10)).join('');
    process.stdout.write(`${f.padEnd(22)}${row}\n`);
  }
  process.stdout.write(
    `lateSubmissions ${lateSubmissions}, load ${figures.loadAverage.join(' ')}, ${figures.node}\n`,
  );
}
