/**
 * How many runs a property gets: the caller's `numRuns`, else an environment variable
 * (`TROUPE_CONTRACT_RUNS`, `TROUPE_PROPERTY_RUNS`), else the default. A property run zero times
 * passes without checking anything, so anything but a whole number from 1 is refused by name
 * rather than read as 0 (`Number('')`, `Number('abc')`) or handed to fast-check (which loops on 2.5).
 */
export function runsFrom(
  numRuns: number | undefined,
  envName: string,
  fallback: number,
  env: Readonly<Record<string, string | undefined>> = process.env,
): number {
  if (numRuns !== undefined) {
    if (Number.isSafeInteger(numRuns) && numRuns >= 1) return numRuns;
    throw new RangeError(`Expected \`numRuns\` to be a whole number from 1, got ${String(numRuns)}`);
  }
  const raw = env[envName]?.trim() ?? '';
  if (raw === '') return fallback;
  const runs = /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
  if (Number.isSafeInteger(runs) && runs >= 1) return runs;
  throw new RangeError(
    `Expected ${envName} to be a whole number of runs from 1 (unset: ${fallback}), got ${JSON.stringify(env[envName])}`,
  );
}

/**
 * Waits for `promise`, at most `ms`, and clears its timer either way: a timer left behind kept the
 * caller's process alive for 6 s after `checkRuntimeProperties` resolved, one per run.
 */
export async function within(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([promise, new Promise((resolve) => (timer = setTimeout(resolve, ms)))]);
  } finally {
    clearTimeout(timer);
  }
}
