/**
 * Defaults and validation for `createRuntime` and `submit`. Every refusal says what was expected
 * and what came, e.g. "Expected `priority` to be an integer from 0 to 9, got `12` (number)".
 */

import type { SessionInput } from '../../machines/session.js';
import { describe, runtimeError } from '../core/errors.js';
import { isName, MAX_NAME_CHARS } from '../core/metadata.js';
import { chargedTokens } from '../providers/estimate.js';
import type { ChatProvider, ChatRequest } from '../providers/port.js';
import {
  ATTEMPTS,
  BACKOFF,
  byteCount,
  HISTORY,
  invalid,
  nonNegativeInt,
  positiveInt,
  positiveMs,
  priority,
} from './option-numbers.js';
import type {
  Defaults,
  Limits,
  ProviderLimits,
  RateLimitSettings,
  RuntimeOptions,
  SubmitOptions,
} from './types.js';

export { byteCount } from './option-numbers.js';

export interface ResolvedLimits {
  readonly maxConcurrent: number;
  /** Sessions of one caller (`metadata.owner`) running at once; `maxConcurrent` unless set (no share). */
  readonly maxRunningPerCaller: number;
  readonly perProvider: Readonly<Record<string, number>>;
  readonly maxQueued: number;
  /** Sessions of one caller (`metadata.owner`) waiting at once; `maxQueued` unless set. */
  readonly maxQueuedPerCaller: number;
  readonly maxQueuedBytes: number;
  /**
   * The bytes one caller's waiting sessions may hold: the same fraction of `maxQueuedBytes` as
   * `maxQueuedPerCaller` is of `maxQueued` (all of it when the share is the whole queue).
   */
  readonly maxQueuedBytesPerCaller: number;
  readonly fairnessEvery: number;
  readonly historySize: number;
  readonly callerMetadataBytes: number;
  /** Limits in providers' own units, by provider (their `maxConcurrent` is also in `perProvider`). */
  readonly rates: ReadonlyMap<string, ProviderLimits>;
  readonly defaultCompletionTokens: number;
  /** What a call of `request` to `model` at `provider` is charged against limits in tokens (`chargedTokens`). */
  readonly charge: (request: ChatRequest, provider: string, model: string) => number;
}

export interface ResolvedDefaults {
  readonly provider: string | undefined;
  readonly model: string | undefined;
  readonly priority: number;
  readonly timeoutMs: number;
  readonly queueTimeoutMs: number;
  readonly idleTimeoutMs: number;
  readonly maxAttempts: number;
  readonly backoffBaseMs: number;
  readonly backoffMaxMs: number;
}

/**
 * 256 MiB of request bytes waiting: 64 requests at the HTTP front's 4 MiB body bound, or thousands
 * of ordinary chats (a few KiB to a few hundred KiB each), well inside a Node heap's default.
 */
export const DEFAULT_MAX_QUEUED_BYTES = 256 * 1024 * 1024;

/**
 * `createRuntime`'s providers by name. From JavaScript, `providers` left out threw a bare TypeError,
 * `'kimi'` became four providers named `0` to `3`, and an adapter without `complete` or a name
 * was taken, to fail every call with `INTERNAL`: each is refused here, naming what came.
 */
export function resolveProviders(providers: RuntimeOptions['providers']): Map<string, ChatProvider> {
  const list = Array.isArray(providers);
  if (!list && (typeof providers !== 'object' || providers === null)) {
    throw runtimeError(
      'INVALID_REQUEST',
      `Expected \`providers\` to be an array of providers or an object of them by name (\`createSimulatedProvider()\` answers without a key), got ${shapeOf(providers)}`,
    );
  }
  const map = new Map<string, ChatProvider>();
  const entries: [string, ChatProvider][] = list
    ? (providers as readonly ChatProvider[]).map((p, i) => [nameOf(p, i), p])
    : Object.entries(providers as Readonly<Record<string, ChatProvider>>);
  for (const [name, provider] of entries) {
    if (typeof provider?.complete !== 'function' || typeof provider.stream !== 'function') {
      throw runtimeError(
        'INVALID_REQUEST',
        `Expected provider \`${name}\` to have \`complete\` and \`stream\` methods (a ChatProvider), got ${shapeOf(provider)}`,
      );
    }
    if (map.has(name))
      throw runtimeError('INVALID_REQUEST', `Expected provider names to be unique, got "${name}" twice`);
    map.set(name, provider);
  }
  return map;
}

