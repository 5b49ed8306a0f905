/**
 * The limiter of a runtime: the policy of `limiter.ts` over a `SharedState`. The same sequence
 * runs synchronously on `MemorySharedState` (the in-memory admission loop, `*Now` methods) and
 * asynchronously on any `SharedState` (Redis, after a Worker leased a job).
 */
import { initialProviderSnapshot, type ProviderSnapshot, providerGate } from '../../machines/provider.js';
import { type Clock, retriedWhileAway } from '../core/clock.js';
import { emptyWindow } from '../core/rate-window.js';
import {
  type Acquired,
  acquireCooldown,
  acquireModel,
  acquireProvider,
  budgetOf,
  type CallOutcome,
  ENDED,
  initialProviderState,
  LIMITER_TTL_MS,
  modelCooldownKey,
  modelKey,
  noteModelCooldown,
  type ProviderBudget,
  type ProviderLimitsConfig,
  type ProviderState,
  providerKey,
  type RateLimits,
  refundCooldown,
  refundModel,
  refundProvider,
  type Start,
  settleCooldown,
  settleModel,
  settleProvider,
} from './limiter.js';
import type { MemorySharedState } from './memory-state.js';
import type { SharedState } from './ports.js';
import { rejectingState } from './rejecting-state.js';

type Maybe<T> = T | Promise<T>;
/** A cooldown holding a start: until when (see `coolingAt`). */
export type Cooling = { readonly limit: 'cooldown'; readonly at: number | null };
const then = <T, U>(value: Maybe<T>, fn: (value: T) => Maybe<U>): Maybe<U> =>
  value instanceof Promise ? value.then(fn) : fn(value);

/**
 * A provider's own limits, without its models'. Its `maxConcurrent` counts calls in flight here
 * too: the scheduler's (or the queue's) slot bounds the sessions admitted under the provider, this
 * one every call to it, fallback hops from other providers included (docs/runtime.md, "Limits").
 */
export function windowLimits(config: ProviderLimitsConfig | undefined): RateLimits {
  if (config === undefined) return {};
  const { models: _perModel, cooldownScope: _scope, ...rest } = config;
  return rest;
}

export class Limiter {
  /** The state as the `*Now` methods use it (a `MemorySharedState`), and as the others do. */
  private readonly memory: Store;
  private readonly shared: Store;

  constructor(
    private readonly config: ReadonlyMap<string, ProviderLimitsConfig>,
    private readonly state: SharedState,
  ) {
    const memory = state as MemorySharedState;
    this.memory = { update: (k, i, c, t) => memory.updateNow(k, i, c, t), read: (k) => memory.readNow(k) };
    // An adapter's throw fails as its rejection would (tried again, then `onError`; docs/runtime.md).
    const shared = rejectingState(state);
    this.shared = { update: (k, i, c, t) => shared.update(k, i, c, t), read: (k) => shared.read(k) };
  }

  /** The limits of a model of a provider, if any. */
  modelLimits(provider: string, model: string): RateLimits | undefined {
    return this.config.get(provider)?.models?.[model];
  }

  providerLimits(provider: string): RateLimits {
    return windowLimits(this.config.get(provider));
  }

  /** Whether a `RATE_LIMITED` answer pauses only its model (`cooldownScope: 'model'`), not the provider. */
  coolsPerModel(provider: string): boolean {
    return this.config.get(provider)?.cooldownScope === 'model';
  }

  /** Charges a start to its provider and its model, or to neither. */
  tryStart(provider: string, start: Start): Promise<Acquired> {
    return Promise.resolve(this.start(provider, start, this.shared));
  }

