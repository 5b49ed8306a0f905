/**
 * Moves a simulated clock on by `ms` in steps of `step`, letting what each step starts settle (one
 * turn of the event loop first and after each step): a runtime on a simulated clock starts, retries
 * and ends its calls in those turns.
 */
export async function stepClock(
  clock: { increment(ms: number): void },
  ms: number,
  step: number,
): Promise<void> {
  await turn();
  for (let done = 0; done < ms; done += step) {
    clock.increment(Math.min(step, ms - done));
    await turn();
  }
}

const turn = () => new Promise((resolve) => setImmediate(resolve));
