/**
 * `troupe/testing`: the simulated provider, a scripted provider, the local OpenAI-compatible fault
 * server's companions, and the runtime's property-based model tests and invariant checks, so you
 * can run the same checks against your own provider adapter or limits.
 */

export type { SimulatedBehaviour, SimulatedProviderOptions } from '../providers/simulated.js';
export { createSimulatedProvider, SIMULATED_MODELS } from '../providers/simulated.js';
export type { Fault, FaultMode } from './faults.js';
export { parseFault } from './faults.js';
export type { InvariantName, ObservedLimits, Violation } from './invariants.js';
export { RuntimeObserver } from './invariants.js';
export type { PropertyOptions, ScenarioLimits } from './model.js';
export { checkRuntimeProperties, commands, runScenario, runtimeProperty } from './model.js';
export type {
  OpenAIServer,
  OpenAIServerOptions,
  RecordedRequest,
  Reply,
  StoredFile,
  VendorErrorCase,
  VendorMode,
  VendorReply,
} from './openai-server.js';
export { createOpenAIServer } from './openai-server.js';
export type { ScriptedCall, Settlement } from './scripted-provider.js';
export { ScriptedProvider } from './scripted-provider.js';
export { VENDOR_ERROR_CASES } from './vendor-modes.js';
