/**
 * The front door of every runtime, called directly: what a submission becomes (its plain input and
 * its work), and every refusal, counted once under its code.
 */
import { describe, expect, it, vi } from 'vitest';
import { TroupeError } from '../../../src/core/errors.js';
import { QueueRoom } from '../../../src/core/queue-room.js';
import { freezeKept } from '../../../src/core/request-bytes.js';
import type { ChatProvider, ChatRequest } from '../../../src/providers/port.js';
import { Admission, type AdmissionSettings } from '../../../src/runtime/admission.js';
import { RuntimeCounters } from '../../../src/runtime/counters.js';
import { resolveDefaults, resolveLimits } from '../../../src/runtime/options.js';
import type { RuntimeStatus, SessionRequest } from '../../../src/runtime/types.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const messages = [{ role: 'user' as const, content: 'hi' }];
const kimi = { name: 'kimi' } as unknown as ChatProvider;
const glm = { name: 'glm' } as unknown as ChatProvider;

function setup(settings: Partial<AdmissionSettings> = {}) {
  const counters = new RuntimeCounters();
  let state: RuntimeStatus['state'] = 'accepting';
  const admission = new Admission({
    providers: new Map([
      ['kimi', kimi],
      ['glm', glm],
    ]),
    limits: resolveLimits({ maxQueued: 7, callerMetadataBytes: 20 }),
    defaults: resolveDefaults({ provider: 'kimi', model: 'k2', priority: 4, queueTimeoutMs: 500 }),
    clock: { now: () => 1000, setTimeout: () => 0, clearTimeout: () => {} },
    counters,
    router: undefined,
    state: () => state,
    ...settings,
  });
  return {
    admission,
    rejected: () => counters.snapshot(0, 0).rejected,
    drain: () => {
      state = 'draining';
    },
  };
}

function refusal(run: () => unknown) {
  try {
    run();
  } catch (error) {
    if (!(error instanceof TroupeError)) return error;
    return { code: error.code, message: error.message };
  }
  throw new Error('Expected a refusal, got none');
}

