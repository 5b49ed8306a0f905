/**
 * The request helpers: the default router, the chat request a provider sees, an abort's reason,
 * and the reporter of errors nobody else handles.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { TroupeError } from '../../../src/core/errors.js';
import { safeReporter } from '../../../src/core/listener-warning.js';
import { chatRequest, defaultRouter, reasonOf, reportError } from '../../../src/runtime/requests.js';
import type { SessionRequest } from '../../../src/runtime/types.js';

const messages = [{ role: 'user' as const, content: 'hi' }];
const one = new Map([['kimi', {}]]);
const two = new Map([
  ['kimi', {}],
  ['glm', {}],
]);
const none = { provider: undefined, model: undefined };

function refusal(run: () => unknown) {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(TroupeError);
    return { code: (error as TroupeError).code, message: (error as TroupeError).message };
  }
  throw new Error('Expected a refusal, got none');
}

describe('defaultRouter', () => {
  it("takes the request's provider and model first, then the defaults, then the only provider", () => {
    const route = defaultRouter(two, { provider: 'glm', model: 'glm-4' });
    expect(route({ messages, provider: 'kimi', model: 'k2' })).toEqual({ provider: 'kimi', model: 'k2' });
    expect(route({ messages })).toEqual({ provider: 'glm', model: 'glm-4' });
    expect(defaultRouter(one, { provider: undefined, model: 'k2' })({ messages })).toEqual({
      provider: 'kimi',
      model: 'k2',
    });
  });

  it('refuses a request without a provider when there are several and no default', () => {
    const expected = {
      code: 'INVALID_REQUEST',
      message:
        'Expected `provider` (there are several and no default), got none; name one in the request or set `defaults.provider` in createRuntime',
    };
    expect(refusal(() => defaultRouter(two, { ...none, model: 'm' })({ messages }))).toEqual(expected);
  });

  it('says a runtime without providers runs only tasks, rather than that there are several', () => {
    expect(refusal(() => defaultRouter(new Map(), { ...none, model: 'm' })({ messages }))).toEqual({
      code: 'INVALID_REQUEST',
      message:
        'Expected a provider, got a runtime without any (`providers` in createRuntime is empty): it runs only tasks (`run`)',
    });
  });

  it('refuses a request without a model, or with an empty one, when there is no default', () => {
    const expected = {
      code: 'INVALID_REQUEST',
      message:
        'Expected `model` (there is no default), got none; name one in the request or set `defaults.model` in createRuntime',
    };
    expect(refusal(() => defaultRouter(one, none)({ messages }))).toEqual(expected);
    expect(refusal(() => defaultRouter(one, none)({ messages, model: '' }))).toEqual(expected);
  });
});

describe('chatRequest', () => {
  it("drops troupe's own fields (fallbacks too), sets the routed model and keeps every other own field", () => {
    const request: SessionRequest = {
      provider: 'kimi',
      model: 'asked',
      stream: true,
      // Never sent: until 2026-12-07 kept, held while queued and counted in the request's bytes.
      fallbacks: [{ model: 'spare' }],
      messages,
      temperature: 0.5,
      max_tokens: 10,
    };
    expect(chatRequest(request, 'routed')).toEqual({
      model: 'routed',
      messages,
      temperature: 0.5,
      max_tokens: 10,
    });
    expect(Object.keys(chatRequest(request, 'routed'))).toEqual([
      'model',
      'messages',
      'temperature',
      'max_tokens',
    ]);
  });

  it('copies only own fields, not inherited ones', () => {
    const request = Object.assign(Object.create({ temperature: 1 }), { messages }) as SessionRequest;
    expect(Object.keys(chatRequest(request, 'm'))).toEqual(['model', 'messages']);
  });
});

describe('reasonOf', () => {
  function signalWith(reason: unknown): AbortSignal {
    const controller = new AbortController();
    controller.abort(reason);
    return controller.signal;
  }

  it("says the caller's signal aborted, with the reason's message or text when it has one", () => {
    expect(reasonOf(signalWith(new Error('user left')))).toBe("the caller's signal aborted (user left)");
    expect(reasonOf(signalWith('closed tab'))).toBe("the caller's signal aborted (closed tab)");
  });

  it('says only that it aborted for an empty message, an empty text or another value', () => {
    expect(reasonOf(signalWith(new Error('')))).toBe("the caller's signal aborted");
    expect(reasonOf(signalWith(''))).toBe("the caller's signal aborted");
    expect(reasonOf(signalWith(42))).toBe("the caller's signal aborted");
    expect(reasonOf(signalWith({ message: 'not an error' }))).toBe("the caller's signal aborted");
  });
});

describe('reportError', () => {
  afterEach(() => vi.restoreAllMocks());

  it('emits a process warning with the error’s name, message and stack under TROUPE_LISTENER_ERROR', async () => {
    // A real warning, as a `'warning'` listener gets it: given the Error itself, Node drops the
    // options, and the warning carried no code (the bug until 2026-12-07).
    const heard: (Error & { code?: string; detail?: string })[] = [];
    const listener = (warning: Error) => heard.push(warning);
    process.on('warning', listener);
    try {
      const error = new TypeError('listener threw');
      reportError(error);
      reportError(17);
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('warning', listener);
    }
    const ours = heard.filter((w) => w.code === 'TROUPE_LISTENER_ERROR');
    expect(ours.map((w) => [w.name, w.message, w.detail?.split('\n')[0]])).toEqual([
      ['TypeError', 'listener threw', 'TypeError: listener threw'],
      ['Warning', '17', undefined],
    ]);
    expect(ours[0]?.detail).toContain('requests.test.ts');
  });
});

describe('safeReporter', () => {
  afterEach(() => vi.restoreAllMocks());

  it('hands the error to onError, and what onError throws to the process’s warnings', () => {
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    const heard: unknown[] = [];
    const error = new Error('listener threw');
    safeReporter((e) => heard.push(e))(error);
    expect(heard).toEqual([error]);
    expect(warn).not.toHaveBeenCalled();
    expect(() =>
      safeReporter(() => {
        throw new RangeError('onError broke');
      })(error),
    ).not.toThrow();
    expect(warn.mock.calls).toEqual([
      ['onError broke', { type: 'RangeError', code: 'TROUPE_LISTENER_ERROR', detail: expect.any(String) }],
    ]);
  });
});
