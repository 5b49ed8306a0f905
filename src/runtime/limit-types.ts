/** The public types of limits in providers' own units (docs/runtime.md, "Limits"). */

/** One provider's (or one model's) limits in its own units. */
export interface RateLimitSettings {
  readonly maxConcurrent?: number;
  readonly requestsPerMinute?: number;
  readonly tokensPerMinute?: number;
  readonly tokensPerDay?: number;
}

export interface ProviderLimits extends RateLimitSettings {
  readonly models?: Readonly<Record<string, RateLimitSettings>>;
  /**
   * What a `RATE_LIMITED` answer pauses: `'provider'`, every model of it (Moonshot counts its
   * limits per account, across models), or `'model'`, only the model it came for (Z.ai and Zhipu
   * limit each model on its own). Defaults to the adapter's `cooldownScope`, else `'provider'`.
   */
  readonly cooldownScope?: 'provider' | 'model';
}

/**
 * What a waiting session waits for: a limit in its provider's own units, its cooldown after a 429,
 * or its caller's share of the sessions running at once (`limits.maxRunningPerCaller`).
 */
export type WaitingFor =
  | 'maxConcurrent'
  | 'requestsPerMinute'
  | 'tokensPerMinute'
  | 'tokensPerDay'
  | 'cooldown'
  | 'maxRunningPerCaller';

/** The in-memory limiter's counts (`LocalLimits`). */
export interface LimitCounters {
  /** Sessions held back, by the limit that held them (counted once per wait). */
  readonly waits: Record<WaitingFor, number>;
  /** `RATE_LIMITED` answers received, and cooldowns started. */
  rateLimited: number;
  cooldowns: number;
}

/** The scheduler's per-provider slots, as a hop moves between them (`Scheduler`). */
export interface Lanes {
  leave(provider: string): void;
  hasRoom(provider: string): boolean;
  enter(provider: string): void;
}
