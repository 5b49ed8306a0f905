/**
 * What dropping expired keys costs `MemorySharedState` (issue 15): a change (`updateNow`) with its
 * sweep of `SWEEP_STEP` keys, as a ratio to the same change with no sweep (`sweepStep` 0) and to
 * the bare `Map` work (get, expiry check, set), in the same run. Each holds `KEYS` keys with a TTL
 * and is changed at spread keys; rounds alternate so load on the machine falls on all alike.
 */
import { MemorySharedState } from '../src/runtime/memory-state.js';

const KEYS = Number(process.env.BENCH_KEYS ?? 10_000);
const CHANGES = Number(process.env.BENCH_CHANGES ?? 1_000_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const TTL_MS = 60_000;

interface Entry {
  state: unknown;
  expiresAt: number;
}

/** The baseline: the map work every change does anyway, without the sweep. */
function bare(now: () => number) {
  const entries = new Map<string, Entry>();
  return (key: string) => {
    const t = now();
    const entry = entries.get(key);
    const current = entry !== undefined && entry.expiresAt > t ? (entry.state as number) : 0;
    if (entry === undefined) entries.set(key, { state: current + 1, expiresAt: t + TTL_MS });
    else {
      entry.state = current + 1;
      entry.expiresAt = t + TTL_MS;
    }
  };
}

const swept = (step?: number) => (now: () => number) => {
  const state = new MemorySharedState({ now }, step);
  return (key: string) =>
    state.updateNow(
      key,
      () => 0,
      (n: number) => ({ state: n + 1, result: n + 1 }),
      TTL_MS,
    );
};

function nsPerChange(make: (now: () => number) => (key: string) => void, keys: readonly string[]): number {
  let time = 0;
  const change = make(() => time);
  for (const key of keys) change(key); // fill
  const start = process.hrtime.bigint();
  for (let i = 0; i < CHANGES; i++) {
    time += 1;
    change(keys[(i * 7919) % keys.length] as string);
  }
  return Number(process.hrtime.bigint() - start) / CHANGES;
}

export async function run(argv: readonly string[]): Promise<void> {
  const keys = Array.from({ length: KEYS }, (_, i) => `caller:${i}`);
  const results = { bare: [] as number[], unswept: [] as number[], swept: [] as number[] };
  for (let r = 0; r < ROUNDS; r++) {
    results.bare.push(nsPerChange(bare, keys));
    results.unswept.push(nsPerChange(swept(0), keys));
    results.swept.push(nsPerChange(swept(), keys));
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
  const out = {
    keys: KEYS,
    changes: CHANGES,
    rounds: ROUNDS,
    bareNs: Math.round(median(results.bare)),
    unsweptNs: Math.round(median(results.unswept)),
    sweptNs: Math.round(median(results.swept)),
    /** The sweep's cost: a change with it over the same change without it. */
    sweepRatio: Number((median(results.swept) / median(results.unswept)).toFixed(2)),
    bareRatio: Number((median(results.swept) / median(results.bare)).toFixed(2)),
  };
  if (argv.includes('--json')) process.stdout.write(`${JSON.stringify(out)}\n`);
  else
    process.stdout.write(
      `MemorySharedState.updateNow: ${out.sweptNs} ns a change with its sweep, ${out.sweepRatio}x the same change without it (${out.unsweptNs} ns), ${out.bareRatio}x the bare Map work (${out.bareNs} ns); ${KEYS} keys, ${CHANGES} changes, median of ${ROUNDS} rounds\n`,
    );
}