describe('Admission.chat', () => {
  it('routes a request to its default provider and model and builds its plain input from the options', () => {
    const { admission, rejected } = setup();
    const admitted = admission.chat(
      { messages, temperature: 0.2 },
      { requestId: 'r1', priority: 8, timeoutMs: 900, label: 'ask', metadata: { owner: 'ann' } },
    );
    expect(admitted.input).toEqual({
      sessionId: expect.stringMatching(UUID),
      requestId: 'r1',
      provider: 'kimi',
      model: 'k2',
      priority: 8,
      stream: false,
      createdAt: 1000,
      queueDeadlineAt: 1500,
      timeoutMs: 900,
      idleTimeoutMs: 30_000,
      maxAttempts: 3,
      backoffBaseMs: 250,
      backoffMaxMs: 10_000,
    });
    expect(admitted.work).toEqual({
      kind: 'chat',
      provider: kimi,
      request: { model: 'k2', messages, temperature: 0.2 },
    });
    expect(admitted.label).toBe('ask');
    expect(admitted.caller).toEqual({ owner: 'ann' });
    expect(admitted.callerTruncated).toBe(false);
    expect(admitted.owner).toBe('ann');
    expect(rejected()).toEqual({});
  });

  it("counts a session toward its caller's share only when `metadata` has its own `owner`", () => {
    const { admission } = setup();
    const inherited = Object.create({ owner: 'alice' }) as Record<string, unknown>;
    const parsed = JSON.parse('{"__proto__": {"owner": "alice"}}') as Record<string, unknown>;
    const owners = [{ other: 'x' }, inherited, parsed, undefined].map(
      (metadata) => admission.chat({ messages }, metadata === undefined ? {} : { metadata }).owner,
    );
    expect(owners).toEqual([undefined, undefined, undefined, undefined]);
    expect(admission.task(async () => 1, { lane: 'tools', metadata: { owner: 'bob' } }).owner).toBe('bob');
  });

  it('gives each session its own id, and streams only when the request asks to', () => {
    const { admission } = setup();
    const a = admission.chat({ messages, stream: true }, {});
    const b = admission.chat({ messages }, {});
    expect(a.input.sessionId).not.toBe(b.input.sessionId);
    expect(a.input.requestId).toBe(a.input.sessionId);
    expect(a.input.stream).toBe(true);
    expect(b.input.stream).toBe(false);
    expect(a.caller).toBeUndefined();
    expect(a.label).toBeUndefined();
  });

  it("caps the caller's metadata at `limits.callerMetadataBytes` and says it did", () => {
    const { admission } = setup();
    const admitted = admission.chat({ messages }, { metadata: { a: 1, long: 'x'.repeat(50) } });
    expect(admitted.caller).toEqual({ a: 1 });
    expect(admitted.callerTruncated).toBe(true);
  });

  it('uses the router it is given instead of the default one', () => {
    const router = vi.fn(() => ({ provider: 'glm', model: 'glm-4' }));
    const { admission } = setup({ router });
    const admitted = admission.chat({ messages }, {});
    expect(router).toHaveBeenCalledOnce();
    expect(admitted.input).toMatchObject({ provider: 'glm', model: 'glm-4' });
    expect(admitted.work).toMatchObject({ kind: 'chat', provider: glm });
  });

  it('adds the route of a request with fallbacks to its input, and none without', () => {
    const { admission } = setup();
    const admitted = admission.chat({ messages, fallbacks: [{ provider: 'glm', model: 'glm-4' }] }, {});
    expect(admitted.input.targets).toEqual([
      { provider: 'kimi', model: 'k2', contextWindow: null, fits: true },
      { provider: 'glm', model: 'glm-4', contextWindow: null, fits: true },
    ]);
    expect('targets' in admission.chat({ messages }, {}).input).toBe(false);
  });

  it("asks the budgets about the caller's owner, provider and model, and refuses what they refuse", () => {
    const precheck = vi.fn();
    const { admission, rejected } = setup({ budgets: { precheck } });
    admission.chat({ messages }, { metadata: { owner: 'ann' } });
    admission.chat({ messages, provider: 'glm', model: 'glm-4' }, {});
    // An owner inherited through the metadata's prototype is none, as charging reads it (review).
    admission.chat({ messages }, { metadata: Object.create({ owner: 'alice' }) });
    expect(precheck.mock.calls).toEqual([
      ['ann', 'kimi', 'k2'],
      [undefined, 'glm', 'glm-4'],
      [undefined, 'kimi', 'k2'],
    ]);
    const spent = new TroupeError('runtime', 'BUDGET_EXCEEDED', 'Expected budget, got none');
    precheck.mockImplementation(() => {
      throw spent;
    });
    expect(() => admission.chat({ messages }, {})).toThrow(spent);
    expect(rejected()).toEqual({ BUDGET_EXCEEDED: 1 });
  });

  it('refuses bad options and unknown providers, counting each under its code', () => {
    const { admission, rejected } = setup();
    expect(refusal(() => admission.chat({ messages }, { priority: 12 }))).toEqual({
      code: 'INVALID_REQUEST',
      message: 'Expected `priority` to be an integer from 0 to 9, got `12` (number)',
    });
    expect(refusal(() => admission.chat({ messages, provider: 'nope' }, {}))).toMatchObject({
      code: 'UNKNOWN_PROVIDER',
    });
    expect(rejected()).toEqual({ INVALID_REQUEST: 1, UNKNOWN_PROVIDER: 1 });
  });

  it('wraps an error of the caller’s own in INVALID_REQUEST, saying what was being read, with it as the cause', () => {
    const caught = (run: () => unknown): TroupeError => {
      try {
        run();
      } catch (error) {
        expect(error).toBeInstanceOf(TroupeError);
        return error as TroupeError;
      }
      throw new Error('Expected a refusal, got none');
    };
    // Until 2026-12-07 each was rethrown as it was (counted INVALID_REQUEST all the same).
    const bug = new RangeError('router bug');
    const routed = setup({
      router: () => {
        throw bug;
      },
    });
    const byRouter = caught(() => routed.admission.chat({ messages }, {}));
    expect({ code: byRouter.code, message: byRouter.message, cause: byRouter.cause }).toEqual({
      code: 'INVALID_REQUEST',
      message:
        "Expected createRuntime's `router` to return a target, got a RangeError thrown by it (this error's `cause`)",
      cause: bug,
    });
    // A router's own troupe error goes as it is.
    const known = new TroupeError('runtime', 'MODEL_NOT_FOUND', 'no such model');
    const knowing = setup({
      router: () => {
        throw known;
      },
    });
    expect(caught(() => knowing.admission.chat({ messages }, {}))).toBe(known);

    const { admission, rejected } = setup();
    const mine = new Error('a getter of mine');
    const getter = {
      get messages(): never {
        throw mine;
      },
    };
    const byGetter = caught(() => admission.chat(getter as never, {}));
    expect(byGetter.message).toBe(
      "Expected the request to be read without an error, got an Error thrown while reading it (this error's `cause`)",
    );
    expect(byGetter.cause).toBe(mine);
    const revocable = Proxy.revocable({}, {});
    revocable.revoke();
    const byProxy = caught(() => admission.chat(revocable.proxy as never, {}));
    expect(byProxy.message).toMatch(
      /^Expected the request to be read without an error, got a TypeError thrown/,
    );
    expect(byProxy.cause).toBeInstanceOf(TypeError);
    const options = {
      get priority(): never {
        throw 'not an error';
      },
    };
    expect(caught(() => admission.chat({ messages }, options as never)).message).toBe(
      "Expected `submit` options to be read without an error, got a string thrown while reading it (this error's `cause`)",
    );
    const byRun = caught(() =>
      admission.task(
        async () => 1,
        Object.defineProperties({ lane: 'jobs' }, Object.getOwnPropertyDescriptors(options)) as never,
      ),
    );
    expect(byRun.message).toMatch(/^Expected `run` options to be read without an error/);
    expect(byRun.cause).toBe('not an error');
    // Options that cannot even be listed; a thrown object that is not an error (its `name` is not
    // said); an error's name cut at 64 characters.
    expect(caught(() => admission.chat({ messages }, revocable.proxy as never)).message).toMatch(
      /^Expected `submit` options to be read without an error, got a TypeError thrown/,
    );
    const router = (thrown: unknown) =>
      caught(() =>
        setup({
          router: () => {
            throw thrown;
          },
        }).admission.chat({ messages }, {}),
      ).message;
    expect(router({ name: 'Secret' })).toContain('got an object thrown by it');
    const long = new Error('x');
    long.name = 'E'.repeat(100);
    expect(router(long)).toContain(`got an ${'E'.repeat(64)} thrown by it`);
    // A Proxy whose trap throws when asked whether it is an error: its type.
    const trapped = new Proxy(
      {},
      {
        getPrototypeOf() {
          throw new Error('trap');
        },
      },
    );
    expect(router(trapped)).toContain('got an object thrown by it');
    expect(rejected()).toEqual({ INVALID_REQUEST: 5 });
  });

  it('refuses every submission once the runtime no longer accepts work', () => {
    const { admission, rejected, drain } = setup();
    drain();
    const shuttingDown = {
      code: 'SHUTTING_DOWN',
      message: 'Expected the runtime to accept work, got a runtime that is shutting down',
    };
    expect(refusal(() => admission.chat({ messages }, {}))).toEqual(shuttingDown);
    expect(refusal(() => admission.task(async () => 1, { lane: 'jobs' }))).toEqual(shuttingDown);
    expect(refusal(() => admission.refuseWhileDraining())).toEqual(shuttingDown);
    expect(rejected()).toEqual({ SHUTTING_DOWN: 3 });
  });
});

