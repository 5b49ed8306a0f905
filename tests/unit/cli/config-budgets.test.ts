/**
 * Budgets in the operator's configuration, per currency: `--budget-per-caller 5USD,20CNY`, the
 * same text in the environment, or a number / string / `{ "USD": 5, "CNY": 20 }` in the providers
 * file's `runtime` section; what the runtime gets; and clear refusals.
 */
import { describe, expect, it } from 'vitest';
import { formatValue, parseMoney, resolveConfig, runtimeOptionsFrom } from '../../../src/cli/config.js';

describe('budget amounts per currency', () => {
  it('reads amounts with or without a currency code, several at once; `none` is no budget', () => {
    expect(parseMoney('--budget-global', '5')).toEqual({ USD: 5 });
    expect(parseMoney('--budget-global', '20CNY')).toEqual({ CNY: 20 });
    expect(parseMoney('--budget-global', '2.5 USD, 20 CNY')).toEqual({ USD: 2.5, CNY: 20 });
    expect(parseMoney('--budget-global', 'none')).toEqual({});
    expect(parseMoney('--budget-global', ' None ')).toEqual({});
  });

  it('reads zero as nothing may be spent, as the library does, not as no budget', () => {
    // `0CNY` written to forbid yuan must not lift the limit in yuan.
    expect(parseMoney('--budget-per-caller', '0')).toEqual({ USD: 0 });
    const config = resolveConfig({ flags: { 'budget-per-caller': '5USD,0CNY' } });
    expect(runtimeOptionsFrom(config).budgets).toEqual({ perCaller: { USD: 5, CNY: 0 } });
    expect(formatValue(config.values.budgetPerCaller)).toBe('5USD,0CNY');
    const file = { path: '/p.json', values: { budgetGlobal: 0, budgetPerCaller: { USD: 0 } } };
    const fromFile = resolveConfig({ file });
    expect(fromFile.values.budgetGlobal).toEqual({ USD: 0 });
    expect(fromFile.values.budgetPerCaller).toEqual({ USD: 0 });
    expect(
      resolveConfig({ file: { path: '/p.json', values: { budgetGlobal: 'none' } } }).values.budgetGlobal,
    ).toEqual({});
  });

  it('refuses what is not an amount of money, and a currency given twice', () => {
    const expected =
      'Expected `--budget-global` to be amounts of money such as `5` (USD), `20CNY` or `5USD,20CNY`, each non-negative (`0` lets nothing be spent), or `none`, got';
    expect(() => parseMoney('--budget-global', '20 yuan')).toThrow(`${expected} \`20 yuan\``);
    expect(() => parseMoney('--budget-global', '-1')).toThrow(expected);
    expect(() => parseMoney('--budget-global', '1e3')).toThrow(expected);
    expect(() => parseMoney('--budget-global', '5USD,6USD')).toThrow(`${expected} \`5USD,6USD\` (USD twice)`);
  });

  it('refuses a code that is no ISO 4217 currency, which would limit nothing; takes either case', () => {
    // A budget meets a price only by an equal code: `5UDS` was shown and limited nothing.
    expect(() => parseMoney('--budget-per-caller', '5UDS')).toThrow(
      'Expected `--budget-per-caller` to be amounts of money such as `5` (USD), `20CNY` or `5USD,20CNY`, each non-negative (`0` lets nothing be spent), or `none`, got `5UDS` (UDS is no ISO 4217 currency code)',
    );
    expect(() => parseMoney('--budget-global', '5USD,1XYZ')).toThrow('(XYZ is no ISO 4217 currency code)');
    expect(() => resolveConfig({ file: { path: '/p.json', values: { budgetGlobal: { UDS: 5 } } } })).toThrow(
      '{ "USD": 5, "CNY": 20 }), got `{"UDS":5}`',
    );
    expect(parseMoney('--budget-global', '2usd, 20 cny')).toEqual({ USD: 2, CNY: 20 });
    expect(parseMoney('--budget-global', '3EUR')).toEqual({ EUR: 3 });
  });

  it('takes flag over environment over file, and hands the runtime amounts by currency', () => {
    const file = { path: '/p.json', values: { budgetPerCaller: { USD: 1, CNY: 7 }, budgetGlobal: 50 } };
    const fromFile = resolveConfig({ file });
    expect(fromFile.values.budgetPerCaller).toEqual({ USD: 1, CNY: 7 });
    expect(fromFile.values.budgetGlobal).toEqual({ USD: 50 });
    expect(runtimeOptionsFrom(fromFile).budgets).toEqual({
      perCaller: { USD: 1, CNY: 7 },
      global: { USD: 50 },
    });
    const fromEnv = resolveConfig({ file, env: { TROUPE_BUDGET_GLOBAL: '300CNY' } });
    expect(fromEnv.values.budgetGlobal).toEqual({ CNY: 300 });
    expect(fromEnv.sources.budgetGlobal).toEqual({ kind: 'env', name: 'TROUPE_BUDGET_GLOBAL' });
    const fromFlag = resolveConfig({
      file,
      env: { TROUPE_BUDGET_GLOBAL: '300CNY' },
      flags: { 'budget-global': '2USD,10CNY' },
    });
    expect(fromFlag.values.budgetGlobal).toEqual({ USD: 2, CNY: 10 });
    expect(formatValue(fromFlag.values.budgetGlobal)).toBe('2USD,10CNY');
    // A string in the file reads like the flag.
    expect(
      resolveConfig({ file: { path: '/p.json', values: { budgetGlobal: '9CNY' } } }).values.budgetGlobal,
    ).toEqual({
      CNY: 9,
    });
  });

  it('gives the runtime no budgets by default, and says `none`', () => {
    const config = resolveConfig({});
    expect(config.values.budgetPerCaller).toEqual({});
    expect(runtimeOptionsFrom(config).budgets).toBeUndefined();
    expect(formatValue(config.values.budgetPerCaller)).toBe('none');
  });

  it('refuses a bad amount in the file with the file, the field and what came', () => {
    expect(() => resolveConfig({ file: { path: '/p.json', values: { budgetGlobal: { usd: 5 } } } })).toThrow(
      '/p.json: Expected `runtime.budgetGlobal` to be amounts of money such as `5` (USD), `20CNY` or `5USD,20CNY`, each non-negative (`0` lets nothing be spent), or `none` (or { "USD": 5, "CNY": 20 }), got `{"usd":5}`',
    );
    expect(() => resolveConfig({ file: { path: '/p.json', values: { budgetGlobal: -2 } } })).toThrow(
      '/p.json: Expected `runtime.budgetGlobal` to be amounts of money',
    );
    expect(() => resolveConfig({ file: { path: '/p.json', values: { budgetGlobal: '5 euros' } } })).toThrow(
      '/p.json: Expected `runtime.budgetGlobal` to be amounts of money such as `5` (USD), `20CNY` or `5USD,20CNY`, each non-negative (`0` lets nothing be spent), or `none`, got `5 euros`',
    );
  });
});
