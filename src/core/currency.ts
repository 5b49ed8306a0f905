/**
 * Currency codes, checked once for every place that takes one: the runtime's budgets, the prices
 * of the providers file and the CLI's budget settings. A budget counts only the sessions priced in
 * its very code, so a code that is no currency (`UDS` for `USD`) made a budget that limited nothing,
 * or a price no budget counted. ISO 4217's codes as the engine's ICU knows them (162 in Node 20).
 */

/** An ISO 4217 currency code, upper case: `USD`, `CNY`, `EUR`. Read when configuring, never per call. */
export function isCurrencyCode(code: string): boolean {
  return Intl.supportedValuesOf('currency').includes(code);
}
