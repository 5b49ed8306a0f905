/**
 * The limits in a provider's own units and its cooldown, written once: the changes below are
 * pure functions of a plain state that `SharedState` stores, so the same policy runs in memory
 * (synchronously, `MemorySharedState.updateNow`, inside the admission loop) and on Redis (the
 * port's `update`, after a Worker leased a job). Only storage differs.
 *
 * Per provider, under `limits:<provider>`: its rate windows (`src/core/rate-window.ts`) and its
 * cooldown, the provider machine's snapshot (`machines/provider.ts`). Per model, under
 * `limits:<provider>:<model>`: its windows. A start is charged to both, or to neither. A provider
 * whose vendor limits each model on its own (`cooldownScope: 'model'`, Z.ai and Zhipu) cools down
 * per model: the same machine's snapshot under `cooldown:<provider>:<model>`, and the provider's
 * own never leaves `open`.
 */

import {
  initialProviderSnapshot,
  type ProviderMachineEvent,
  type ProviderSnapshot,
  providerGate,
  providerStep,
} from '../../machines/provider.js';
import type { SessionMachineEvent } from '../../machines/session.js';
import {
  charge,
  emptyWindow,
  type LimitName,
  type RateLimits,
  type Room,
  reconcile,
  releaseSlot,
  remaining,
  room,
  type WindowState,
} from '../core/rate-window.js';

export type { LimitName, RateLimits };

/** What a `RATE_LIMITED` answer pauses: the whole provider, or only the model it came for. */
export type CooldownScope = 'provider' | 'model';

export interface ProviderLimitsConfig extends RateLimits {
  /** Limits of one model of this provider, on top of the provider's. */
  readonly models?: Readonly<Record<string, RateLimits>>;
  /** `'model'`: each model cools down on its own (its vendor limits each model apart). @default 'provider' */
  readonly cooldownScope?: CooldownScope;
}

export interface ProviderState {
  readonly w: WindowState;
  readonly c: ProviderSnapshot;
  /** Its models cooling down on their own (`cooldownScope: 'model'`), until when: for status only. */
  readonly m?: Readonly<Record<string, number>>;
}

/** A start to charge: who, when, how many estimated tokens, and when its slot lapses. */
export interface Start {
  readonly sessionId: string;
  readonly model: string;
  readonly now: number;
  readonly tokens: number;
  /** The session's run deadline: a concurrency slot or a probe it holds lapses then. */
  readonly lapsesAt: number;
}

/** A refusal says whether a limit of the model (not of the whole provider) held it. */
export type Acquired =
  | { readonly ok: true; readonly probe: boolean }
  | (Exclude<Room, { ok: true }> & {
      readonly model?: boolean;
      /** Held by a cooldown's probe: the session probing, whose end may let this one go sooner. */
      readonly probe?: string;
    });

export const providerKey = (provider: string) => `limits:${provider}`;
export const modelKey = (provider: string, model: string) => `limits:${provider}:${model}`;
/** A model's own cooldown, for a provider whose `cooldownScope` is `'model'`. */
export const modelCooldownKey = (provider: string, model: string) => `cooldown:${provider}:${model}`;
export const initialProviderState = (): ProviderState => ({ w: emptyWindow(), c: initialProviderSnapshot() });

/** How long a limiter state outlives its last change: past this every window is empty. */
export const LIMITER_TTL_MS = 25 * 3_600_000;

/** The provider's gate and windows: charges the start if it fits. */
export function acquireProvider(limits: RateLimits, start: Start) {
  return (state: ProviderState): { state: ProviderState; result: Acquired } => {
    const gate = providerGate(state.c, start.now);
    if (gate.kind === 'wait') {
      return { state, result: { ok: false, limit: 'cooldown', at: gate.at, probe: gate.probe } };
    }
    const fits = room(state.w, limits, start.now, start.tokens, start.sessionId);
    if (!fits.ok) return { state, result: fits };
    const probe = gate.kind === 'probe';
    const slot =
      limits.maxConcurrent === undefined ? undefined : { id: start.sessionId, lapsesAt: start.lapsesAt };
    return {
      state: {
        ...state,
        w: charge(state.w, start.now, start.tokens, slot),
        c: passGate(state.c, start, probe),
      },
      result: { ok: true, probe },
    };
  };
}

/** The cooldown machine once a start passed its gate: ticked, and the start its probe when one was due. */
function passGate(c: ProviderSnapshot, start: Start, probe: boolean): ProviderSnapshot {
  const ticked = providerStep(c, { type: 'provider.tick', now: start.now });
  // Stryker disable next-line ConditionalExpression: open (no probe due) ignores provider.probe.
  if (!probe) return ticked;
  return providerStep(ticked, {
    type: 'provider.probe',
    now: start.now,
    sessionId: start.sessionId,
    lapsesAt: start.lapsesAt,
  });
}

