/**
 * Prometheus metrics for one runtime, in a registry of their own (never prom-client's global one,
 * so two servers in one process do not mix). Counters and histograms are fed by
 * `runtime.subscribe()`; gauges read `status()` and `metrics()` when scraped.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Runtime, RuntimeEvent } from '../runtime/types.js';
import type { ObserveScope } from './monitor.js';

/**
 * Distinct `model` label values one exporter keeps, and the longest. A model id comes from the
 * caller, and a provider that takes any (a llama.cpp server, a gateway) answers with usage, so
 * without a bound every new id was a series kept forever: 50 calls with 1 MB ids made /metrics
 * 100 MB. Past either bound a session counts under `(other)`.
 */
export const MAX_MODEL_LABELS = 200;
export const MAX_MODEL_LABEL_LENGTH = 128;
export const OTHER_MODEL = '(other)';

/** Seconds: from a few ms (instant providers) to the 120 s default run deadline and past it. */
const SECONDS_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

export interface RuntimeMetricsExporter {
  readonly registry: Registry;
  readonly contentType: string;
  /** The Prometheus text exposition. */
  scrape(): Promise<string>;
  /** Stops listening to the runtime. */
  close(): void;
}

/** Figures of the server around the runtime, read at a scrape; each adds its series when given. */
export interface MetricSources {
  /** The live 2025-era MCP sessions of the HTTP front (`HttpApp.sessionCount`). */
  readonly mcpSessions?: () => number;
  /** Inspection events dropped: past the inspector's bound, while it is not connected, or unsent at a close (`ConnectedInspector.droppedEvents`). */
  readonly inspectorDroppedEvents?: () => number;
  /** Bytes the HTTP front's responses wait on their clients to read (`HttpApp.unsentBytes`). */
  readonly httpUnsentBytes?: () => number;
  /** Bytes of answers the HTTP front holds until they fit beside those (`HttpApp.heldBytes`). */
  readonly httpHeldBytes?: () => number;
}

