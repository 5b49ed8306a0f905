/**
 * `submit` and `run` refuse an option they do not take, naming it, as `createRuntime` does for
 * its own. Before, from JavaScript, `submit(request, { timeout: 50 })` or `run(task, { lane,
 * timeout: 50 })` was ignored: a call meant to give up after 50 ms ran under the 120 s default
 * deadline (and a misspelt `priorty: 9` ran at 5), silently. A request field it does not know
 * (`temprature`, OpenAI's `response_format`) was dropped on the way to the provider, silently.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { createSimulatedProvider } from '../../../src/providers/simulated.js';
import { createRuntime } from '../../../src/runtime/runtime.js';
import type { RunOptions, SubmitOptions } from '../../../src/runtime/types.js';

const runtime = createRuntime({
  providers: [createSimulatedProvider({ latencyMs: { min: 1, max: 2 } })],
  defaults: { model: 'sim-fast' },
});
afterAll(() => runtime.shutdown({ deadlineMs: 0 }));

const request = { messages: [{ role: 'user' as const, content: 'hi' }] };
const refused = (where: string, field: string) =>
  expect.objectContaining({
    code: 'INVALID_REQUEST',
    message: expect.stringContaining(`in \`${where}\`, got \`${field}\``),
  });

describe('submit', () => {
  it.each(['timeout', 'priorty', 'lane'])('refuses `%s`', (field) => {
    expect(() => runtime.submit(request, { [field]: 1 } as unknown as SubmitOptions)).toThrow(
      refused('submit options', field),
    );
  });

  it('takes every documented option', async () => {
    const result = await runtime.submit(request, {
      priority: 6,
      timeoutMs: 5000,
      queueTimeoutMs: 5000,
      idleTimeoutMs: 5000,
      maxAttempts: 2,
      signal: new AbortController().signal,
      requestId: 'r1',
      metadata: { owner: 'me' },
      label: 'l',
      parent: 'no-such-session',
    }).result;
    expect(result.ok).toBe(true);
    expect(result.metadata).toMatchObject({ priority: 6, requestId: 'r1', label: 'l' });
  });
});

describe('the request', () => {
  it.each(['temprature', 'max_token', 'response_format'])('refuses `%s`, pointing at `extra`', (field) => {
    expect(() => runtime.submit({ ...request, [field]: 1 } as typeof request)).toThrow(
      expect.objectContaining({
        code: 'INVALID_REQUEST',
        message: expect.stringMatching(new RegExp(`in the request, got \`${field}\`; .* goes in \`extra\``)),
      }),
    );
  });

  it('takes every documented field', async () => {
    const result = await runtime.submit({
      ...request,
      provider: 'simulated',
      model: 'sim-fast',
      stream: true,
      fallbacks: [],
      tools: [],
      tool_choice: 'auto',
      temperature: 0.5,
      top_p: 0.9,
      max_tokens: 50,
      stop: ['x'],
      thinking: 'disabled',
      extra: { response_format: { type: 'json_object' } },
      files: [],
    }).result;
    expect(result.ok).toBe(true);
  });
});

describe('run', () => {
  it.each(['timeout', 'lanes'])('refuses `%s`', (field) => {
    expect(() => runtime.run(async () => 1, { lane: 'x', [field]: 1 } as unknown as RunOptions)).toThrow(
      refused('run options', field),
    );
  });

  it('takes every documented option', async () => {
    const result = await runtime.run(async () => 7, {
      lane: 'x',
      name: 'n',
      bytes: 10,
      priority: 3,
      timeoutMs: 5000,
      queueTimeoutMs: 5000,
      maxAttempts: 1,
      requestId: 'r2',
      metadata: { owner: 'me' },
      label: 'l',
      parent: 'no-such-session',
    }).result;
    expect(result).toMatchObject({ ok: true, value: 7, metadata: { model: 'n', priority: 3 } });
  });
});

describe('a request that is not an object', () => {
  it.each([null, 'hi', 42, []])('%j is refused by name, not taken to fail later', (request) => {
    expect(() => runtime.submit(request as never)).toThrow(
      expect.objectContaining({
        code: 'INVALID_REQUEST',
        message: expect.stringMatching(/^Expected the request to be an object, got /),
      }),
    );
  });
});

describe('the request’s fields, more closely', () => {
  it('names every field it takes in the refusal', () => {
    expect(() => runtime.submit({ ...request, temprature: 0.2 } as never)).toThrow(
      'Expected only provider, model, stream, fallbacks, messages, tools, tool_choice, temperature, top_p, max_tokens, stop, thinking, extra, files in the request, got `temprature`',
    );
  });

  it('looks only at the request’s own fields, not what it inherits', async () => {
    const inherited = Object.assign(Object.create({ temprature: 0.2 }), request);
    expect((await runtime.submit(inherited).result).ok).toBe(true);
  });
});
