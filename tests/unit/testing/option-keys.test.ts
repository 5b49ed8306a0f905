/**
 * The harness refuses an option it does not take, naming it. Before, from JavaScript,
 * `checkRuntimeProperties({ provider: [adapter] })` (singular) ran every run on troupe's scripted
 * providers and passed without calling the adapter once; `capabilities: { tool: true }` left tool
 * calls unchecked; a misspelt `apikey` left the key unlooked-for.
 */
import { describe, expect, it } from 'vitest';
import type { ChatProvider } from '../../../src/providers/port.js';
import {
  type ContractOptions,
  checkProviderContract,
  checkRuntimeProperties,
} from '../../../src/testing/index.js';
import { runtimeProperty } from '../../../src/testing/properties.js';

let calls = 0;
const adapter: ChatProvider = {
  name: 'mine',
  async complete() {
    calls += 1;
    return { content: 'ok', finishReason: 'stop' };
  },
  async *stream() {
    calls += 1;
    yield { type: 'finish', reason: 'stop' };
  },
};

const refused = (name: string, where: string) =>
  expect.objectContaining({
    code: 'INVALID_REQUEST',
    message: expect.stringContaining(`in \`${where}\`, got \`${name}\``),
  });

describe('checkRuntimeProperties', () => {
  it('refuses `provider` instead of passing on scripted providers without calling yours', async () => {
    await expect(
      checkRuntimeProperties({ provider: [adapter], numRuns: 1, maxCommands: 5 } as never),
    ).rejects.toEqual(refused('provider', 'checkRuntimeProperties options'));
    expect(calls).toBe(0);
  });

  it('refuses a misspelt option of the contract it runs first', async () => {
    await expect(
      checkRuntimeProperties({ providers: [adapter], contract: { apikey: 'sk-x' }, numRuns: 1 } as never),
    ).rejects.toEqual(refused('apikey', 'checkRuntimeProperties options.contract'));
    await expect(
      checkRuntimeProperties({
        providers: [adapter],
        contract: { capabilities: { tool: true } },
        numRuns: 1,
      } as never),
    ).rejects.toEqual(refused('tool', 'checkRuntimeProperties options.contract.capabilities'));
  });

  it('runtimeProperty refuses one too', () => {
    expect(() => runtimeProperty({ maxComands: 5 } as never)).toThrow(
      refused('maxComands', 'runtimeProperty options'),
    );
  });

  it('refuses a `releaseWithinMs`, `maxCommands` or `maxDeadlineMs` it would check nothing by, naming it', async () => {
    // Until 2026-12-07 a `releaseWithinMs` of NaN, Infinity or '100' let a provider that ignores its
    // signal pass `callsReleased`, `maxCommands: 0` ran no command and passed, and a NaN or a
    // `maxDeadlineMs` under 50 failed as fast-check's "fc.integer maximum value should be ...".
    const where = 'checkRuntimeProperties options';
    const shown = (value: unknown) => (typeof value === 'string' ? JSON.stringify(value) : String(value));
    for (const releaseWithinMs of [0, -1, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 31, '100']) {
      const options = { providers: [adapter], contract: false, numRuns: 1, releaseWithinMs } as never;
      await expect(checkRuntimeProperties(options)).rejects.toThrow(
        new RangeError(
          `Expected \`releaseWithinMs\` in \`${where}\` to be a number of ms above 0, at most 2147483647, got ${shown(releaseWithinMs)}`,
        ),
      );
    }
    for (const maxCommands of [0, -1, 2.5, Number.NaN, '5']) {
      await expect(checkRuntimeProperties({ numRuns: 1, maxCommands } as never)).rejects.toThrow(
        new RangeError(
          `Expected \`maxCommands\` in \`${where}\` to be a whole number from 1, at most ${Number.MAX_SAFE_INTEGER}, got ${shown(maxCommands)}`,
        ),
      );
    }
    for (const maxDeadlineMs of [49, 0, 2.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 31, '5000']) {
      await expect(checkRuntimeProperties({ numRuns: 1, maxDeadlineMs } as never)).rejects.toThrow(
        new RangeError(
          `Expected \`maxDeadlineMs\` in \`${where}\` to be a whole number from 50, at most 2147483647, got ${shown(maxDeadlineMs)}`,
        ),
      );
    }
    expect(() => runtimeProperty({ maxCommands: 0 })).toThrow(
      /^Expected `maxCommands` in `runtimeProperty options`/,
    );
    expect(calls).toBe(0);
  });

  it('refuses an `engine`, `model`, `onEnd`, `backend`, `providers` or `limits` key every run would fail on, before any run', async () => {
    // Until 2026-12-07 each failed the first run as a broken property ("troupe property failed after
    // 1 runs; replay with seed ..."), its cause two lines down; `onEnd: 5` shrank for 55 s first.
    const cases: [Record<string, unknown>, string][] = [
      [
        { engine: 'xstat' },
        'Expected `engine` in `checkRuntimeProperties options` to be "compiled" or "xstate", got "xstat"',
      ],
      [
        { model: 5 },
        'Expected `model` in `checkRuntimeProperties options` to be a string of 1 to 256 characters, got 5',
      ],
      [
        { model: '' },
        'Expected `model` in `checkRuntimeProperties options` to be a string of 1 to 256 characters, got ""',
      ],
      [{ onEnd: 5 }, 'Expected `onEnd` in `checkRuntimeProperties options` to be a function, got 5'],
      [
        { backend: {} },
        'Expected `backend` in `checkRuntimeProperties options` to be a function, got [object Object]',
      ],
      [
        { providers: adapter },
        "Expected `providers` in `checkRuntimeProperties options` to be a non-empty array (leave it out for troupe's scripted providers), got [object Object]",
      ],
      [
        { providers: [] },
        "Expected `providers` in `checkRuntimeProperties options` to be a non-empty array (leave it out for troupe's scripted providers), got []",
      ],
    ];
    for (const [option, message] of cases) {
      const options = { contract: false, numRuns: 1, maxCommands: 3, ...option } as never;
      await expect(checkRuntimeProperties(options)).rejects.toEqual(
        expect.objectContaining({ code: 'INVALID_REQUEST', message }),
      );
    }
    await expect(
      checkRuntimeProperties({ numRuns: 1, limits: { maxConcurent: 2, perProvider: {} } } as never),
    ).rejects.toEqual(refused('maxConcurent', 'checkRuntimeProperties options.limits'));
    expect(() => runtimeProperty({ onEnd: 5 } as never)).toThrow(
      /^Expected `onEnd` in `runtimeProperty options`/,
    );
    expect(calls).toBe(0);
  });

  it('refuses a bad value inside `limits` before any run, naming the field', async () => {
    // Until 2026-12-07 each failed the first run as a broken property ("troupe property failed after
    // 1 runs; replay with seed ..."), the runtime's refusal three lines down.
    const base = { maxConcurrent: 2, perProvider: {}, maxQueued: 5, fairnessEvery: 1, historySize: 1 };
    const cases: [unknown, string][] = [
      [
        { ...base, maxConcurrent: -1 },
        'Expected `limits.maxConcurrent` to be a positive integer, got `-1` (number)',
      ],
      [
        { ...base, maxConcurrent: Number.NaN },
        'Expected `limits.maxConcurrent` to be a positive integer, got `NaN` (number)',
      ],
      [
        { ...base, maxConcurrent: '4' },
        'Expected `limits.maxConcurrent` to be a positive integer, got `"4"` (string)',
      ],
      [
        { ...base, perProvider: { p0: 0 } },
        'Expected `limits.perProvider.p0` to be a positive integer, got `0` (number)',
      ],
      [
        { ...base, historySize: -2 },
        'Expected `limits.historySize` to be a non-negative integer, got `-2` (number)',
      ],
      [
        { ...base, providers: { p0: { requestsPerMinute: 'x' } } },
        'Expected `limits.providers.p0.requestsPerMinute` to be a positive integer, got `"x"` (string)',
      ],
      [
        { ...base, breakers: { failures: 0, windowMs: 1000, openMs: 100 } },
        'Expected `limits.breakers.failures` to be a positive integer, got `0` (number)',
      ],
      [{ ...base, breakers: 5 }, 'Expected `limits.breakers` to be an object, got `5` (number)'],
      ['fast', 'Expected `checkRuntimeProperties options.limits` to be an object of limits, got "fast"'],
    ];
    for (const [limits, message] of cases) {
      await expect(checkRuntimeProperties({ numRuns: 1, limits } as never), message).rejects.toEqual(
        expect.objectContaining({ code: 'INVALID_REQUEST', message }),
      );
    }
    expect(() => runtimeProperty({ limits: { ...base, maxConcurrent: 0 } })).toThrow(
      'Expected `limits.maxConcurrent` to be a positive integer, got `0` (number)',
    );
  });

  it('takes the documented ones', async () => {
    await checkRuntimeProperties({
      providers: [adapter],
      contract: false,
      numRuns: 1,
      seed: 3,
      maxCommands: 3,
      maxDeadlineMs: 500,
      releaseWithinMs: 100,
      model: 'model',
      limits: { maxConcurrent: 2, perProvider: { mine: 1 } },
      engine: 'compiled',
      onEnd: () => {},
    });
  });
});