export function createMetricsExporter(
  runtime: Runtime,
  scope: ObserveScope = { kind: 'instance' },
  sources: MetricSources = {},
): RuntimeMetricsExporter {
  const registry = new Registry();
  const registers = [registry];
  const { mcpSessions, inspectorDroppedEvents, httpUnsentBytes, httpHeldBytes } = sources;
  const figure = (name: string, help: string, read: (() => number) | undefined) => {
    if (read !== undefined)
      new Gauge({
        name,
        help,
        registers,
        collect() {
          this.set(read());
        },
      });
  };
  figure(
    'troupe_mcp_sessions',
    'Live 2025-era MCP sessions on this instance (past maxSessions an initialize gets 503; idle ones close after idleSessionMs).',
    mcpSessions,
  );
  figure(
    'troupe_inspector_dropped_events',
    'Inspection events dropped since start: past the bound on what is held for the inspector (40 MiB), past the last 200 held while it is not connected, or unsent on a connection that closed (a counter read at scrape).',
    inspectorDroppedEvents,
  );
  figure(
    'troupe_http_unsent_bytes',
    'Bytes of HTTP responses waiting for their clients to read them (bounded by maxUnsentBytes, 64 MiB by default).',
    httpUnsentBytes,
  );
  figure(
    'troupe_http_held_bytes',
    'Bytes of HTTP answers held unwritten until they fit beside those waiting unsent (bounded by maxUnsentBytes of their own).',
    httpHeldBytes,
  );
  new Gauge({
    name: 'troupe_info',
    help: 'Always 1. `scope` says what the other series cover: `instance` (this process) or `cluster` (gauges are the whole cluster; troupe_submitted and troupe_rejected stay per instance).',
    labelNames: ['scope', 'instance'] as const,
    registers,
  }).set({ scope: scope.kind, instance: scope.instanceId ?? '' }, 1);
  const sessions = new Counter({
    name: 'troupe_sessions_total',
    help: 'Sessions ended, by final state and provider.',
    labelNames: ['state', 'provider'] as const,
    registers,
  });
  const queueWait = new Histogram({
    name: 'troupe_session_queue_wait_seconds',
    help: 'Time sessions spent queued before they ran or ended, by provider.',
    labelNames: ['provider'] as const,
    buckets: SECONDS_BUCKETS,
    registers,
  });
  const runTime = new Histogram({
    name: 'troupe_session_run_seconds',
    help: 'Time sessions spent running (all attempts), by provider and final state.',
    labelNames: ['provider', 'state'] as const,
    buckets: SECONDS_BUCKETS,
    registers,
  });
  const retries = new Counter({
    name: 'troupe_retries_total',
    help: 'Provider calls retried after a retryable error, by provider and error code.',
    labelNames: ['provider', 'code'] as const,
    registers,
  });
  const providerErrors = new Counter({
    name: 'troupe_provider_errors_total',
    help: 'Provider errors (retried, handed to a fallback, or final), by provider and error code.',
    labelNames: ['provider', 'code'] as const,
    registers,
  });
  const tokens = new Counter({
    name: 'troupe_tokens_total',
    help: 'Tokens the providers reported, by provider, model and kind (prompt or completion).',
    labelNames: ['provider', 'model', 'kind'] as const,
    registers,
  });
  const cost = new Counter({
    name: 'troupe_cost_total',
    help: "What ended sessions cost, from the usage the providers reported and the model's price, by provider, model and the price's currency (sessions on a model without a price add nothing).",
    labelNames: ['provider', 'model', 'currency'] as const,
    registers,
  });
  new Gauge({
    name: 'troupe_queue_depth',
    help: 'Sessions waiting in the queue, by priority (0 lowest, 9 highest).',
    labelNames: ['priority'] as const,
    registers,
    collect() {
      this.reset();
      const byPriority = runtime.status({ recent: 0 }).queuedByPriority;
      for (let p = 0; p <= 9; p++) this.set({ priority: String(p) }, byPriority[p] ?? 0);
    },
  });
  new Gauge({
    name: 'troupe_in_flight',
    help: 'Sessions running now, by provider.',
    labelNames: ['provider'] as const,
    registers,
    collect() {
      this.reset();
      for (const p of runtime.status({ recent: 0 }).providers) this.set({ provider: p.name }, p.running);
    },
  });
  new Gauge({
    name: 'troupe_in_flight_limit',
    help: 'Most sessions that may run at once, by provider; `all` is the global limit.',
    labelNames: ['provider'] as const,
    registers,
    collect() {
      this.reset();
      const status = runtime.status({ recent: 0 });
      this.set({ provider: 'all' }, status.maxConcurrent);
      for (const p of status.providers) if (p.limit !== null) this.set({ provider: p.name }, p.limit);
    },
  });
  new Gauge({
    name: 'troupe_queued',
    help: 'Sessions waiting in the queue, by provider.',
    labelNames: ['provider'] as const,
    registers,
    collect() {
      this.reset();
      for (const p of runtime.status({ recent: 0 }).providers) this.set({ provider: p.name }, p.queued);
    },
  });
  new Gauge({
    name: 'troupe_submitted',
    help: 'Sessions accepted since the runtime started (a counter read at scrape time).',
    registers,
    collect() {
      this.set(runtime.metrics().submitted);
    },
  });
  new Gauge({
    name: 'troupe_rejected',
    help: 'Submissions refused since the runtime started, by error code (a counter read at scrape time).',
    labelNames: ['code'] as const,
    registers,
    collect() {
      this.reset();
      for (const [code, n] of Object.entries(runtime.metrics().rejected)) this.set({ code }, n);
    },
  });
  new Gauge({
    name: 'troupe_limit_waits',
    help: "Sessions held back by a provider's limit in its own units, by limit (counted once per wait; a counter read at scrape time).",
    labelNames: ['limit'] as const,
    registers,
    collect() {
      this.reset();
      for (const [limit, n] of Object.entries(runtime.metrics().limits?.waits ?? {})) this.set({ limit }, n);
    },
  });
  new Gauge({
    name: 'troupe_rate_limited_received',
    help: 'RATE_LIMITED (429) answers received from providers (a counter read at scrape time).',
    registers,
    collect() {
      this.set(runtime.metrics().limits?.rateLimited ?? 0);
    },
  });
  new Gauge({
    name: 'troupe_cooldowns',
    help: 'Provider cooldowns started after a RATE_LIMITED answer (a counter read at scrape time).',
    registers,
    collect() {
      this.set(runtime.metrics().limits?.cooldowns ?? 0);
    },
  });
  new Gauge({
    name: 'troupe_limit_remaining',
    help: 'What each provider has left in its own units now (requests_per_minute, tokens_per_minute, tokens_per_day, concurrent); only units it has a limit in.',
    labelNames: ['provider', 'unit'] as const,
    registers,
    collect() {
      this.reset();
      const units = {
        requestsPerMinute: 'requests_per_minute',
        tokensPerMinute: 'tokens_per_minute',
        tokensPerDay: 'tokens_per_day',
        maxConcurrent: 'concurrent',
      } as const;
      for (const [provider, budget] of Object.entries(runtime.status({ recent: 0 }).limits ?? {})) {
        for (const [key, unit] of Object.entries(units)) {
          const left = budget.remaining[key as keyof typeof units];
          if (left !== null) this.set({ provider, unit }, left);
        }
      }
    },
  });
  new Gauge({
    name: 'troupe_provider_cooling_down',
    help: 'Whether a provider is paused after a RATE_LIMITED answer: 1 while cooling down or probing.',
    labelNames: ['provider'] as const,
    registers,
    collect() {
      this.reset();
      for (const [provider, budget] of Object.entries(runtime.status({ recent: 0 }).limits ?? {})) {
        this.set({ provider }, budget.cooldown === 'open' ? 0 : 1);
      }
    },
  });
  new Gauge({
    name: 'troupe_models_cooling_down',
    help: "Models of a provider paused on their own after a RATE_LIMITED answer (a provider that cools down per model, GLM's); which ones: /api/status.",
    labelNames: ['provider'] as const,
    registers,
    collect() {
      this.reset();
      for (const [provider, budget] of Object.entries(runtime.status({ recent: 0 }).limits ?? {})) {
        this.set({ provider }, Object.keys(budget.models ?? {}).length);
      }
    },
  });
  new Gauge({
    name: 'troupe_supervisor_state',
    help: 'The supervisor state: 1 for the current one.',
    labelNames: ['state'] as const,
    registers,
    collect() {
      const now = runtime.status({ recent: 0 }).state;
      for (const state of ['accepting', 'draining', 'stopped']) this.set({ state }, state === now ? 1 : 0);
    },
  });

  const models = new Set<string>();
  const modelLabel = (model: string): string => {
    if (models.has(model)) return model;
    if (model.length > MAX_MODEL_LABEL_LENGTH || models.size >= MAX_MODEL_LABELS) return OTHER_MODEL;
    models.add(model);
    return model;
  };

  const onEvent = (event: RuntimeEvent): void => {
    if (event.type === 'session.retry') {
      retries.inc({ provider: event.provider, code: event.error.code });
      providerErrors.inc({ provider: event.provider, code: event.error.code });
      return;
    }
    // The error that moved a session on to its next fallback target is its provider's as much as
    // a retried or a final one: counted only those, a provider failing every call behind a
    // fallback that answered showed no error at all.
    // A move past a cooldown made no call (`withoutCall`): counted, it read as one 429 a session.
    if (event.type === 'session.fallback') {
      if (event.error.family === 'provider' && event.withoutCall !== true)
        providerErrors.inc({ provider: event.from.provider, code: event.error.code });
      return;
    }
    if (event.type !== 'session.ended') return;
    const { result } = event;
    const { metadata } = result;
    const provider = event.provider;
    sessions.inc({ state: metadata.state, provider });
    queueWait.observe({ provider }, metadata.queuedMs / 1000);
    if (metadata.runMs > 0 || metadata.state === 'done')
      runTime.observe({ provider, state: metadata.state }, metadata.runMs / 1000);
    if (!result.ok && result.error.family === 'provider')
      providerErrors.inc({ provider, code: result.error.code });
    const usage = metadata.usage;
    if (usage === undefined && metadata.cost === undefined) return;
    const model = modelLabel(metadata.model);
    if (usage !== undefined) {
      tokens.inc({ provider, model, kind: 'prompt' }, usage.promptTokens);
      tokens.inc({ provider, model, kind: 'completion' }, usage.completionTokens);
    }
    if (metadata.cost !== undefined)
      cost.inc({ provider, model, currency: metadata.cost.currency }, metadata.cost.amount);
  };
  const unsubscribe = runtime.subscribe(onEvent);

  return {
    registry,
    contentType: registry.contentType,
    scrape: () => registry.metrics(),
    close: unsubscribe,
  };
}
