/**
 * troupe's public API. Everything not exported here is internal.
 */

export { sessionMachine } from '../machines/session.js';
export { supervisorMachine } from '../machines/supervisor.js';
export type { Clock } from './core/clock.js';
export { steadyClock, systemClock } from './core/clock.js';
export type {
  ErrorFamily,
  ProviderErrorCode,
  RuntimeErrorCode,
  StallKind,
  TimeoutKind,
  TroupeErrorCode,
  TroupeErrorData,
} from './core/errors.js';
export { isRetryableCode, providerError, runtimeError, TroupeError, toTroupeError } from './core/errors.js';
export { MAX_FALLBACKS } from './core/metadata.js';
export { MAX_PRIORITY, MIN_PRIORITY } from './core/scheduler.js';
// Stately's inspector for `createRuntime({ inspect })`, bounded and connecting again, as `--inspect` uses it.
export type { ConnectedInspector, InspectorOptions } from './observe/inspect.js';
export { connectInspector, DEFAULT_INSPECTOR_BACKLOG_BYTES } from './observe/inspect.js';
export type { LoadedProviders, LoadOptions } from './providers/config.js';
export { loadProviders } from './providers/config.js';
export type { FilesHandler } from './providers/files.js';
export type { GlmOptions } from './providers/glm.js';
export { createGlmProvider, GLM_BIGMODEL_BASE_URL, GLM_ZAI_BASE_URL } from './providers/glm.js';
export type { KimiOptions } from './providers/kimi.js';
export { createKimiProvider, KIMI_BASE_URL, KIMI_CN_BASE_URL } from './providers/kimi.js';
export type {
  OpenAICompatibleOptions,
  OpenAICompatibleProvider,
  ProviderQuirks,
} from './providers/openai-compatible.js';
export { createOpenAICompatibleProvider } from './providers/openai-compatible.js';
export type {
  CallOptions,
  ChatDelta,
  ChatFile,
  ChatMessage,
  ChatProvider,
  ChatRequest,
  ChatResponse,
  ChatRole,
  FinishReason,
  ThinkingMode,
  TokenUsage,
  ToolCall,
  ToolDefinition,
  WebSearchResult,
} from './providers/port.js';
export type { Cost, ModelPrice, PriceTable, PriceTier, Rates } from './providers/prices.js';
export { costOf, GLM_ZAI_PRICES, KIMI_CN_PRICES, KIMI_PRICES, ratesFor } from './providers/prices.js';
export type {
  LearnedWindow,
  ModelRegistry,
  ModelSpec,
  ProviderEntry,
  RegistryOptions,
} from './providers/registry.js';
export { createModelRegistry } from './providers/registry.js';
export { preloadSdk } from './providers/sdk-clients.js';
export type { FallbackTarget, RoutedTarget } from './providers/session-request.js';
export type { SimulatedProviderOptions } from './providers/simulated.js';
export { createSimulatedProvider } from './providers/simulated.js';
export { assembleToolCalls } from './providers/tool-calls.js';
export type { ThinkingMapper } from './providers/wire.js';
// What `backend` takes (`redisBackend()` from `troupe/scale` gives one).
export type { RuntimeBackend } from './runtime/backend.js';
export type { BreakerOptions, BreakerView } from './runtime/breakers.js';
export type { BudgetOptions } from './runtime/budgets.js';
export type { ProviderLimits, WaitingFor } from './runtime/limit-types.js';
export type { ProviderBudget } from './runtime/limiter.js';
// `createRuntime({ sharedState })`: one given to several runtimes in a process shares their limits.
export { MemorySharedState } from './runtime/memory-state.js';
export type { SharedState } from './runtime/ports.js';
export { createRuntime } from './runtime/runtime.js';
export type { SessionEngineKind } from './runtime/session-engine.js';
export type { InspectObserver } from './runtime/session-inspection.js';
export type { SessionTracer, TraceAttributes, TraceSpan } from './runtime/tracing.js';
export type {
  Defaults,
  FinalState,
  Limits,
  PartialOutput,
  RouteHop,
  Router,
  RunOptions,
  Runtime,
  RuntimeEvent,
  RuntimeMetrics,
  RuntimeOptions,
  RuntimeStatus,
  SessionEvent,
  SessionHandle,
  SessionMetadata,
  SessionOutput,
  SessionRequest,
  SessionResult,
  SessionState,
  SessionSummary,
  ShutdownOptions,
  ShutdownReport,
  SubmitOptions,
  SupervisorEvent,
  TaskContext,
  TaskFunction,
  TaskResult,
  UsageTotals,
} from './runtime/types.js';
