/**
 * Routing a chat request at admission: its own target and its fallbacks resolved by the router,
 * each target's provider adapter found, and the request's token estimate checked against every
 * known context window and every token window of the limits (a call above one could never start),
 * all before the session is queued and without any network call.
 *
 * The request the provider gets is measured first, against `limits.maxQueuedBytes`, and one over it
 * refused before anything else reads it: the estimate stringifies its tools whole, so until
 * 2026-12-07 a tool schema with an `enum` of 1e7 entries was serialised (seconds, and its JSON in
 * memory) before the size bound refused the request.
 */
import type { RouteTargetData } from '../../machines/routing.js';
import { describe, providerError, runtimeError, TroupeError } from '../core/errors.js';
import { jsonBytes } from '../core/json-bytes.js';
import { isName, MAX_FALLBACKS, MAX_NAME_CHARS } from '../core/metadata.js';
import { type OwnRequest, requestBytes } from '../core/request-bytes.js';
import { completionBudget, estimatePromptTokens } from '../providers/estimate.js';
import type { ChatProvider, ChatRequest } from '../providers/port.js';
import type { FallbackTarget, RoutedTarget } from '../providers/session-request.js';
import { type NeverFits, neverFitsAt } from './limiter.js';
import type { ResolvedLimits } from './options.js';
import { tooLarge } from './request-check.js';
import { chatRequest } from './requests.js';
import type { SessionWork } from './session-record.js';
import type { Router, SessionRequest } from './types.js';

export interface RoutedChat {
  /** The first target that fits: the session's lane and the model it calls first. */
  readonly provider: string;
  readonly model: string;
  readonly work: SessionWork;
  /** The whole chain, the request's own target first; absent without fallbacks. */
  readonly targets: readonly RouteTargetData[] | undefined;
  /** Its size while it waits: the UTF-8 length of the JSON its provider gets (`work.request`). */
  readonly bytes: number;
}

/**
 * The limits a request is checked against at admission: its size, the token windows and what a
 * call is charged.
 */
export type AdmissionLimits = Pick<ResolvedLimits, 'maxQueuedBytes' | 'rates' | 'charge'>;

export function routeChat(
  request: SessionRequest,
  route: Router,
  providers: ReadonlyMap<string, ChatProvider>,
  limits?: AdmissionLimits,
  own?: OwnRequest,
): RoutedChat {
  const primary = route(request);
  const adapter = adapterOf(providers, primary.provider);
  const provided = chatRequest(request, primary.model);
  const maxBytes = limits?.maxQueuedBytes ?? Number.POSITIVE_INFINITY;
  const bytes = own === undefined ? sizeOf(provided, maxBytes) : ownSize(own, primary.model, maxBytes);
  const fallbacks = fallbacksOf(request, primary);
  const resolved = resolveFallbacks(route, request, fallbacks);
  if (resolved.length === 0) {
    // Stryker disable next-line ConditionalExpression: a shortcut; an unknown window fits any request, and this saves the estimate.
    if (primary.contextWindow !== undefined) {
      const check = windowCheck(provided, primary, estimatePromptTokens(provided));
      if (!check.fits)
        throw tooLong(
          check,
          primary,
          '; shorten the prompt, lower `max_tokens`, or name a fallback with a larger window',
        );
    }
    const over = overLimit(limits, provided, primary);
    if (over !== undefined) throw overLimitError(over, primary);
    return {
      provider: primary.provider,
      model: primary.model,
      work: { kind: 'chat', provider: adapter, request: provided },
      targets: undefined,
      bytes,
    };
  }
  const routed = [primary];
  for (const target of resolved) {
    adapterOf(providers, target.provider);
    routed.push(target);
  }
  // Stryker disable next-line ConditionalExpression: a shortcut; with no window known every target fits whatever the prompt.
  const known = routed.some((t) => t.contextWindow !== undefined);
  const prompt = known ? estimatePromptTokens(provided) : 0;
  const checks = routed.map((t) => windowCheck(provided, t, prompt));
  // A target whose token window the call could never start in is passed over, as one too small.
  const over = routed.map((t, i) =>
    (checks[i] as WindowCheck).fits ? overLimit(limits, provided, t) : undefined,
  );
  const fits = checks.map((c, i) => c.fits && over[i] === undefined);
  const first = fits.indexOf(true);
  if (first === -1) {
    const others = resolved.length === 1 ? 'its fallback' : `any of its ${resolved.length} fallbacks`;
    const limited = over.findIndex((o) => o !== undefined);
    if (limited !== -1)
      throw overLimitError(over[limited] as Over, routed[limited] as RoutedTarget, `, nor could ${others}`);
    throw tooLong(
      checks[0] as WindowCheck,
      primary,
      `, and no larger window in ${others}; shorten the prompt or lower \`max_tokens\``,
    );
  }
  const targets = routed.map(
    (t, i): RouteTargetData => ({
      provider: t.provider,
      model: t.model,
      contextWindow: t.contextWindow ?? null,
      fits: fits[i] as boolean,
    }),
  );
  const start = routed[first] as RoutedTarget;
  // Stryker disable next-line ConditionalExpression: `chatRequest(request, primary.model)` is `provided` again, of the same size; this saves the copy and the count.
  const startRequest = first === 0 ? provided : chatRequest(request, start.model);
  const work: SessionWork = {
    kind: 'chat',
    provider: adapterOf(providers, start.provider),
    request: startRequest,
    providers,
  };
  // Another model's name: the same request but for its `model`, so its bytes are the first's with
  // the one name's JSON for the other (until 2026-12-07 the whole request was measured again).
  const startBytes = bytes - jsonBytes(primary.model) + jsonBytes(start.model);
  if (startBytes > maxBytes) throw tooLarge(maxBytes, startBytes);
  return { provider: start.provider, model: start.model, work, targets, bytes: startBytes };
}