/** An array's provider's own name: a non-empty string. */
function nameOf(provider: ChatProvider | null | undefined, index: number): string {
  const name: unknown = provider?.name;
  if (typeof name === 'string' && name !== '') return name;
  throw runtimeError(
    'INVALID_REQUEST',
    `Expected providers[${index}] to be a provider with a \`name\`, got ${shapeOf(name === undefined ? provider : name)}`,
  );
}

/**
 * What came in place of a provider, without its values: a provider's settings (`{ name, apiKey }`)
 * or a key passed by mistake would otherwise be quoted in the error.
 */
function shapeOf(value: unknown): string {
  if (typeof value === 'string') return `a string of ${value.length} characters (not shown)`;
  if (typeof value !== 'object' || value === null) return describe(value);
  if (Array.isArray(value)) return `an array of ${value.length}`;
  const keys = Object.keys(value);
  return keys.length === 0
    ? 'an object with no fields'
    : `an object with fields ${keys.slice(0, 8).join(', ')}`;
}

/**
 * Limits for a shared backend: each provider's `perProvider` concurrency also becomes its
 * `maxConcurrent` in the shared limiter. The queue bounds the sessions queued under a provider;
 * the limiter bounds every call to it, so a fallback hop from another provider's queue counts too.
 */
export function withSharedSlots(limits: Limits = {}): Limits {
  const perProvider = limits.perProvider;
  if (perProvider === undefined) return limits;
  const providers: Record<string, ProviderLimits> = { ...limits.providers };
  for (const [name, limit] of Object.entries(perProvider)) {
    const own = providers[name];
    const max = own?.maxConcurrent === undefined ? limit : Math.min(own.maxConcurrent, limit);
    providers[name] = { ...own, maxConcurrent: max };
  }
  return { ...limits, providers };
}

/**
 * Each caller's share where a server tells several callers apart: three quarters of the slots (at
 * least 1) and a quarter of the queue (rounded up). `troupe serve` over HTTP defaults to it, and
 * `createHttpApp` names it to an embedder whose runtime serving several named tokens has no share.
 * Written once here: a runtime alone does not know how many callers it serves, so it has no share
 * unless set (`Limits.maxRunningPerCaller`, `Limits.maxQueuedPerCaller`).
 */
export function callerShares(limits: { readonly maxConcurrent: number; readonly maxQueued: number }): {
  readonly maxRunningPerCaller: number;
  readonly maxQueuedPerCaller: number;
} {
  return {
    maxRunningPerCaller: Math.max(1, Math.floor((limits.maxConcurrent * 3) / 4)),
    maxQueuedPerCaller: Math.ceil(limits.maxQueued / 4),
  };
}

/**
 * `limits` resolved. `providers`: the runtime's adapters, whose own `cooldownScope` (GLM's
 * `'model'`) applies where `limits.providers.<name>.cooldownScope` does not say otherwise.
 */