/** A model's own cooldown (`cooldownScope: 'model'`): lets the start through, as its probe when one is due. */
export function acquireCooldown(start: Start) {
  return (state: ProviderSnapshot): { state: ProviderSnapshot; result: Acquired } => {
    const gate = providerGate(state, start.now);
    if (gate.kind === 'wait') {
      return {
        state,
        result: { ok: false, limit: 'cooldown', at: gate.at, probe: gate.probe, model: true },
      };
    }
    const probe = gate.kind === 'probe';
    return { state: passGate(state, start, probe), result: { ok: true, probe } };
  };
}

/** Takes back a model cooldown's pass (a limit after it refused the start): its probe, if it took one. */
export function refundCooldown(start: Start, probe: boolean) {
  return (state: ProviderSnapshot): { state: ProviderSnapshot; result: undefined } => ({
    state: probe
      ? providerStep(state, { type: 'provider.probeEnded', now: start.now, sessionId: start.sessionId })
      : state,
    result: undefined,
  });
}

/** A model's windows: charges the start if it fits. */
export function acquireModel(limits: RateLimits, start: Start) {
  return (state: WindowState): { state: WindowState; result: Room } => {
    const fits = room(state, limits, start.now, start.tokens, start.sessionId);
    if (!fits.ok) return { state, result: fits };
    const slot =
      limits.maxConcurrent === undefined ? undefined : { id: start.sessionId, lapsesAt: start.lapsesAt };
    return { state: charge(state, start.now, start.tokens, slot), result: fits };
  };
}

/** Takes back a provider charge whose model refused the start (so neither is charged). */
export function refundProvider(start: Start, probe: boolean) {
  return (state: ProviderState): { state: ProviderState; result: undefined } => {
    const w = releaseSlot(uncharge(state.w, start), start.sessionId);
    const c = probe
      ? providerStep(state.c, { type: 'provider.probeEnded', now: start.now, sessionId: start.sessionId })
      : state.c;
    return { state: { ...state, w, c }, result: undefined };
  };
}

/** Takes back a model charge (its start was given back). */
export function refundModel(start: Start) {
  return (state: WindowState): { state: WindowState; result: undefined } => ({
    state: releaseSlot(uncharge(state, start), start.sessionId),
    result: undefined,
  });
}

function uncharge(w: WindowState, start: Start): WindowState {
  const second = Math.floor(start.now / 1000);
  const hour = Math.floor(start.now / 3_600_000);
  return {
    s: w.s.map((b) =>
      b[0] === second ? ([b[0], Math.max(0, b[1] - 1), Math.max(0, b[2] - start.tokens)] as const) : b,
    ),
    h: w.h.map((b) => (b[0] === hour ? ([b[0], Math.max(0, b[1] - start.tokens)] as const) : b)),
    r: w.r,
  };
}

/** What happened to a call, as the limiter hears it. */
export type CallOutcome =
  | { readonly kind: 'answered'; readonly delta: number }
  | { readonly kind: 'rateLimited'; readonly retryAfterMs: number | undefined }
  | { readonly kind: 'ended' };

/** A session's end, or a call's without an outcome: its slot and its probe go. */
// Stryker disable next-line ObjectLiteral,StringLiteral: settleProvider ends any outcome but an answer or a 429 alike.
export const ENDED: CallOutcome = { kind: 'ended' };

/** The cooldown machine's event for a call's outcome. */
function cooldownEvent(sessionId: string, now: number, outcome: CallOutcome): ProviderMachineEvent {
  if (outcome.kind === 'answered') return { type: 'provider.answered', now, sessionId };
  if (outcome.kind === 'ended') return { type: 'provider.probeEnded', now, sessionId };
  // Stryker disable next-line ConditionalExpression: an undefined retryAfterMs is the missing one.
  return outcome.retryAfterMs === undefined
    ? { type: 'provider.rateLimited', now }
    : { type: 'provider.rateLimited', now, retryAfterMs: outcome.retryAfterMs };
}

/**
 * A call's outcome on the provider: reconciled tokens, the cooldown machine's event, the slot freed.
 * `cooldown: false` (the model cools down instead, `settleCooldown`): a 429 only frees the slot.
 */
export function settleProvider(
  sessionId: string,
  startedAt: number,
  now: number,
  outcome: CallOutcome,
  cooldown = true,
) {
  return (state: ProviderState): { state: ProviderState; result: ProviderState } => {
    const event = cooldownEvent(sessionId, now, cooldown ? outcome : ENDED);
    let w = outcome.kind === 'answered' ? reconcile(state.w, startedAt, outcome.delta, now) : state.w;
    w = releaseSlot(w, sessionId);
    const next = { ...state, w, c: providerStep(state.c, event) };
    return { state: next, result: next };
  };
}

/**
 * A call's outcome on its model's own cooldown. The result: whether it began a cooldown, and after
 * a 429 the end of the model's cooldown (begun or extended), for status.
 */
export function settleCooldown(sessionId: string, now: number, outcome: CallOutcome) {
  return (
    state: ProviderSnapshot,
  ): { state: ProviderSnapshot; result: { began: boolean; until: number | null } } => {
    const next = providerStep(state, cooldownEvent(sessionId, now, outcome));
    const began = next.context.cooldowns > state.context.cooldowns;
    return {
      state: next,
      // Stryker disable next-line ConditionalExpression: an answer or an end leaves the end of a cooldown as it was (or none): noting it again changes nothing shown.
      result: { began, until: outcome.kind === 'rateLimited' ? next.context.until : null },
    };
  };
}

