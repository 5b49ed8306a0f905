/**
 * `createRuntime` refuses a field it does not take, at the top level and in `limits`, `defaults`,
 * `budgets` and `breakers`, naming it: from JavaScript a misspelt limit or budget used to be
 * ignored, so the runtime ran with no limit and no budget.
 */
import { describe, expect, it } from 'vitest';
import { createSimulatedProvider } from '../../../src/providers/simulated.js';
import type { RuntimeBackend } from '../../../src/runtime/backend.js';
import { checkRequestKeys, onlyKeys } from '../../../src/runtime/option-keys.js';
import { createRuntime } from '../../../src/runtime/runtime.js';
import type { RuntimeOptions } from '../../../src/runtime/types.js';

function create(extra: Record<string, unknown>) {
  return createRuntime({
    providers: [createSimulatedProvider({ latencyMs: { min: 1, max: 2 } })],
    ...extra,
  } as unknown as RuntimeOptions);
}

describe('createRuntime refuses fields it does not take', () => {
  it.each([
    [{ limit: { maxConcurrent: 2 } }, 'createRuntime options', 'limit'],
    [{ limits: { maxConcurent: 2 } }, 'limits', 'maxConcurent'],
    [{ defaults: { model: 'sim-fast', timeout: 5 } }, 'defaults', 'timeout'],
    [{ budgets: { perCalller: 5 } }, 'budgets', 'perCalller'],
    [{ breakers: { failure: 3 } }, 'breakers', 'failure'],
  ])('%j', (extra, where, field) => {
    expect(() => create(extra)).toThrow(
      expect.objectContaining({
        code: 'INVALID_REQUEST',
        message: expect.stringContaining(`in \`${where}\`, got \`${field}\``),
      }),
    );
  });

  it('names every field it takes in the refusal', () => {
    expect(() => create({ limits: { maxConcurent: 2 } })).toThrow(
      'Expected only maxConcurrent, maxRunningPerCaller, perProvider, maxQueued, maxQueuedPerCaller, maxQueuedBytes, fairnessEvery, historySize, callerMetadataBytes, providers, defaultCompletionTokens in `limits`, got `maxConcurent`',
    );
  });

  it.each([
    [{ budgets: null }, '`budgets` to be an object, got null'],
    [{ limits: [2] }, '`limits` to be an object, got an array'],
    [{ defaults: 'sim-fast' }, '`defaults` to be an object, got `sim-fast` (string)'],
    [{ breakers: null }, '`breakers` to be an object, got null'],
  ])('refuses a part that is not an object: %j', (extra, message) => {
    expect(() => create(extra)).toThrow(
      expect.objectContaining({ code: 'INVALID_REQUEST', message: `Expected ${message}` }),
    );
  });

  it('takes `breakers: false`', async () => {
    const runtime = create({ defaults: { model: 'sim-fast' }, breakers: false });
    expect((await runtime.submit({ messages: [{ role: 'user', content: 'hi' }] }).result).ok).toBe(true);
    await runtime.shutdown({ deadlineMs: 0 });
  });

  it('takes every documented field, and `breakers: true`', async () => {
    const runtime = create({
      limits: { maxConcurrent: 2, perProvider: { simulated: 1 }, maxQueued: 10, historySize: 5 },
      defaults: { model: 'sim-fast', priority: 5, timeoutMs: 5_000 },
      breakers: true,
      budgets: { perCaller: 5, currency: 'USD', maxCallers: 10 },
      prices: { simulated: { 'sim-fast': { input: 1, output: 1, currency: 'USD' } } },
      engine: 'compiled',
      onError: () => {},
    });
    const result = await runtime.submit({ messages: [{ role: 'user', content: 'hi' }] }).result;
    expect(result.ok).toBe(true);
    await runtime.shutdown({ deadlineMs: 0 });
  });
});

