/**
 * What every instance of a cluster sees of the limits in providers' own units, from the shared
 * state (`SharedState`, on Redis): the windows and cooldown of each provider, and what holds a
 * provider's queue back.
 *
 * - **Holds.** When a leased session finds no room, the lease runner records the limit that held
 *   it under `held:<provider>` (or `held:<provider>:<model>` for a limit of its model only), for as
 *   long as BullMQ keeps the queue (or that job) waiting, plus `HOLD_GRACE_MS`. A session whose
 *   queue deadline passes meanwhile ends naming that limit, as in memory; queued summaries show it
 *   as `waitingFor`, on every instance. A session put back, delayed, because its caller runs its
 *   share at the instance that leased it (`Held.caller`) is recorded the same way under its own
 *   `heldForCaller:<session>` (`holdCaller`): a share is per caller and per instance, so no
 *   provider's or model's hold could say it, and its queue timeout names the share, as in memory.
 * - **Mirror.** With limits configured, each instance reads every provider's limiter state and hold,
 *   and the hold of every model with limits of its own, every `refreshMs` (on the injected clock)
 *   and keeps them here, so `status().limits` and `waitingFor` stay synchronous: the windows are
 *   rolled forward to the time of the call, so the figures are at most one refresh (plus one read)
 *   behind the shared state.
 */
import type { Clock } from '../core/clock.js';
import {
  budgetOf,
  type LimitName,
  type ProviderBudget,
  type ProviderLimitsConfig,
  type ProviderState,
  providerKey,
  windowLimits,
} from '../runtime/backend.js';
import type { Held, SharedState } from '../runtime/ports.js';
import type { SessionSummary, WaitingFor } from '../runtime/types.js';

/** How long a hold stays recorded after the queue may go again, in ms (a sweep's lateness). */
export const HOLD_GRACE_MS = 1000;

interface Hold<L extends WaitingFor = LimitName> {
  readonly limit: L;
  /** When the queue (or the job) may go again, epoch ms. */
  readonly until: number;
}

const holdKey = (provider: string, model?: string) =>
  model === undefined ? `held:${provider}` : `held:${provider}:${model}`;
/** A session's own hold by its caller's share (`holdCaller`): not under `held:`, where a provider may be named anything. */
const callerHoldKey = (sessionId: string) => `heldForCaller:${sessionId}`;

export class LimitsView {
  private readonly states = new Map<string, ProviderState | undefined>();
  private readonly holds = new Map<string, Hold>();
  /**
   * The models whose own limit (its windows, or its cooldown per model) held a session this
   * instance leased (`provider\0model`); dropped once over.
   */
  private readonly modelHolds = new Map<string, Hold>();
  /**
   * The holds other instances recorded for the models with limits of their own in
   * `limits.providers.<p>.models` (`provider\0model`), as last read: bounded by the configuration,
   * not by the model ids clients send. A model's cooldown (`cooldownScope: 'model'`) shows from its
   * provider's state instead (`ProviderState.m`, which only a provider's 429 adds to).
   */
  private readonly sharedModelHolds = new Map<string, Hold>();
  /** Sessions held back here, by the limit that held them (each hold counted once). */
  readonly waits: Record<LimitName, number> = {
    maxConcurrent: 0,
    requestsPerMinute: 0,
    tokensPerMinute: 0,
    tokensPerDay: 0,
    cooldown: 0,
  };
  private timer: unknown;
  private stopped = false;
  /** Whether the last refresh failed: said once, not every second, while the shared state is away. */
  private failing = false;

  /**
   * The limits configured in `limits.providers`, as one process shows them: not the `perProvider`
   * slots a cluster adds to its shared limiter (`withSharedSlots`), so a provider with only a
   * `perProvider` limit is not shown (nor read every second), and `maxConcurrent` is the one set.
   */
  private readonly rates: ReadonlyMap<string, ProviderLimitsConfig>;

  constructor(
    private readonly state: SharedState,
    /** The runtime's limits in providers' own units, as given (`resolveLimits(options.limits, providers).rates`). */
    rates: ReadonlyMap<string, ProviderLimitsConfig>,
    private readonly providers: readonly string[],
    private readonly clock: Clock,
    private readonly onError: (error: unknown) => void,
    private readonly refreshMs = 1000,
  ) {
    this.rates = rates;
  }

  /** Records that `limit` holds a provider's queue (or, `modelOnly`, the model's sessions) for `retryInMs`. */
  async hold(provider: string, model: string, limit: LimitName, retryInMs: number, modelOnly: boolean) {
    this.waits[limit]++;
    const held: Hold = { limit, until: this.clock.now() + retryInMs };
    if (!modelOnly) this.holds.set(provider, held);
    else this.holdModel(`${provider}\u0000${model}`, held);
    await this.record(holdKey(provider, modelOnly ? model : undefined), held, retryInMs);
  }

  /**
   * Records that `sessionId` goes back, delayed by `held` (`Held.caller`), because its caller runs its
   * share at this instance; resolves to `held` once recorded (a failure goes to `onError`: the
   * session goes back all the same, and a timeout meanwhile names no share).
   */
  async holdCaller(sessionId: string, held: Held): Promise<Held> {
    const hold: Hold<WaitingFor> = { limit: 'maxRunningPerCaller', until: this.clock.now() + held.retryInMs };
    await this.record(callerHoldKey(sessionId), hold, held.retryInMs).catch(this.onError);
    return held;
  }