describe('Admission.task', () => {
  it('runs a task on its lane, named by the lane or its own name, once unless told otherwise', () => {
    const { admission } = setup();
    const task = async () => 1;
    const admitted = admission.task(task, { lane: 'jobs', priority: 2 });
    expect(admitted.input).toMatchObject({
      provider: 'jobs',
      model: 'jobs',
      stream: false,
      priority: 2,
      maxAttempts: 1,
      createdAt: 1000,
      queueDeadlineAt: 1500,
    });
    expect(admitted.work).toEqual({ kind: 'task', task });
    const named = admission.task(task, { lane: 'jobs', name: 'resize', maxAttempts: 4, label: 'l' });
    expect(named.input).toMatchObject({ provider: 'jobs', model: 'resize', maxAttempts: 4 });
    expect(named.label).toBe('l');
  });

  it('refuses what is not a function, a missing or empty lane, and bad options', () => {
    const { admission, rejected } = setup();
    expect(refusal(() => admission.task(5 as never, { lane: 'jobs' }))).toEqual({
      code: 'INVALID_REQUEST',
      message: 'Expected a task function, got `5` (number)',
    });
    expect(refusal(() => admission.task(async () => 1, { lane: '' }))).toEqual({
      code: 'INVALID_REQUEST',
      message: 'Expected `lane` to be a string of 1 to 256 characters, got `""` (string)',
    });
    expect(refusal(() => admission.task(async () => 1, { lane: 3 } as never))).toEqual({
      code: 'INVALID_REQUEST',
      message: 'Expected `lane` to be a string of 1 to 256 characters, got `3` (number)',
    });
    expect(refusal(() => admission.task(async () => 1, undefined as never))).toEqual({
      code: 'INVALID_REQUEST',
      message: 'Expected `lane` to be a string of 1 to 256 characters, got `undefined`',
    });
    // Kept as the session's provider and model: 256 characters at most, as a chat's (review).
    expect(
      (refusal(() => admission.task(async () => 1, { lane: 'l'.repeat(257) })) as Error).message,
    ).toMatch(/^Expected `lane` to be a string of 1 to 256 characters, got `"l+…` \(string\)$/);
    expect(
      (refusal(() => admission.task(async () => 1, { lane: 'jobs', name: 'n'.repeat(257) })) as Error)
        .message,
    ).toMatch(/^Expected `name` to be a string of 1 to 256 characters/);
    expect(
      (refusal(() => admission.task(async () => 1, { lane: 'jobs', name: 5 } as never)) as Error).message,
    ).toBe('Expected `name` to be a string of 1 to 256 characters, got `5` (number)');
    expect(admission.task(async () => 1, { lane: 'l'.repeat(256), name: 'n'.repeat(256) }).input.model).toBe(
      'n'.repeat(256),
    );
    expect(refusal(() => admission.task(async () => 1, { lane: 'jobs', timeoutMs: 0 }))).toEqual({
      code: 'INVALID_REQUEST',
      message: 'Expected `timeoutMs` to be a number of milliseconds from 1 to 2147483647, got `0` (number)',
    });
    expect(rejected()).toEqual({ INVALID_REQUEST: 8 });
  });
});

