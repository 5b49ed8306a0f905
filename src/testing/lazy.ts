/**
 * The runtime's property functions, loading fast-check (an optional peer) and the model on first
 * use, so `import 'troupe/testing'` works in a project without fast-check.
 */
import { loadFastCheck } from './fast-check.js';
import type { PropertyOptions, ScenarioLimits } from './model.js';

async function model() {
  await loadFastCheck(); // says what to install when fast-check is missing
  return import('./model.js');
}

/** See `model.ts`: the provider contract on your providers, then the runtime's model-based tests. */
export async function checkRuntimeProperties(options: PropertyOptions = {}): Promise<void> {
  return (await model()).checkRuntimeProperties(options);
}

/** See `model.ts`: one scenario (hand-written commands from `troupe/testing/properties`). */
export async function runScenario(
  limits: ScenarioLimits,
  commands: Parameters<Awaited<ReturnType<typeof model>>['runScenario']>[1],
  options: PropertyOptions = {},
) {
  return (await model()).runScenario(limits, commands, options);
}