  /**
   * `tryStart` for a start asked while other calls run on this instance. A `RATE_LIMITED` answer
   * this instance received meanwhile may not be in the shared state yet: its settle is on its way,
   * and the start's compare-and-set may have come just before it, so the start would begin in a
   * cooldown this instance already knew of. `answers` counts the `RATE_LIMITED` answers this
   * instance received: when it moved during the ask, the start is given back and asked again. The
   * updates of a key made by one instance apply in the order they were made (`SharedState`), so
   * that ask comes after the answer's settle and finds its cooldown.
   */
  async tryStartFresh(provider: string, start: Start, answers: () => number): Promise<Acquired> {
    for (;;) {
      const before = answers();
      const got = await this.tryStart(provider, start);
      if (!got.ok || answers() === before) return got;
      await this.giveBack(provider, start, got.probe);
    }
  }

  /**
   * Takes back a start's charge that no call used (its window's request and tokens, its slot, its
   * probe): a start given back to be asked again (`tryStartFresh`), or one its session no longer
   * wanted by the time it was answered or let go (`SharedAsks`).
   */
  async giveBack(provider: string, start: Start, probe: boolean): Promise<void> {
    await this.refund(provider, start, probe, this.shared);
  }

  /** `giveBack` in memory, synchronously: a call its own gate refused (`LocalLimits.observe`). */
  giveBackNow(provider: string, start: Start, probe: boolean): void {
    this.refund(provider, start, probe, this.memory);
  }

  private refund(provider: string, start: Start, probe: boolean, store: Store): Maybe<void> {
    const exec = store.update;
    const key = modelCooldownKey(provider, start.model);
    // A model that never cooled down has no state to take a probe back from, and gets none (`start`).
    const cooled = this.coolsPerModel(provider)
      ? then(store.read<ProviderSnapshot>(key), (snapshot) =>
          snapshot === undefined
            ? undefined
            : exec(key, initialProviderSnapshot, refundCooldown(start, probe), LIMITER_TTL_MS),
        )
      : undefined;
    // Per model, the probe was the model's: the provider's machine, always open then, ignores its end.
    const own = then(cooled, () =>
      exec(providerKey(provider), initialProviderState, refundProvider(start, probe), LIMITER_TTL_MS),
    );
    if (this.modelLimits(provider, start.model) === undefined) return own;
    return then(own, () =>
      exec(modelKey(provider, start.model), emptyWindow, refundModel(start), LIMITER_TTL_MS),
    );
  }

  /**
   * `giveBack`, or, when the shared state refuses it, the start settled as a call's end while the
   * state is away (`settleWhileAway`, until `signal` aborts): its request and tokens then stay
   * charged, but its slot and probe go all the same. Rejects only when neither could be written.
   */
  giveBackWhileAway(clock: Clock, provider: string, start: Start, probe: boolean, signal?: AbortSignal) {
    return this.giveBack(provider, start, probe).catch(() =>
      this.settleWhileAway(clock, provider, start, clock.now(), ENDED, signal),
    );
  }

  tryStartNow(provider: string, start: Start): Acquired {
    return this.start(provider, start, this.memory) as Acquired;
  }

  /**
   * The cooldown holding a start of `model` on `provider` at `now`, read without charging anything:
   * when it may let one go (its end, or its probe's lapse; `null` for a probe with no lapse), or
   * `undefined` when none holds it. A hop whose target has no slot free asks it (`rerouteHeld`).
   */
  coolingAt(provider: string, model: string, now: number): Promise<Cooling | undefined> {
    return Promise.resolve(this.cooling(provider, model, now, this.shared));
  }

  coolingNow(provider: string, model: string, now: number): Cooling | undefined {
    return this.cooling(provider, model, now, this.memory) as Cooling | undefined;
  }

  private cooling(provider: string, model: string, now: number, store: Store): Maybe<Cooling | undefined> {
    // Per model, the provider's own machine stays open: only the model's cooldown holds.
    const snapshot = this.coolsPerModel(provider)
      ? store.read<ProviderSnapshot>(modelCooldownKey(provider, model))
      : then(store.read<ProviderState>(providerKey(provider)), (state) => state?.c);
    return then(snapshot, (found) => {
      if (found === undefined) return undefined;
      const gate = providerGate(found, now);
      return gate.kind === 'wait' ? { limit: 'cooldown', at: gate.at } : undefined;
    });
  }