export function resolveLimits(
  limits: Limits = {},
  providers?: ReadonlyMap<string, ChatProvider>,
): ResolvedLimits {
  // Keyed by names of the caller's: null-prototype, so `__proto__` is a name like any other (until
  // 2026-12-07 its limit was dropped, and `constructor` read Object's own function as one).
  const perProvider: Record<string, number> = Object.create(null);
  for (const [name, limit] of Object.entries(limits.perProvider ?? {})) {
    perProvider[name] = positiveInt(`limits.perProvider.${name}`, limit);
  }
  const rates = new Map<string, ProviderLimits>();
  for (const [name, value] of Object.entries(limits.providers ?? {})) {
    const at = `limits.providers.${name}`;
    if (typeof value !== 'object' || value === null) throw invalid(at, 'an object of limits', value);
    const { models, cooldownScope, ...own } = value;
    const resolved: { -readonly [K in keyof ProviderLimits]: ProviderLimits[K] } = rateLimits(at, own);
    if (cooldownScope !== undefined) resolved.cooldownScope = scope(`${at}.cooldownScope`, cooldownScope);
    if (models !== undefined) {
      const perModel: Record<string, RateLimitSettings> = Object.create(null);
      for (const [model, modelLimits] of Object.entries(models)) {
        perModel[model] = rateLimits(`${at}.models.${model}`, modelLimits);
      }
      resolved.models = perModel;
    }
    rates.set(name, resolved);
    if (resolved.maxConcurrent !== undefined)
      perProvider[name] = Math.min(perProvider[name] ?? Number.POSITIVE_INFINITY, resolved.maxConcurrent);
  }
  for (const [name, provider] of providers ?? new Map<string, ChatProvider>()) {
    if (provider.cooldownScope === undefined || rates.get(name)?.cooldownScope !== undefined) continue;
    rates.set(name, {
      ...rates.get(name),
      cooldownScope: scope(`provider \`${name}\`'s cooldownScope`, provider.cooldownScope),
    });
  }
  const maxQueued = nonNegativeInt('limits.maxQueued', limits.maxQueued ?? 10_000);
  const defaultCompletionTokens = positiveInt(
    'limits.defaultCompletionTokens',
    limits.defaultCompletionTokens ?? 1024,
  );
  const maxQueuedPerCaller = nonNegativeInt(
    'limits.maxQueuedPerCaller',
    limits.maxQueuedPerCaller ?? maxQueued,
  );
  const maxQueuedBytes = byteCount(
    'limits.maxQueuedBytes',
    limits.maxQueuedBytes ?? DEFAULT_MAX_QUEUED_BYTES,
  );
  const maxConcurrent = positiveInt('limits.maxConcurrent', limits.maxConcurrent ?? 64);
  return {
    maxConcurrent,
    maxRunningPerCaller: positiveInt(
      'limits.maxRunningPerCaller',
      limits.maxRunningPerCaller ?? maxConcurrent,
    ),
    perProvider,
    maxQueued,
    maxQueuedPerCaller,
    maxQueuedBytes,
    maxQueuedBytesPerCaller:
      maxQueuedPerCaller >= maxQueued
        ? maxQueuedBytes
        : Math.floor((maxQueuedBytes * maxQueuedPerCaller) / maxQueued),
    fairnessEvery: positiveInt('limits.fairnessEvery', limits.fairnessEvery ?? 8),
    historySize: nonNegativeInt('limits.historySize', limits.historySize ?? 1000, HISTORY),
    callerMetadataBytes: nonNegativeInt('limits.callerMetadataBytes', limits.callerMetadataBytes ?? 4096),
    rates,
    defaultCompletionTokens,
    charge: (request, provider, model) =>
      chargedTokens(request, model, providers?.get(provider), defaultCompletionTokens),
  };
}

export function resolveDefaults(defaults: Defaults = {}): ResolvedDefaults {
  return {
    provider: defaults.provider,
    model: defaults.model,
    priority: priority('defaults.priority', defaults.priority ?? 5),
    timeoutMs: positiveMs('defaults.timeoutMs', defaults.timeoutMs ?? 120_000),
    queueTimeoutMs: positiveMs('defaults.queueTimeoutMs', defaults.queueTimeoutMs ?? 60_000),
    idleTimeoutMs: positiveMs('defaults.idleTimeoutMs', defaults.idleTimeoutMs ?? 30_000),
    maxAttempts: positiveInt('defaults.maxAttempts', defaults.maxAttempts ?? 3, ATTEMPTS),
    backoffBaseMs: nonNegativeInt('defaults.backoffBaseMs', defaults.backoffBaseMs ?? 250, BACKOFF),
    backoffMaxMs: nonNegativeInt('defaults.backoffMaxMs', defaults.backoffMaxMs ?? 10_000, BACKOFF),
  };
}

export interface ResolvedSubmitOptions {
  readonly priority: number;
  readonly timeoutMs: number;
  readonly queueTimeoutMs: number;
  readonly idleTimeoutMs: number;
  readonly maxAttempts: number;
}

export function resolveSubmitOptions(
  options: SubmitOptions,
  defaults: ResolvedDefaults,
): ResolvedSubmitOptions {
  checkKept(options);
  return {
    priority: options.priority === undefined ? defaults.priority : priority('priority', options.priority),
    timeoutMs:
      options.timeoutMs === undefined ? defaults.timeoutMs : positiveMs('timeoutMs', options.timeoutMs),
    queueTimeoutMs:
      options.queueTimeoutMs === undefined
        ? defaults.queueTimeoutMs
        : positiveMs('queueTimeoutMs', options.queueTimeoutMs),
    idleTimeoutMs:
      options.idleTimeoutMs === undefined
        ? defaults.idleTimeoutMs
        : positiveMs('idleTimeoutMs', options.idleTimeoutMs),
    maxAttempts:
      options.maxAttempts === undefined
        ? defaults.maxAttempts
        : positiveInt('maxAttempts', options.maxAttempts, ATTEMPTS),
  };
}