/**
 * A request's JSON length in UTF-8, counted without building it and only until past `limit`, where
 * it is refused as too large; one JSON cannot carry is refused.
 */
function sizeOf(request: ChatRequest, limit: number): number {
  let bytes: number;
  try {
    bytes = requestBytes(request, limit);
  } catch (error) {
    throw notJson(error);
  }
  if (bytes > limit) throw tooLarge(limit, bytes);
  return bytes;
}

/**
 * The size of the request `own` was copied from (`ownRequest`, at admission) as its provider gets
 * it for `model`: the copy's count and the `model` field, not measured again.
 */
function ownSize(own: OwnRequest, model: string, limit: number): number {
  if (Object.hasOwn(own, 'unjsonable')) throw notJson(own.unjsonable);
  // `"model":` and its value, and a comma before the copy's first field.
  const bytes = own.bytes + 8 + jsonBytes(model) + (own.fields === 0 ? 0 : 1);
  if (bytes > limit) throw tooLarge(limit, bytes);
  return bytes;
}

function notJson(error: unknown): TroupeError {
  return runtimeError(
    'INVALID_REQUEST',
    `Expected a request that is JSON data, got one JSON cannot carry (${(error as Error).message}); send plain data`,
  );
}

interface Over extends NeverFits {
  readonly tokens: number;
}

/** The token window of the limits that a call of `request` to `target` could never start in. */
function overLimit(
  limits: AdmissionLimits | undefined,
  request: ChatRequest,
  target: RoutedTarget,
): Over | undefined {
  const config = limits?.rates.get(target.provider);
  if (config === undefined) return undefined;
  const own = config.models?.[target.model];
  // Stryker disable next-line ConditionalExpression,LogicalOperator: a shortcut; without a token window nothing is over, and this saves the estimate (a scan of the prompt).
  if (!inTokens(config) && (own === undefined || !inTokens(own))) return undefined;
  const tokens = (limits as AdmissionLimits).charge(request, target.provider, target.model);
  const over = neverFitsAt(config, target.provider, target.model, tokens);
  return over === undefined ? undefined : { ...over, tokens };
}

/** Whether `limits` has a window in tokens. */
function inTokens(limits: { readonly tokensPerMinute?: number; readonly tokensPerDay?: number }): boolean {
  return limits.tokensPerMinute !== undefined || limits.tokensPerDay !== undefined;
}

function overLimitError(over: Over, target: RoutedTarget, others = ''): TroupeError {
  return runtimeError(
    'INVALID_REQUEST',
    `Expected a call that fits ${over.setting} (${over.max} tokens), got an estimated ${over.tokens} for model ${target.model} (the prompt plus \`max_tokens\`, or the completion budget the vendor counts without it): it could never start${others}; lower \`max_tokens\`, shorten the prompt or raise the limit`,
  );
}

interface WindowCheck {
  readonly fits: boolean;
  readonly window: number;
  readonly prompt: number;
  readonly completion: number;
}

/** Prompt plus completion budget against the model's window; an unknown window always fits. */
function windowCheck(request: ChatRequest, target: RoutedTarget, prompt: number): WindowCheck {
  const window = target.contextWindow;
  if (window === undefined) return { fits: true, window: Number.POSITIVE_INFINITY, prompt, completion: 0 };
  const completion = completionBudget(request) ?? target.defaultMaxTokens ?? 0;
  return { fits: prompt + completion <= window, window, prompt, completion };
}