/**
 * The most models one provider's state notes as cooling down. The note is for status only (each
 * model's own cooldown key holds its calls), and a model id is whatever a client sends: without a
 * bound, distinct ids answered 429 grew every read and write of the provider's state.
 */
export const MAX_MODELS_NOTED = 64;

/** Notes on the provider's state that `model` cools down on its own until `until`, for status. */
export function noteModelCooldown(model: string, now: number, until: number) {
  return (state: ProviderState): { state: ProviderState; result: undefined } => {
    const others = Object.entries(state.m ?? {}).filter(([other, end]) => other !== model && end > now);
    // Past the bound, the latest to end stay, beside this one.
    if (others.length >= MAX_MODELS_NOTED) others.sort((a, b) => b[1] - a[1]).length = MAX_MODELS_NOTED - 1;
    return { state: { ...state, m: Object.fromEntries([[model, until], ...others]) }, result: undefined };
  };
}

export function settleModel(sessionId: string, startedAt: number, now: number, outcome: CallOutcome) {
  return (state: WindowState): { state: WindowState; result: undefined } => {
    const w = outcome.kind === 'answered' ? reconcile(state, startedAt, outcome.delta, now) : state;
    return { state: releaseSlot(w, sessionId), result: undefined };
  };
}

/** What a provider has left, for status and `troupe sessions`. */
export interface ProviderBudget {
  readonly cooldown: ProviderSnapshot['value'];
  readonly cooldownUntil: number | null;
  readonly cooldowns: number;
  readonly remaining: ReturnType<typeof remaining>;
  /** Its models cooling down on their own (`cooldownScope: 'model'`) at the time asked, until when. */
  readonly models?: Readonly<Record<string, number>>;
}

export function budgetOf(state: ProviderState | undefined, limits: RateLimits, now: number): ProviderBudget {
  const s = state ?? initialProviderState();
  const c = providerStep(s.c, { type: 'provider.tick', now });
  const models = Object.entries(s.m ?? {}).filter(([, until]) => until > now);
  return {
    cooldown: c.value,
    cooldownUntil: c.value === 'coolingDown' ? c.context.until : null,
    cooldowns: c.context.cooldowns,
    remaining: remaining(s.w, limits, now),
    ...(models.length === 0 ? {} : { models: Object.fromEntries(models) }),
  };
}

/** The token window a start of `tokens` could never fit, whatever waits: none fits more than its limit. */
export function neverFits(
  limits: RateLimits,
  tokens: number,
): 'tokensPerMinute' | 'tokensPerDay' | undefined {
  if (tokens > (limits.tokensPerMinute ?? Number.POSITIVE_INFINITY)) return 'tokensPerMinute';
  if (tokens > (limits.tokensPerDay ?? Number.POSITIVE_INFINITY)) return 'tokensPerDay';
  return undefined;
}

/** A token window, the provider's or its model's, that a call could never start in. */
export interface NeverFits {
  readonly limit: 'tokensPerMinute' | 'tokensPerDay';
  readonly max: number;
  /** Where it is set, e.g. `limits.providers.kimi.tokensPerMinute`. */
  readonly setting: string;
}

/** `neverFits` over a provider's own windows, then its model's (`config.models`). */
export function neverFitsAt(
  config: ProviderLimitsConfig | undefined,
  provider: string,
  model: string,
  tokens: number,
): NeverFits | undefined {
  if (config === undefined) return undefined;
  const own = neverFits(config, tokens);
  if (own !== undefined)
    return { limit: own, max: config[own] as number, setting: `limits.providers.${provider}.${own}` };
  const byModel = config.models?.[model];
  const its = byModel === undefined ? undefined : neverFits(byModel, tokens);
  if (its === undefined) return undefined;
  return {
    limit: its,
    max: (byModel as RateLimits)[its] as number,
    setting: `limits.providers.${provider}.models[${JSON.stringify(model)}].${its}`,
  };
}

/**
 * What a provider event means to the limiter: `undefined` for events that are not a call's outcome.
 * A call its own gate refused is no outcome either (`unsent`, `LocalLimits.observe`).
 */
export function outcomeOf(event: SessionMachineEvent, estimate: number): CallOutcome | undefined {
  if (event.type === 'provider.done') {
    // What the vendor's limiter counted (Moonshot: prompt + budget sent), else what was used.
    const used = event.usage?.rateLimitTokens ?? event.usage?.totalTokens;
    return { kind: 'answered', delta: used === undefined ? 0 : used - estimate };
  }
  if (event.type === 'provider.error') {
    if (event.error.code === 'RATE_LIMITED')
      return { kind: 'rateLimited', retryAfterMs: event.error.retryAfterMs };
    // Any other answer says the provider takes calls again.
    return { kind: 'answered', delta: 0 };
  }
  return undefined;
}