/**
 * The options a session keeps as given, each of the type it is read as: from JavaScript a `signal`
 * that is no AbortSignal threw a bare TypeError, and `label: 5`, `requestId: {}` or
 * `metadata: 'alice'` (whose `owner` then names no caller) went into every result as they came.
 */
function checkKept({ signal, metadata, label, requestId, parent }: SubmitOptions): void {
  // By its shape: an AbortSignal of another realm or a polyfill is as good. Without
  // `removeEventListener` its listener could not be taken off at the session's end (until 2026-12-06
  // taken, and the end threw: docs/runtime.md, "A throw at a session's end").
  const aborts = signal as
    | { addEventListener?: unknown; removeEventListener?: unknown; aborted?: unknown }
    | null
    | undefined;
  if (
    signal !== undefined &&
    (typeof aborts?.addEventListener !== 'function' ||
      typeof aborts.removeEventListener !== 'function' ||
      typeof aborts.aborted !== 'boolean')
  )
    throw invalid('signal', 'an AbortSignal', signal);
  if (
    metadata !== undefined &&
    (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata))
  )
    throw invalid('metadata', 'an object', metadata);
  if (label !== undefined && !isName(label, 0)) throw invalid('label', SHORT_TEXT, label);
  if (requestId !== undefined && !isName(requestId, 0)) throw invalid('requestId', SHORT_TEXT, requestId);
  if (parent !== undefined && !isName(parent)) throw invalid('parent', "a session's id", parent);
  // The caller: budgets, the queue's share, the history and `status({ owner })` count by it. Not a
  // string (or an empty one) was no caller: its sessions went to nobody's budget.
  const owner = metadata !== undefined && Object.hasOwn(metadata, 'owner') ? metadata.owner : undefined;
  if (owner !== undefined && !isName(owner))
    throw invalid(
      'metadata.owner',
      `the caller's name, a string of 1 to ${MAX_NAME_CHARS} characters`,
      owner,
    );
}

/** What `label` and `requestId` are told (each may be empty; `MAX_NAME_CHARS` in core/metadata.ts). */
const SHORT_TEXT = `a string of at most ${MAX_NAME_CHARS} characters`;

const RATE_FIELDS = ['maxConcurrent', 'requestsPerMinute', 'tokensPerMinute', 'tokensPerDay'] as const;

function rateLimits(
  at: string,
  value: unknown,
): { -readonly [K in keyof RateLimitSettings]: RateLimitSettings[K] } {
  if (typeof value !== 'object' || value === null) throw invalid(at, 'an object of limits', value);
  const out: { -readonly [K in keyof RateLimitSettings]: RateLimitSettings[K] } = {};
  for (const [field, limit] of Object.entries(value)) {
    if (!(RATE_FIELDS as readonly string[]).includes(field)) {
      throw runtimeError(
        'INVALID_REQUEST',
        `Expected \`${at}\` to have only ${RATE_FIELDS.join(', ')}, got \`${field}\``,
      );
    }
    if (limit !== undefined)
      out[field as (typeof RATE_FIELDS)[number]] = positiveInt(`${at}.${field}`, limit);
  }
  return out;
}

function scope(name: string, value: unknown): 'provider' | 'model' {
  if (value !== 'provider' && value !== 'model') throw invalid(name, '"provider" or "model"', value);
  return value;
}

/** A new session's plain input: every deadline absolute, counted from `now`. */
export function sessionInput(
  ids: { readonly sessionId: string; readonly requestId: string | undefined },
  target: { readonly lane: string; readonly model: string; readonly stream: boolean },
  now: number,
  resolved: ResolvedSubmitOptions,
  defaults: ResolvedDefaults,
): SessionInput {
  return {
    sessionId: ids.sessionId,
    requestId: ids.requestId ?? ids.sessionId,
    provider: target.lane,
    model: target.model,
    priority: resolved.priority,
    stream: target.stream,
    createdAt: now,
    queueDeadlineAt: now + resolved.queueTimeoutMs,
    timeoutMs: resolved.timeoutMs,
    idleTimeoutMs: resolved.idleTimeoutMs,
    maxAttempts: resolved.maxAttempts,
    backoffBaseMs: defaults.backoffBaseMs,
    backoffMaxMs: defaults.backoffMaxMs,
  };
}