function tooLong(check: WindowCheck, target: RoutedTarget, advice: string): TroupeError {
  return providerError(
    'CONTEXT_TOO_LONG',
    `Expected at most ${check.window} tokens for model ${target.model}, got an estimated ${check.prompt} prompt + ${check.completion} completion${advice}`,
  );
}

function fallbacksOf(request: SessionRequest, primary: RoutedTarget): readonly FallbackTarget[] {
  const given = request.fallbacks;
  if (given === undefined) return primary.fallbacks ?? [];
  if (!Array.isArray(given)) {
    throw runtimeError(
      'INVALID_REQUEST',
      `Expected \`fallbacks\` to be an array of { provider?, model }, got ${describe(given)}`,
    );
  }
  if (given.length > MAX_FALLBACKS) {
    throw runtimeError(
      'INVALID_REQUEST',
      `Expected at most ${MAX_FALLBACKS} fallbacks, got ${given.length}; keep the likeliest`,
    );
  }
  return given;
}

/** No fallback targets, shared. */
const NO_TARGETS: readonly RoutedTarget[] = [];

/**
 * Each fallback's target, in order. A model's own fallback (the providers file's, when the request
 * names none) to a provider whose key is not set is passed over: the model is served without it, as
 * with a fallback that is down (until 2026-12-07 every call to that model was refused
 * `NOT_CONFIGURED`, though its own provider had its key). One the request names is still refused.
 */
function resolveFallbacks(
  route: Router,
  request: SessionRequest,
  fallbacks: readonly FallbackTarget[],
): readonly RoutedTarget[] {
  // Most calls name none: no array made for them.
  // Stryker disable next-line ConditionalExpression: a shortcut; the loop below resolves none of an empty list.
  if (fallbacks.length === 0) return NO_TARGETS;
  const fromModel = request.fallbacks === undefined;
  const resolved: RoutedTarget[] = [];
  fallbacks.forEach((fallback, i) => {
    try {
      resolved.push(resolveFallback(route, request, fallback, i));
    } catch (error) {
      if (!(fromModel && error instanceof TroupeError && error.code === 'NOT_CONFIGURED')) throw error;
    }
  });
  return resolved;
}

function resolveFallback(
  route: Router,
  request: SessionRequest,
  fallback: FallbackTarget,
  i: number,
): RoutedTarget {
  const ok =
    typeof fallback === 'object' &&
    fallback !== null &&
    isName(fallback.model) &&
    (fallback.provider === undefined || isName(fallback.provider));
  if (!ok) {
    // Names as long as the request's own may be (a megabyte model id was kept until 2026-12-04).
    throw runtimeError(
      'INVALID_REQUEST',
      `Expected \`fallbacks[${i}]\` to be { provider?: string, model: string } of names up to ${MAX_NAME_CHARS} characters, got ${describe(fallback)}`,
    );
  }
  const asked: SessionRequest =
    fallback.provider === undefined
      ? { messages: request.messages, model: fallback.model }
      : { messages: request.messages, provider: fallback.provider, model: fallback.model };
  try {
    return route(asked);
  } catch (error) {
    if (error instanceof TroupeError) {
      throw new TroupeError(error.family, error.code, `fallbacks[${i}]: ${error.message}`, { cause: error });
    }
    throw error;
  }
}

function adapterOf(providers: ReadonlyMap<string, ChatProvider>, name: string): ChatProvider {
  const provider = providers.get(name);
  if (provider !== undefined) return provider;
  const known = [...providers.keys()].map((n) => `"${n}"`).join(', ');
  const expected =
    providers.size === 0 ? 'a chat provider (this runtime has none)' : `a provider among ${known}`;
  throw runtimeError('UNKNOWN_PROVIDER', `Expected ${expected}, got "${name}"`);
}

/** The call for the session's current target: its own adapter, the request with its model. */
export function workFor(work: SessionWork, target: RouteTargetData | undefined): SessionWork {
  // Stryker disable next-line ConditionalExpression: a task's work has no `providers` either; the check narrows the type.
  if (work.kind !== 'chat' || target === undefined || work.providers === undefined) return work;
  const provider = work.providers.get(target.provider) as ChatProvider;
  if (provider === work.provider && target.model === work.request.model) return work;
  return {
    kind: 'chat',
    provider,
    request: { ...work.request, model: target.model },
    providers: work.providers,
  };
}
