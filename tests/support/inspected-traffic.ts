/**
 * Sessions for the inspector's tests (tests/integration/inspect-*.test.ts): a runtime on the
 * simulated provider whose sessions go to `inspect`, and traffic of sessions with long prompts.
 */
import { createSimulatedProvider } from '../../src/providers/simulated.js';
import { createRuntime } from '../../src/runtime/runtime.js';
import type { InspectObserver } from '../../src/runtime/session-inspection.js';

export type InspectedRuntime = ReturnType<typeof createRuntime>;

/** A runtime whose sessions go to `inspect`; `cleanup` gets its shutdown. */
export function inspectedRuntime(inspect: InspectObserver, cleanup: (step: () => unknown) => void) {
  const runtime = createRuntime({
    providers: [createSimulatedProvider({ latencyMs: { min: 0, max: 0 } })],
    defaults: { provider: 'simulated', model: 'sim-fast' },
    inspect,
  });
  cleanup(() => runtime.shutdown());
  return runtime;
}

/** `sessions` sessions whose prompts are `promptBytes` long; resolves once every event was handed on. */
export async function traffic(runtime: InspectedRuntime, sessions: number, promptBytes: number) {
  const prompt = 'x'.repeat(promptBytes);
  const handles = Array.from({ length: sessions }, (_, i) =>
    runtime.submit({ messages: [{ role: 'user', content: `${prompt} ${i}` }] }),
  );
  await Promise.all(handles.map((h) => h.result));
  // `@statelyai/inspect` sends each event a timer turn after it is reported.
  await new Promise((resolve) => setTimeout(resolve, 20));
  return handles.map((h) => h.id);
}
