/**
 * Plain counters behind `metrics()`: incremented on the hot path, copied only when asked for.
 */
import { round } from '../providers/prices.js';
import type { FinalState, SessionResult, TaskResult } from './types.js';

/** What `runtime.metrics()` returns. */
export interface RuntimeMetrics {
  readonly submitted: number;
  readonly rejected: Readonly<Record<string, number>>;
  readonly ended: Readonly<Record<FinalState, number>>;
  readonly retries: number;
  readonly providerErrors: Readonly<Record<string, number>>;
  readonly queued: number;
  readonly running: number;
  readonly tokens: { readonly prompt: number; readonly completion: number };
  /** What ended sessions cost, by currency (only sessions with a price and reported usage). */
  readonly cost: Readonly<Record<string, number>>;
  /**
   * Limits in the providers' units, at this instance: sessions held back by the limit that held
   * them (counted once per wait), `RATE_LIMITED` answers received, cooldowns started.
   */
  readonly limits?: {
    readonly waits: Readonly<Record<string, number>>;
    readonly rateLimited: number;
    readonly cooldowns: number;
  };
}

export class RuntimeCounters {
  submitted = 0;
  retries = 0;
  private readonly rejected: Record<string, number> = {};
  private readonly endedBy: Record<FinalState, number> = { done: 0, failed: 0, timedOut: 0, cancelled: 0 };
  private readonly providerErrors: Record<string, number> = {};
  private promptTokens = 0;
  private completionTokens = 0;
  private readonly cost: Record<string, number> = {};

  reject(code: string): void {
    this.rejected[code] = (this.rejected[code] ?? 0) + 1;
  }

  providerError(code: string): void {
    this.providerErrors[code] = (this.providerErrors[code] ?? 0) + 1;
  }

  ended(state: FinalState, result: SessionResult | TaskResult<unknown>): void {
    this.endedBy[state]++;
    const usage = result.metadata.usage;
    if (usage !== undefined) {
      this.promptTokens += usage.promptTokens;
      this.completionTokens += usage.completionTokens;
    }
    const cost = result.metadata.cost;
    if (cost !== undefined) this.cost[cost.currency] = round((this.cost[cost.currency] ?? 0) + cost.amount);
    if (!result.ok && result.error.family === 'provider') this.providerError(result.error.code);
  }

  snapshot(queued: number, running: number): RuntimeMetrics {
    return {
      submitted: this.submitted,
      rejected: { ...this.rejected },
      ended: { ...this.endedBy },
      retries: this.retries,
      providerErrors: { ...this.providerErrors },
      queued,
      running,
      tokens: { prompt: this.promptTokens, completion: this.completionTokens },
      cost: { ...this.cost },
    };
  }
}