describe('createRuntime lets go of a backend it refuses', () => {
  // Until 2026-12-08 a refusal before the backend was asked (these checks) left a `redisBackend()`'s
  // connections open, and the process never exited (on a real server: tests/scale/refused-release.test.ts).
  function backend(build?: RuntimeBackend['createRuntime']) {
    const released: string[] = [];
    const given: RuntimeBackend = {
      kind: 'test',
      createRuntime: build ?? ((options, local) => local(options)),
      release: () => released.push('released'),
    };
    return { given, released };
  }

  it.each([
    ['a field it does not take', { limit: 2 }, /got `limit`/],
    ['a price table', { prices: { simulated: { 'sim-fast': { input: -1, output: 1 } } } }, /^prices\./],
  ])('when it refuses %s, before asking the backend', (_, extra, message) => {
    const { given, released } = backend(() => {
      throw new Error('not asked');
    });
    expect(() => create({ ...extra, backend: given })).toThrow(message);
    expect(released).toEqual(['released']);
  });

  it('when the backend refuses', () => {
    const refusal = new Error('refused by the backend');
    const { given, released } = backend(() => {
      throw refusal;
    });
    expect(() => create({ backend: given })).toThrow(refusal);
    expect(released).toEqual(['released']);
  });

  it('not when the runtime is built', async () => {
    const { given, released } = backend();
    const runtime = create({ defaults: { model: 'sim-fast' }, backend: given });
    expect((await runtime.submit({ messages: [{ role: 'user', content: 'hi' }] }).result).ok).toBe(true);
    await runtime.shutdown({ deadlineMs: 0 });
    expect(released).toEqual([]);
  });

  it('refuses as before a backend without `release`, and options that are no object', () => {
    const bare: RuntimeBackend = { kind: 'test', createRuntime: (options, local) => local(options) };
    expect(() => create({ limit: 2, backend: bare })).toThrow(
      expect.objectContaining({ code: 'INVALID_REQUEST', message: expect.stringContaining('got `limit`') }),
    );
    expect(() => createRuntime(null as never)).toThrow(
      expect.objectContaining({
        code: 'INVALID_REQUEST',
        message: 'Expected `createRuntime options` to be an object, got null',
      }),
    );
  });
});

describe('submit and run refuse options they do not take', () => {
  const request = { messages: [{ role: 'user' as const, content: 'hi' }] };
  const runtime = () =>
    createRuntime({
      providers: [createSimulatedProvider({ latencyMs: { min: 0, max: 0 } })],
      defaults: { model: 'sim-fast' },
    });

  it.each([
    [{ priorty: 9 }, 'priorty'],
    [{ priority: 5, timeout: 200 }, 'timeout'],
    // `run`'s own fields are not `submit`'s.
    [{ lane: 'l' }, 'lane'],
  ])('submit %j', async (options, field) => {
    const r = runtime();
    expect(() => r.submit(request, options as never)).toThrow(
      expect.objectContaining({
        code: 'INVALID_REQUEST',
        message: expect.stringContaining(`in \`submit options\`, got \`${field}\``),
      }),
    );
    expect(r.metrics().rejected).toMatchObject({ INVALID_REQUEST: 1 });
    await r.shutdown();
  });

  it('takes every field it names, and ignores what the options object only inherits', async () => {
    const r = runtime();
    const every = {
      priority: 7,
      timeoutMs: 5000,
      queueTimeoutMs: 5000,
      idleTimeoutMs: 5000,
      maxAttempts: 2,
      signal: new AbortController().signal,
      requestId: 'r-1',
      metadata: { owner: 'alice' },
      label: 'every',
    };
    const result = await r.submit(request, every).result;
    expect(result.ok).toBe(true);
    expect(result.metadata).toMatchObject({ priority: 7, requestId: 'r-1', label: 'every' });
    const inherited = Object.create({ priorty: 1 }) as { priority?: number };
    inherited.priority = 3;
    expect((await r.submit(request, inherited).result).metadata.priority).toBe(3);
    await r.shutdown();
  });

  it('run names its own refusal and takes its own fields', async () => {
    const r = runtime();
    expect(() => r.run(async () => 1, { lane: 'l', lanee: 'x' } as never)).toThrow(
      expect.objectContaining({
        code: 'INVALID_REQUEST',
        message: expect.stringContaining('lane, name, bytes in `run options`, got `lanee`'),
      }),
    );
    const ran = await r.run(async () => 42, { lane: 'l', name: 'n', bytes: 10, priority: 5 }).result;
    expect(ran).toMatchObject({ ok: true, value: 42 });
    await r.shutdown();
  });
});

describe('onlyKeys, the one refusal every options check uses', () => {
  it('refuses an own field it does not know, with the list it takes', () => {
    expect(() => onlyKeys('mine', { a: 1, b: 2 }, { a: true })).toThrow(
      expect.objectContaining({ code: 'INVALID_REQUEST', message: 'Expected only a in `mine`, got `b`' }),
    );
    expect(() => onlyKeys('mine', { a: 1 }, { a: true })).not.toThrow();
  });

  it.each([null, undefined, 'ab', 5, true])('leaves %j, not an object, to its caller', (value) => {
    expect(() => onlyKeys('mine', value, { a: true })).not.toThrow();
  });
});

describe('checkRequestKeys, called directly', () => {
  // Called directly, so an inherited field reaches the check whatever `submit` does with a request first.
  it('takes a request whose only unknown field is inherited, not its own', () => {
    const inherited = Object.assign(Object.create({ temprature: 0.2 }), {
      messages: [{ role: 'user', content: 'hi' }],
    });
    expect(() => checkRequestKeys(inherited)).not.toThrow();
    expect(() => checkRequestKeys({ ...inherited, temprature: 0.2 })).toThrow(/got `temprature`/);
  });
});