  /**
   * A call's outcome: reconciles its tokens, drives the cooldown machine, frees its slots.
   * Resolves to whether this outcome began a cooldown of the provider.
   */
  settle(provider: string, start: Start, now: number, outcome: CallOutcome): Promise<boolean> {
    return Promise.resolve(this.finish(provider, start, now, outcome, this.shared));
  }

  /**
   * `settle`, tried again every 500 ms for about 30 s while the shared state fails (Redis away), as
   * a session's end is: one dropped kept the call's slot busy on every instance until its run
   * deadline. A slot is freed by session id, so a second try frees nothing more; a token count sent
   * twice (a write that landed, its answer lost) only holds the window back more.
   */
  settleWhileAway(
    clock: Clock,
    provider: string,
    start: Start,
    now: number,
    outcome: CallOutcome,
    signal?: AbortSignal,
  ) {
    return retriedWhileAway(clock, () => this.settle(provider, start, now, outcome), 61, 500, signal).catch(
      (error: unknown) => {
        // Said with what was lost: the log line alone ("Stream isn't writeable") named no operation.
        const why = error instanceof Error ? error.message : String(error);
        throw new Error(
          `Expected the shared state to take session ${start.sessionId}'s end at ${provider} (its limit slot and window), got ${why} for 30 s; the slot frees at its run deadline`,
          { cause: error },
        );
      },
    );
  }

  settleNow(provider: string, start: Start, now: number, outcome: CallOutcome): boolean {
    return this.finish(provider, start, now, outcome, this.memory) as boolean;
  }

  /** What each provider has left at `now`. */
  async budgets(providers: readonly string[], now: number): Promise<Record<string, ProviderBudget>> {
    const out: Record<string, ProviderBudget> = {};
    for (const name of providers) {
      out[name] = budgetOf(
        await this.state.read<ProviderState>(providerKey(name)),
        this.providerLimits(name),
        now,
      );
    }
    return out;
  }

  budgetsNow(providers: readonly string[], now: number): Record<string, ProviderBudget> {
    const memory = this.state as MemorySharedState;
    const out: Record<string, ProviderBudget> = {};
    for (const name of providers) {
      out[name] = budgetOf(memory.readNow<ProviderState>(providerKey(name)), this.providerLimits(name), now);
    }
    return out;
  }

  private start(provider: string, start: Start, store: Store): Maybe<Acquired> {
    const exec = store.update;
    if (!this.coolsPerModel(provider)) return this.charge(provider, start, exec);
    // The model's own cooldown first: a start it holds back is charged nothing. Read first: a model
    // that never cooled down has no state, and a start there writes none (a client may name any
    // model id; only the vendor's 429 makes one).
    const key = modelCooldownKey(provider, start.model);
    const read = then(store.read<ProviderSnapshot>(key), (snapshot) =>
      lets(snapshot, start.now)
        ? ({ ok: true, probe: false } as const)
        : exec(key, initialProviderSnapshot, acquireCooldown(start), LIMITER_TTL_MS),
    );
    return then(read, (gate) => {
      if (!gate.ok) return gate;
      return then(this.charge(provider, start, exec), (got): Maybe<Acquired> => {
        if (got.ok) return { ok: true, probe: gate.probe };
        // A limit refused it after the cooldown let it through as its probe: the probe goes back.
        // Stryker disable next-line ConditionalExpression: a shortcut; the machine ignores the end of a session that is not its probe.
        if (!gate.probe) return got;
        return then(
          exec(key, initialProviderSnapshot, refundCooldown(start, true), LIMITER_TTL_MS),
          () => got,
        );
      });
    });
  }