describe('Admission.queueFull', () => {
  it('refuses with QUEUE_FULL, saying how many wait and the limit, and counts it', () => {
    const { admission, rejected } = setup();
    expect(refusal(() => admission.queueFull(7))).toEqual({
      code: 'QUEUE_FULL',
      message: 'Expected room in the queue, got 7 sessions waiting (limit 7)',
    });
    expect(rejected()).toEqual({ QUEUE_FULL: 1 });
  });
});

describe('the size a request waits with (limits.maxQueuedBytes)', () => {
  it('is the UTF-8 length of the JSON its provider gets, tools, options and extra included; a task is 0', () => {
    const { admission } = setup();
    const request = {
      messages: [
        { role: 'user' as const, content: 'ünïcödé ✓ 🎉 "q" \\ \n\u0001' },
        { role: 'assistant' as const, content: null, tool_calls: [] },
      ],
      tools: [{ type: 'function' as const, function: { name: 'f', parameters: { type: 'object' } } }],
      max_tokens: 12,
      extra: { thinking: { type: 'enabled' } },
      provider: 'kimi',
      stream: true,
    };
    const admitted = admission.chat(request, {});
    const work = admitted.work as { request: unknown };
    expect(admitted.bytes).toBe(Buffer.byteLength(JSON.stringify(work.request)));
    expect(admitted.bytes).toBeGreaterThan(Buffer.byteLength(JSON.stringify(request.messages)));
    expect(admission.task(async () => 1, { lane: 'jobs' }).bytes).toBe(0);
    expect(admission.task(async () => 1, { lane: 'jobs', bytes: 0 }).bytes).toBe(0);
    expect(admission.task(async () => 1, { lane: 'jobs', bytes: 1234 }).bytes).toBe(1234);
  });

  it('refuses a task whose `bytes` is not a non-negative integer, and counts it', () => {
    const { admission, rejected } = setup();
    expect(refusal(() => admission.task(async () => 1, { lane: 'jobs', bytes: -1 }))).toEqual({
      code: 'INVALID_REQUEST',
      message:
        'Expected `bytes` to be a non-negative integer of bytes up to 9007199254740991, got `-1` (number)',
    });
    expect(rejected()).toEqual({ INVALID_REQUEST: 1 });
  });

  it('refuses a request JSON cannot carry with INVALID_REQUEST, and counts it', () => {
    const { admission, rejected } = setup();
    const request = { messages, extra: { seed: 1n } } as never;
    expect(refusal(() => admission.chat(request, {}))).toEqual({
      code: 'INVALID_REQUEST',
      message:
        'Expected a request that is JSON data, got one JSON cannot carry (Do not know how to serialize a BigInt); send plain data',
    });
    expect(rejected()).toEqual({ INVALID_REQUEST: 1 });
  });
});

