/**
 * How many runs a property gets. A property run zero times passes having checked nothing, so a
 * blank, zero or unreadable `TROUPE_CONTRACT_RUNS` / `TROUPE_PROPERTY_RUNS` must not turn into 0
 * runs (it used to: `Number('')` and `Number('abc')` gave 0 and NaN, and fast-check ran nothing).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createSimulatedProvider } from '../../../src/providers/simulated.js';
import { checkProviderContract } from '../../../src/testing/contract/check.js';
import { checkRuntimeProperties } from '../../../src/testing/model.js';
import { runsFrom } from '../../../src/testing/runs.js';

const saved = { contract: process.env.TROUPE_CONTRACT_RUNS, property: process.env.TROUPE_PROPERTY_RUNS };

afterEach(() => {
  for (const [name, value] of [
    ['TROUPE_CONTRACT_RUNS', saved.contract],
    ['TROUPE_PROPERTY_RUNS', saved.property],
  ] as const) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
});

describe('runsFrom', () => {
  it('takes the option first, then the variable, then the default', () => {
    expect(runsFrom(7, 'RUNS', 20, { RUNS: '3' })).toBe(7);
    expect(runsFrom(undefined, 'RUNS', 20, { RUNS: '3' })).toBe(3);
    expect(runsFrom(undefined, 'RUNS', 20, { RUNS: ' 12 ' })).toBe(12);
    expect(runsFrom(undefined, 'RUNS', 20, {})).toBe(20);
  });

  it('reads a blank variable as unset, not as 0 runs', () => {
    expect(runsFrom(undefined, 'RUNS', 20, { RUNS: '' })).toBe(20);
    expect(runsFrom(undefined, 'RUNS', 20, { RUNS: '  ' })).toBe(20);
  });

  it.each(['0', 'abc', '-1', '2.5', '1e3', '0x10', '10 runs', '99999999999999999999'])(
    'refuses the variable %j by name',
    (raw) => {
      expect(() => runsFrom(undefined, 'RUNS', 20, { RUNS: raw })).toThrow(
        new RangeError(
          `Expected RUNS to be a whole number of runs from 1 (unset: 20), got ${JSON.stringify(raw)}`,
        ),
      );
    },
  );

  it.each([0, -3, 2.5, Number.NaN, Number.POSITIVE_INFINITY])('refuses numRuns %s', (n) => {
    expect(() => runsFrom(n, 'RUNS', 20, {})).toThrow(
      /^Expected `numRuns` to be a whole number from 1, got /,
    );
  });
});

describe('the harness entry points', () => {
  it('checkProviderContract refuses an unreadable TROUPE_CONTRACT_RUNS instead of running 0 times', async () => {
    process.env.TROUPE_CONTRACT_RUNS = 'abc';
    await expect(
      checkProviderContract(createSimulatedProvider(), { only: ['requestUntouched'] }),
    ).rejects.toThrow(/TROUPE_CONTRACT_RUNS/);
  });

  it('checkProviderContract runs the default number of times with a blank TROUPE_CONTRACT_RUNS', async () => {
    process.env.TROUPE_CONTRACT_RUNS = '';
    const report = await checkProviderContract(createSimulatedProvider({ latencyMs: { min: 0, max: 0 } }), {
      only: ['requestUntouched'],
    });
    expect(report.numRuns).toBe(20);
    expect(report.checked.map((c) => c.property)).toEqual(['requestUntouched']);
  });

  it('checkRuntimeProperties refuses TROUPE_PROPERTY_RUNS=0 before running anything', async () => {
    process.env.TROUPE_PROPERTY_RUNS = '0';
    await expect(checkRuntimeProperties({ maxCommands: 5 })).rejects.toThrow(/TROUPE_PROPERTY_RUNS/);
  });
});