  /** Writes `held` for every instance, for `retryInMs` and the grace after it. */
  private async record(key: string, held: Hold<WaitingFor>, retryInMs: number): Promise<void> {
    await this.state.update(
      key,
      () => held,
      () => ({ state: held, result: undefined }),
      retryInMs + HOLD_GRACE_MS,
    );
  }

  /**
   * What holds a queued session back now, read from the shared state: its caller's share first, as
   * the gate's first look in one process (`RunningShare.check`), then its model's hold, then its
   * provider's.
   */
  async heldBy(session: {
    provider: string;
    model: string;
    sessionId: string;
  }): Promise<WaitingFor | undefined> {
    const { provider, model, sessionId } = session;
    const holds = await Promise.all([
      this.state.read<Hold<WaitingFor>>(callerHoldKey(sessionId)),
      this.state.read<Hold>(holdKey(provider, model)),
      this.state.read<Hold>(holdKey(provider)),
    ]);
    return holds.find((hold) => hold !== undefined)?.limit;
  }

  /** A queued summary with the limit its provider's queue is held by, as this instance last read it. */
  decorate(summary: SessionSummary): SessionSummary {
    if (summary.state !== 'queued' || summary.waitingFor !== undefined) return summary;
    const now = this.clock.now();
    const limit =
      this.modelHeld(summary.provider, summary.model, now) ??
      this.held(this.holds.get(summary.provider), now);
    return limit === undefined ? summary : { ...summary, waitingFor: limit };
  }

  /** The limit of its own holding `model` now: recorded here, by another instance, or its cooldown. */
  private modelHeld(provider: string, model: string, now: number): LimitName | undefined {
    const key = `${provider}\u0000${model}`;
    const held = this.held(this.modelHolds.get(key), now) ?? this.held(this.sharedModelHolds.get(key), now);
    if (held !== undefined) return held;
    const cooling = this.states.get(provider)?.m?.[model];
    return cooling !== undefined && cooling > now ? 'cooldown' : undefined;
  }

  private held(hold: Hold | undefined, now: number): LimitName | undefined {
    return hold !== undefined && hold.until > now ? hold.limit : undefined;
  }

  /** Records a model's hold here, dropping those over (a client may name any model id). */
  private holdModel(key: string, held: Hold): void {
    const now = this.clock.now();
    for (const [other, { until }] of this.modelHolds) if (until <= now) this.modelHolds.delete(other);
    this.modelHolds.set(key, held);
  }

  /** Each provider with limits: what it has left now and its cooldown, from the last refresh. */
  budgets(): Record<string, ProviderBudget> | undefined {
    if (this.rates.size === 0) return undefined;
    const now = this.clock.now();
    const out: Record<string, ProviderBudget> = {};
    for (const [name, config] of this.rates)
      out[name] = budgetOf(this.states.get(name), windowLimits(config), now);
    return out;
  }

  /** Keeps the mirror fresh, every `refreshMs`, while any provider has limits. */
  start(): void {
    if (this.rates.size === 0 || this.stopped) return;
    // A read in flight at shutdown ends before the connection closes (the cluster runtime drains its calls).
    this.refresh()
      .then(
        () => {
          this.failing = false;
        },
        (error: unknown) => {
          if (!this.failing) this.onError(unread(error));
          this.failing = true;
        },
      )
      .finally(() => {
        if (!this.stopped) this.timer = this.clock.setTimeout(() => this.start(), this.refreshMs);
      });
  }

  stop(): void {
    this.stopped = true;
    this.clock.clearTimeout(this.timer);
  }

  /** Reads every configured provider's limiter state, every provider's hold and every configured model's. */
  async refresh(): Promise<void> {
    const limited = [...this.rates.keys()];
    const models = [...this.rates].flatMap(([name, config]) =>
      Object.keys(config.models ?? {}).map((model) => [name, model] as const),
    );
    const [states, holds, byModel] = await Promise.all([
      Promise.all(limited.map((name) => this.state.read<ProviderState>(providerKey(name)))),
      Promise.all(this.providers.map((name) => this.state.read<Hold>(holdKey(name)))),
      Promise.all(models.map(([name, model]) => this.state.read<Hold>(holdKey(name, model)))),
    ]);
    for (const [i, name] of limited.entries()) this.states.set(name, states[i]);
    for (const [i, name] of this.providers.entries()) keep(this.holds, name, holds[i]);
    for (const [i, [name, model]] of models.entries())
      keep(this.sharedModelHolds, `${name}\u0000${model}`, byModel[i]);
  }
}

/** Keeps `held` under `key`, or forgets the key when nothing holds. */
function keep(holds: Map<string, Hold>, key: string, held: Hold | undefined): void {
  if (held === undefined) holds.delete(key);
  else holds.set(key, held);
}

/** This instance's waits: its retries held by the limiter, and its leases held back. */
export function sumWaits(
  local: Readonly<Record<string, number>> | undefined,
  leased: Readonly<Record<LimitName, number>>,
): Record<string, number> {
  const out: Record<string, number> = { ...leased };
  for (const [limit, n] of Object.entries(local ?? {})) out[limit] = (out[limit] ?? 0) + n;
  return out;
}

/** A refresh that failed, said with what it was: the driver's text alone ("Stream isn't writeable") names nothing. */
function unread(error: unknown): Error {
  const why = error instanceof Error ? error.message : String(error);
  return new Error(
    `Expected the shared state (Redis) to answer the limits view's read of the providers' limits and holds, got ${why}; the view keeps its last figures (status, the sessions tool's limits_left), and this is said once until a read succeeds`,
    { cause: error },
  );
}