describe('Admission.chat under limits.maxQueuedBytes', () => {
  /** An array that says it holds `length` entries, each `entry`; reading one throws (JSON cannot make one). */
  const unread = (length: number, entry: unknown) =>
    new Proxy([entry], {
      get(target, key, receiver) {
        if (key === 'length') return length;
        if (typeof key === 'string' && /^\d+$/.test(key)) throw new Error(`read entry ${key}`);
        return Reflect.get(target, key, receiver);
      },
    });

  it('refuses an array of length 1e9 by its length alone, as too large, before reading an entry', () => {
    const { admission, rejected } = setup({ limits: resolveLimits({ maxQueuedBytes: 1000 }) });
    const request = { messages: unread(1e9, messages[0]) } as never;
    expect(refusal(() => admission.chat(request, {}))).toEqual({
      code: 'INVALID_REQUEST',
      message:
        'Expected a request of at most 1000 bytes of JSON (limits.maxQueuedBytes), got at least 2000000003 bytes (`messages` has 1000000000 entries); send a smaller request (fewer or shorter messages, smaller tool arguments), or raise maxQueuedBytes',
    });
    expect(rejected()).toEqual({ INVALID_REQUEST: 1 });
  });

  it('counts a request’s size only until past the bound: a provider field of length 1e9 is not read', () => {
    const { admission, rejected } = setup({ limits: resolveLimits({ maxQueuedBytes: 1000 }) });
    expect(refusal(() => admission.chat({ messages, extra: { seeds: unread(1e9, 1) } }, {}))).toEqual({
      code: 'INVALID_REQUEST',
      message: expect.stringMatching(
        /^Expected a request of at most 1000 bytes of JSON \(limits\.maxQueuedBytes\), got at least \d+ bytes; send a smaller request/,
      ),
    });
    expect(rejected()).toEqual({ INVALID_REQUEST: 1 });
  });

  // Until 2026-12-07 routing (its window check's token estimate, which stringifies the tools) came
  // before the size was measured: a tool's `enum` of any length was read whole, then refused.
  it('refuses a request over the bound before routing estimates its tokens: no entry of a tool’s array is read', () => {
    const { admission, rejected } = setup({
      limits: resolveLimits({ maxQueuedBytes: 1000 }),
      router: () => ({ provider: 'kimi', model: 'k2', contextWindow: 100_000 }),
    });
    const tools = [{ type: 'function', function: { name: 'pick', parameters: { enum: unread(1e7, 'v') } } }];
    expect(refusal(() => admission.chat({ messages, tools } as never, {}))).toEqual({
      code: 'INVALID_REQUEST',
      message: expect.stringMatching(
        /^Expected a request of at most 1000 bytes of JSON \(limits\.maxQueuedBytes\), got at least 2000\d{4} bytes; send a smaller request/,
      ),
    });
    expect(rejected()).toEqual({ INVALID_REQUEST: 1 });
  });
});