  /** Charges a start to its provider's gate and windows, then its model's, or to neither. */
  private charge(provider: string, start: Start, exec: Exec): Maybe<Acquired> {
    const limits = this.providerLimits(provider);
    const acquired = exec(
      providerKey(provider),
      initialProviderState,
      acquireProvider(limits, start),
      LIMITER_TTL_MS,
    );
    const model = this.modelLimits(provider, start.model);
    if (model === undefined) return acquired;
    return then(acquired, (got) => {
      if (!got.ok) return got;
      const room = exec(
        modelKey(provider, start.model),
        emptyWindow,
        acquireModel(model, start),
        LIMITER_TTL_MS,
      );
      return then(room, (fits): Maybe<Acquired> => {
        if (fits.ok) return got;
        const refunded = exec(
          providerKey(provider),
          initialProviderState,
          refundProvider(start, got.probe),
          LIMITER_TTL_MS,
        );
        return then(refunded, (): Acquired => ({ ...fits, model: true }));
      });
    });
  }

  /** A call's outcome on its model's own cooldown; a cooldown it began is noted on the provider's state, for status. */
  private coolModel(
    provider: string,
    start: Start,
    now: number,
    outcome: CallOutcome,
    store: Store,
  ): Maybe<boolean> {
    const exec = store.update;
    const key = modelCooldownKey(provider, start.model);
    const settle = () =>
      exec(key, initialProviderSnapshot, settleCooldown(start.sessionId, now, outcome), LIMITER_TTL_MS);
    // Only a 429 makes a model's state; any other outcome changes one that is not open (or due to
    // open: its probe accepted), if there is one.
    const settled =
      outcome.kind === 'rateLimited'
        ? settle()
        : then(store.read<ProviderSnapshot>(key), (snapshot) =>
            lets(snapshot, now) ? NOTHING_NOTED : settle(),
          );
    return then(settled, ({ began, until }) => {
      if (until === null) return began;
      const noted = exec(
        providerKey(provider),
        initialProviderState,
        noteModelCooldown(start.model, now, until),
        LIMITER_TTL_MS,
      );
      return then(noted, () => began);
    });
  }

  private finish(
    provider: string,
    start: Start,
    now: number,
    outcome: CallOutcome,
    store: Store,
  ): Maybe<boolean> {
    const exec = store.update;
    const perModel = this.coolsPerModel(provider);
    const settled = settleProvider(start.sessionId, start.now, now, outcome, !perModel);
    const cooled = exec(
      providerKey(provider),
      initialProviderState,
      (state: ProviderState) => {
        const next = settled(state).state;
        return { state: next, result: next.c.context.cooldowns > state.c.context.cooldowns };
      },
      LIMITER_TTL_MS,
    );
    const modelCooled = perModel
      ? then(cooled, () => this.coolModel(provider, start, now, outcome, store))
      : cooled;
    if (this.modelLimits(provider, start.model) === undefined) return modelCooled;
    return then(modelCooled, (began) =>
      then(
        exec(
          modelKey(provider, start.model),
          emptyWindow,
          settleModel(start.sessionId, start.now, now, outcome),
          LIMITER_TTL_MS,
        ),
        () => began,
      ),
    );
  }
}

type Exec = <S, R>(
  key: string,
  init: () => S,
  change: (state: S) => { readonly state: S; readonly result: R },
  ttlMs?: number,
) => Maybe<R>;

/** The shared state as the limiter uses it: synchronous in memory, a promise on any port. */
interface Store {
  readonly update: Exec;
  readonly read: <S>(key: string) => Maybe<S | undefined>;
}

/** Whether a model's own cooldown (none: it never cooled down) lets every start go at `now`. */
const lets = (snapshot: ProviderSnapshot | undefined, now: number) =>
  snapshot === undefined || providerGate(snapshot, now).kind === 'go';

/** A settle that changed no model's cooldown. */
const NOTHING_NOTED = { began: false, until: null } as const;