describe('checkProviderContract', () => {
  it('refuses a misspelt option or capability', async () => {
    await expect(
      checkProviderContract(adapter, { apikey: 'sk-x' } as unknown as ContractOptions),
    ).rejects.toEqual(refused('apikey', 'checkProviderContract options'));
    await expect(
      checkProviderContract(adapter, { capabilities: { tool: true } } as unknown as ContractOptions),
    ).rejects.toEqual(refused('tool', 'checkProviderContract options.capabilities'));
  });
});

describe('checkProviderContract: what the key check cannot see', () => {
  it('refuses an `only` that names no property of the contract, or nothing, instead of checking nothing and passing', async () => {
    // Before 2026-12-04 a misspelt name (or an empty list) resolved with `checked: []`.
    for (const only of [['signalHonored'], [], 'signalHonoured']) {
      await expect(checkProviderContract(adapter, { only } as never)).rejects.toEqual(
        expect.objectContaining({
          code: 'INVALID_REQUEST',
          message: expect.stringMatching(
            /^Expected `only` to list properties of the contract \(signalHonoured, .*\), got /,
          ),
        }),
      );
    }
    await expect(checkProviderContract(adapter, { only: ['signalHonored'] } as never)).rejects.toThrow(
      /got "signalHonored"$/,
    );
    expect(calls).toBe(0);
  });

  it('refuses `failingFinishReasons` other than a list of the drawn reasons but `stop`', async () => {
    for (const failingFinishReasons of [['stop'], ['sensitive'], 'content_filter', [1]]) {
      await expect(checkProviderContract(adapter, { failingFinishReasons } as never)).rejects.toThrow(
        /^Expected `failingFinishReasons` in `checkProviderContract options` to be a list of `length`, `tool_calls`, `content_filter`, got /,
      );
    }
    expect(calls).toBe(0);
  });

  it('refuses a `logged` that is not a function, rather than leave the log unread', async () => {
    for (const logged of [[], 'entries', { entries: [] }]) {
      await expect(checkProviderContract(adapter, { logged } as never)).rejects.toThrow(
        /^Expected `logged` in `checkProviderContract options` to be a function returning what the adapter logged \(`\(\) => capture.entries`\), got (object|string)$/,
      );
    }
  });

  it('refuses an `abortWithinMs` that is not a number of ms above 0, rather than judge every abort by it', async () => {
    // Before 2026-12-05 NaN passed some timing checks by default and failed others with "within
    // NaN ms"; 0 or a negative bound failed every adapter, Infinity overflowed the timers.
    for (const abortWithinMs of [0, -1, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 31, '100']) {
      await expect(checkProviderContract(adapter, { abortWithinMs } as never)).rejects.toThrow(
        new RangeError(
          `Expected \`abortWithinMs\` in \`checkProviderContract options\` to be a number of ms above 0, at most 2147483647, got ${typeof abortWithinMs === 'string' ? '"100"' : String(abortWithinMs)}`,
        ),
      );
    }
    const { describeProviderContract } = await import('../../../src/testing/vitest.js');
    expect(() => describeProviderContract('mine', () => adapter, { abortWithinMs: -5 })).toThrow(RangeError);
    // Each test's timeout, as describeToolContract's: until 2026-12-07 NaN or '60000' was handed to vitest.
    for (const timeoutMs of [0, Number.NaN, '60000'])
      expect(() => describeProviderContract('mine', () => adapter, { timeoutMs } as never)).toThrow(
        /^Expected `timeoutMs` in `describeProviderContract options` to be a number of ms above 0/,
      );
    expect(calls).toBe(0);
  });

  it('refuses a seed it could not replay, rather than run on another and print NaN', async () => {
    for (const seed of [Number.NaN, 1.5, Number.POSITIVE_INFINITY, '7']) {
      await expect(checkProviderContract(adapter, { seed } as never)).rejects.toThrow(
        new RangeError(
          `Expected \`seed\` in \`checkProviderContract options\` to be an integer (as a failure prints it, to replay), got ${typeof seed === 'string' ? '"7"' : String(seed)}`,
        ),
      );
      await expect(checkRuntimeProperties({ seed, numRuns: 1 } as never)).rejects.toThrow(
        /^Expected `seed` in `checkRuntimeProperties options` to be an integer/,
      );
    }
    expect(calls).toBe(0);
  });

  it('refuses a `path` it could not replay: without the seed, across properties, or not a path', async () => {
    // A path names one case of one property under one seed (the failure prints all three).
    for (const options of [
      { path: '3' },
      { path: '3', seed: 7 },
      { path: '3', seed: 7, only: ['signalHonoured', 'errorsMapped'] },
    ])
      await expect(checkProviderContract(adapter, options as ContractOptions)).rejects.toThrow(
        /^Expected `seed` and `only` naming one property with `path`/,
      );
    for (const path of ['', '3:x', 3])
      await expect(
        checkProviderContract(adapter, { path, seed: 7, only: ['resultShape'] } as never),
      ).rejects.toThrow(/^Expected `path` to be a path as a failure prints it \("1:0:2"\), got /);
    const { describeProviderContract } = await import('../../../src/testing/vitest.js');
    expect(() => describeProviderContract('mine', () => adapter, { path: '3' } as never)).toThrow(
      /^Expected no `path` in `describeProviderContract options`/,
    );
    expect(calls).toBe(0);
  });

  it('refuses a server that is not listening yet, rather than blame the adapter for every property', async () => {
    const { createOpenAIServer } = await import('../../../src/testing/openai-server.js');
    const server = createOpenAIServer();
    await expect(checkProviderContract(adapter, { server })).rejects.toEqual(
      expect.objectContaining({
        code: 'INVALID_REQUEST',
        message: expect.stringContaining('await server.start()'),
      }),
    );
    expect(calls).toBe(0);
  });
});

describe('checkRuntimeProperties: limits on your providers', () => {
  it('draws its random limits for your providers, by their names (they stayed on p0 to p2 before 2026-12-04)', async () => {
    const seen: string[][] = [];
    await checkRuntimeProperties({
      providers: [adapter, { ...adapter, name: 'theirs' }],
      contract: false,
      numRuns: 6,
      maxCommands: 4,
      model: 'm1',
      onEnd: (runtime) => {
        seen.push(Object.keys(runtime.status({ recent: 0 }).limits ?? {}).sort());
      },
    });
    expect(seen).toHaveLength(6);
    for (const names of seen) expect(names).toEqual(['mine', 'theirs']);
  });

  it('refuses a per-provider limit on a name none of your providers has, naming it', async () => {
    await expect(
      checkRuntimeProperties({
        providers: [adapter],
        contract: false,
        numRuns: 1,
        limits: { maxConcurrent: 2, perProvider: { 'my-adaptr': 1 } },
      }),
    ).rejects.toEqual(
      expect.objectContaining({
        code: 'INVALID_REQUEST',
        message: 'Expected `limits.perProvider` to name your providers (mine), got "my-adaptr"',
      }),
    );
  });
});