describe('Admission.chat keeps its own copy of the request', () => {
  const small = (limit: number) => setup({ limits: resolveLimits({ maxQueuedBytes: limit }) }).admission;
  const sent = (admitted: { work: unknown }) => (admitted.work as { request: ChatRequest }).request;

  it('reads each message once: a Proxy that grows after it was measured sends what was measured', () => {
    // Until 2026-12-07 the session kept the caller's array: measured at 'hi', sent at 100 KB.
    let reads = 0;
    const growing = new Proxy([{ role: 'user', content: 'hi' }], {
      get(target, key, receiver) {
        if (key === '0' && ++reads > 1) return { role: 'user', content: 'x'.repeat(100_000) };
        return Reflect.get(target, key, receiver);
      },
    });
    const admitted = small(1000).chat({ messages: growing as ChatRequest['messages'] }, {});
    expect(reads).toBe(1);
    expect(sent(admitted).messages).toEqual([{ role: 'user', content: 'hi' }]);
    expect(admitted.bytes).toBe(Buffer.byteLength(JSON.stringify(sent(admitted))));
    // What the caller changes afterwards is not the session's.
    const list = [{ role: 'user' as const, content: 'hi' }];
    const kept = small(1000).chat({ messages: list, extra: { tags: ['a'] } }, {});
    list.push({ role: 'user', content: 'x'.repeat(100_000) });
    (list[0] as { content: string }).content = 'changed';
    expect(sent(kept)).toEqual({
      model: 'k2',
      messages: [{ role: 'user', content: 'hi' }],
      extra: { tags: ['a'] },
    });
  });

  it('reads `model` once: a getter that answers differently is checked, routed and sent as one model', () => {
    let reads = 0;
    const request = {
      messages,
      get model() {
        reads += 1;
        return reads === 1 ? 'k2' : 'm'.repeat(100_000);
      },
    } as unknown as SessionRequest;
    const admitted = small(1000).chat(request, {});
    expect(reads).toBe(1);
    expect(sent(admitted).model).toBe('k2');
    expect(admitted.input.model).toBe('k2');
    // A getter read once that answers badly is refused by the checks, as a plain value would be.
    let calls = 0;
    const late = {
      messages,
      get model() {
        calls += 1;
        return calls === 1 ? 'm'.repeat(100_000) : 'k2';
      },
    } as unknown as SessionRequest;
    expect(refusal(() => small(1_000_000).chat(late, {}))).toMatchObject({
      code: 'INVALID_REQUEST',
      message: expect.stringContaining('Expected `model` to be a string of 1 to 256 characters'),
    });
  });

  it('checks the fields of its copy: a Proxy that hides a field after the copy is refused for it', () => {
    // The copy is the one read of the caller's keys: a check of the caller's object after it would
    // see only `messages`, and `contnet` would be dropped on the way to the provider, silently.
    let enumerations = 0;
    const shifty = new Proxy(
      { messages, contnet: 'x' },
      {
        ownKeys(target) {
          enumerations += 1;
          return enumerations === 1 ? Reflect.ownKeys(target) : ['messages'];
        },
      },
    );
    expect(refusal(() => small(1000).chat(shifty as unknown as SessionRequest, {}))).toMatchObject({
      code: 'INVALID_REQUEST',
      message: expect.stringContaining('in the request, got `contnet`'),
    });
    expect(enumerations).toBe(1);
  });

  it('reads the keys of a request it takes once (the copy’s walk)', () => {
    let enumerations = 0;
    const counted = new Proxy(
      { messages },
      {
        ownKeys(target) {
          enumerations += 1;
          return Reflect.ownKeys(target);
        },
      },
    );
    expect(sent(small(1000).chat(counted as unknown as SessionRequest, {})).messages).toEqual(messages);
    expect(enumerations).toBe(1);
  });

  it('names a field it does not take before refusing a request past the bound as too large', () => {
    // The copy stops at the bound, short of the field: the caller's own keys are checked there.
    const request = { messages, extra: { pad: 'x'.repeat(2000) }, temprature: 0.2 };
    expect(refusal(() => small(1000).chat(request as unknown as SessionRequest, {}))).toMatchObject({
      code: 'INVALID_REQUEST',
      message: expect.stringContaining('in the request, got `temprature`'),
    });
  });

  it('refuses a copy stopped at the bound as the checks do, else as too large by what it counted', () => {
    // Over by an array's length alone: the checks' refusal, naming it.
    const long = Object.assign([], { length: 1e9 });
    expect(refusal(() => small(1000).chat({ messages: long }, {}))).toMatchObject({
      message: expect.stringContaining('(`messages` has 1000000000 entries)'),
    });
    // Its fields alone (without `model`) at the bound: refused by what was counted, the routed
    // model's name not yet added.
    const request = { messages, extra: { pad: 'x'.repeat(100) } };
    const fields = Buffer.byteLength(JSON.stringify(request));
    expect(refusal(() => small(fields - 1).chat(request, {}))).toMatchObject({
      code: 'INVALID_REQUEST',
      message: expect.stringContaining(`got at least ${fields} bytes;`),
    });
    // At the bound exactly, the copy is whole and routing adds the model: over, by the whole size.
    expect(refusal(() => small(fields).chat(request, {}))).toMatchObject({
      message: expect.stringContaining(`got at least ${fields + 13} bytes;`),
    });
    expect(small(fields + 13).chat(request, {}).bytes).toBe(fields + 13);
  });

  it('copies a caller’s frozen message (a getter on it may still change) and takes a kept one as it is', () => {
    let reads = 0;
    const frozen = Object.freeze(
      Object.defineProperty({ role: 'user' }, 'content', {
        enumerable: true,
        get: () => (++reads === 1 ? 'hi' : 'x'.repeat(100_000)),
      }),
    );
    const admitted = small(1000).chat({ messages: [frozen] as unknown as ChatRequest['messages'] }, {});
    expect(sent(admitted).messages[0]).not.toBe(frozen);
    expect(sent(admitted).messages[0]).toEqual({ role: 'user', content: 'hi' });
    // A conversation store's kept message (plain data it made, frozen): not copied, not measured again.
    const stored = { role: 'assistant', content: 'an answer' };
    freezeKept(stored, 1234);
    const resent = small(1_000_000).chat(
      { messages: [{ role: 'user', content: 'q' }, stored] as ChatRequest['messages'] },
      {},
    );
    expect(sent(resent).messages[1]).toBe(stored);
    const plain = Buffer.byteLength(JSON.stringify(sent(resent)));
    expect(resent.bytes).toBe(plain - Buffer.byteLength(JSON.stringify(stored)) + 1234);
  });
});

