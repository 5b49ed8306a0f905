/**
 * `troupe/testing`: the provider contract suite for your adapter, the tool contract for your
 * `withSession` MCP tools, the runtime's property-based model tests and invariant checks, the
 * simulated and scripted providers, and the local OpenAI-compatible fault server.
 *
 * Imports with troupe's own dependencies only: fast-check (an optional peer) is loaded when a
 * property function runs. fast-check's own objects (`runtimeProperty`, `commands`) live in
 * `troupe/testing/properties`; the vitest entry (`describeProviderContract`, `describeToolContract`) in `troupe/testing/vitest`.
 */

export type { SimulatedBehaviour, SimulatedProviderOptions } from '../providers/simulated.js';
export { createSimulatedProvider, SIMULATED_MODELS } from '../providers/simulated.js';
export { CONTRACT_TITLES, checkProviderContract } from './contract/check.js';
export type {
  ContractCapabilities,
  ContractFailure,
  ContractOptions,
  ContractPropertyName,
  ContractReport,
} from './contract/types.js';
export { CONTRACT_PROPERTIES, ProviderContractError } from './contract/types.js';
export type { Fault, FaultMode } from './faults.js';
export { parseFault } from './faults.js';
export type { InvariantName, ObservedLimits, Violation } from './invariants.js';
export { RuntimeObserver } from './invariants.js';
export { checkRuntimeProperties, runScenario } from './lazy.js';
export type { CapturingLogger, LogCapture, LogCaptureLevel, LogEntry } from './log-capture.js';
export { createLogCapture } from './log-capture.js';
export type { PropertyOptions, ScenarioLimits } from './model.js';
export type { Command, World } from './model-commands.js';
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
export type { EnforcedLimits } from './tier-limits.js';
export { checkToolContract } from './tool/lazy.js';
export type {
  ToolArguments,
  ToolContractFailure,
  ToolContractOptions,
  ToolContractPropertyName,
  ToolContractReport,
  ToolContractTransport,
} from './tool/types.js';
export { TOOL_CONTRACT_PROPERTIES, ToolContractError } from './tool/types.js';
export { VENDOR_ERROR_CASES } from './vendor-modes.js';
export { ProviderWatch } from './watched-provider.js';
