import { describe, expect, it } from 'vitest';
import { isCurrencyCode } from '../../../src/core/currency.js';

describe('isCurrencyCode', () => {
  it('takes ISO 4217 codes in capitals and nothing else', () => {
    for (const code of ['USD', 'CNY', 'EUR', 'JPY', 'HKD']) expect(isCurrencyCode(code)).toBe(true);
    // Three capitals that are no currency (typos of USD among them), other cases and lengths.
    for (const code of ['UDS', 'XYZ', 'usd', 'Usd', 'US', 'USDX', '', ' USD'])
      expect(isCurrencyCode(code)).toBe(false);
  });
});