describe('Admission.roomFor', () => {
  it('lets through what fits, up to the bound exactly, counting nothing', () => {
    const { admission, rejected } = setup();
    const queue = new QueueRoom(100);
    queue.hold({ queuedBytes: 0, queuedTurn: undefined }, 40);
    admission.roomFor(queue, 60);
    expect(queue.held).toBe(40);
    expect(rejected()).toEqual({});
  });

  it('refuses with QUEUE_FULL while the queue holds too much, naming the bytes waiting, the size and the bound', () => {
    const { admission, rejected } = setup();
    const queue = new QueueRoom(100);
    queue.hold({ queuedBytes: 0, queuedTurn: undefined }, 40);
    expect(refusal(() => admission.roomFor(queue, 61))).toEqual({
      code: 'QUEUE_FULL',
      message:
        'Expected room for a request of 61 bytes in the queue, got 40 bytes waiting (limit 100, limits.maxQueuedBytes)',
    });
    expect(rejected()).toEqual({ QUEUE_FULL: 1 });
  });

  it('refuses a request larger than the bound with INVALID_REQUEST, even on an empty queue', () => {
    const { admission, rejected } = setup();
    expect(refusal(() => admission.roomFor(new QueueRoom(100), 101))).toEqual({
      code: 'INVALID_REQUEST',
      message:
        'Expected a request of at most 100 bytes of JSON (limits.maxQueuedBytes), got at least 101 bytes; send a smaller request (fewer or shorter messages, smaller tool arguments), or raise maxQueuedBytes',
    });
    expect(rejected()).toEqual({ INVALID_REQUEST: 1 });
  });

  it('refuses a caller at its share with QUEUE_FULL naming the share, its count and the caller, and lets other callers and the ownerless through', () => {
    const { admission, rejected } = setup();
    const queue = new QueueRoom(1000, 2);
    queue.hold({ queuedBytes: 0, queuedTurn: undefined }, 10, 'token:alice');
    admission.roomFor(queue, 10, 'token:alice');
    queue.hold({ queuedBytes: 0, queuedTurn: undefined }, 10, 'token:alice');
    expect(refusal(() => admission.roomFor(queue, 10, 'token:alice'))).toEqual({
      code: 'QUEUE_FULL',
      message:
        'Expected at most 2 sessions of one caller waiting (limits.maxQueuedPerCaller), got 2 of caller "token:alice" waiting; call again once some have started, or cancel some',
    });
    admission.roomFor(queue, 10, 'token:bob');
    admission.roomFor(queue, 10);
    expect(rejected()).toEqual({ QUEUE_FULL: 1 });
  });

  it('refuses a caller past its share of the bytes with QUEUE_FULL naming that share, its bytes waiting and the request', () => {
    const { admission, rejected } = setup();
    const queue = new QueueRoom(1000, 10, true, 300);
    queue.hold({ queuedBytes: 0, queuedTurn: undefined }, 250, 'token:alice');
    expect(refusal(() => admission.roomFor(queue, 51, 'token:alice'))).toEqual({
      code: 'QUEUE_FULL',
      message:
        'Expected at most 300 bytes of one caller\'s requests waiting (its share of limits.maxQueuedBytes, as limits.maxQueuedPerCaller is of limits.maxQueued), got 250 bytes of caller "token:alice" waiting and a request of 51; call again once some have started, or cancel some',
    });
    admission.roomFor(queue, 50, 'token:alice');
    admission.roomFor(queue, 600, 'token:bob');
    expect(rejected()).toEqual({ QUEUE_FULL: 1 });
  });

  // stdio's one caller has the whole queue as its share: the refusal named maxQueuedPerCaller, a
  // setting the operator never touched, where --max-queued was what filled.
  it('names the queue, not the share, when the share is the whole queue', () => {
    const { admission } = setup();
    for (const [share, expected] of [
      [7, 'Expected room in the queue, got 7 sessions waiting (limit 7)'],
      [
        6,
        'Expected at most 6 sessions of one caller waiting (limits.maxQueuedPerCaller), got 6 of caller "local" waiting; call again once some have started, or cancel some',
      ],
    ] as const) {
      const queue = new QueueRoom(1000, share);
      for (let i = 0; i < share; i++) queue.hold({ queuedBytes: 0, queuedTurn: undefined }, 10, 'local');
      expect(refusal(() => admission.roomFor(queue, 10, 'local'))).toEqual({
        code: 'QUEUE_FULL',
        message: expected,
      });
    }
  });
});
