/**
 * What stands between a session and its provider's money and health, as `createRuntime` options:
 * prices (cost in metadata), circuit breakers and budgets (docs/routing.md).
 */
import type { PriceTable } from '../providers/prices.js';
import type { BreakerOptions } from './breakers.js';
import type { BudgetOptions } from './budgets.js';

export interface GateOptions {
  /**
   * Prices by provider name and model id, per million tokens (`KIMI_PRICES`, `GLM_ZAI_PRICES`, or
   * your own): a session whose provider reported usage gets `cost` in its metadata. A model with
   * no price gets no cost. @default none
   */
  readonly prices?: PriceTable;
  /**
   * A circuit breaker per provider (`machines/breaker.ts`): after `failures` 5xx, network errors
   * or timeouts within `windowMs`, the provider's calls fail fast with `PROVIDER_UNAVAILABLE` for
   * `openMs`, then one probe call decides. `true` uses the defaults (5 in 30 s, open 30 s).
   * @default off
   */
  readonly breakers?: BreakerOptions | boolean;
  /**
   * Daily budgets in money, per caller (`metadata.owner`: the MCP front sets it to the MCP session
   * or the bearer token's name) and for everyone, per currency (`{ perCaller: { USD: 2, CNY: 15 } }`):
   * calls past them fail with `BUDGET_EXCEEDED`. A call counts only against the budgets of its
   * price's currency; one priced in a currency with no budget is not limited. Needs `prices`.
   * @default none
   */
  readonly budgets?: BudgetOptions;
}
