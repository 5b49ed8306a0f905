/**
 * The simulated provider: deterministic from a seed, no network. It answers every call with
 * plausible text after a little latency unless failures are asked for, either as a rate over all
 * calls (`failures`) or per request (`extra.simulate`), so demos and tests can inject each fault.
 */
import { type Clock, MAX_TIMER_MS, systemClock } from '../core/clock.js';
import { describe, providerError } from '../core/errors.js';
import { seededRandom } from '../core/random.js';
import type { CallOptions, ChatDelta, ChatProvider, ChatRequest, ChatResponse, TokenUsage } from './port.js';

/** What one call does. `stall` streams part of the answer then goes silent; for `complete` it hangs. */
export type SimulatedBehaviour =
  | 'ok'
  | 'hang'
  | 'stall'
  | 'rate_limited'
  | 'unavailable'
  | 'bad_response'
  | 'auth_failed'
  | 'network';

/** Every `SimulatedBehaviour`, the values `extra.simulate` may name (the type holds it complete). */
const BEHAVIOURS: ReadonlySet<string> = new Set(
  Object.keys({
    ok: true,
    hang: true,
    stall: true,
    rate_limited: true,
    unavailable: true,
    bad_response: true,
    auth_failed: true,
    network: true,
  } as const satisfies Record<SimulatedBehaviour, true>),
);

export interface SimulatedProviderOptions {
  /** @default 'simulated' */
  readonly name?: string;
  /** @default 1 */
  readonly seed?: number;
  /** Latency before the answer (or first delta), uniform in [min, max] ms. `{0, 0}` answers at once. @default { min: 20, max: 120 } */
  readonly latencyMs?: { readonly min: number; readonly max: number };
  /** Stream speed. @default 400 */
  readonly tokensPerSec?: number;
  /** Fraction of calls, from 0 to 1, that fail with a mode drawn from `failureModes`. @default 0 */
  readonly failureRate?: number;
  /** @default ['rate_limited', 'unavailable'] */
  readonly failureModes?: readonly SimulatedBehaviour[];
  /** Retry hint on `rate_limited`, in ms. @default 200 */
  readonly retryAfterMs?: number;
  /** Words in an answer. @default { min: 12, max: 60 } */
  readonly answerWords?: { readonly min: number; readonly max: number };
  /** @default the system clock */
  readonly clock?: Clock;
}

export const SIMULATED_MODELS = [
  { id: 'sim-fast', contextWindow: 32_768, reasoning: false },
  { id: 'sim-pro', contextWindow: 131_072, reasoning: false },
  { id: 'sim-thinker', contextWindow: 131_072, reasoning: true },
] as const;

const WORDS = (
  'the a runtime session queue provider model answer request deadline priority actor supervisor stream ' +
  'result token call retry signal limit concurrent tool server client state event metadata latency ' +
  'carefully quickly each every one several often usually clearly so then because while when and but ' +
  'runs waits ends starts returns holds keeps sends reads answers checks finishes'
).split(' ');

export function createSimulatedProvider(options: SimulatedProviderOptions = {}): ChatProvider {
  const name = options.name ?? 'simulated';
  const random = seededRandom(options.seed ?? 1);
  const clock = options.clock ?? systemClock;
  const latency = options.latencyMs ?? { min: 20, max: 120 };
  const tokensPerSec = options.tokensPerSec ?? 400;
  const failureRate = options.failureRate ?? 0;
  const failureModes = options.failureModes ?? ['rate_limited', 'unavailable'];
  const words = options.answerWords ?? { min: 12, max: 60 };
  const retryAfterMs = options.retryAfterMs ?? 200;

  function behaviour(request: ChatRequest): SimulatedBehaviour {
    const asked = request.extra?.simulate;
    if (typeof asked === 'string' && BEHAVIOURS.has(asked)) return asked as SimulatedBehaviour;
    // Until 2026-12-07 any other value failed as `network` (retryable, so retried with backoff), and a
    // misspelt `hang` read as a network fault; it is refused now, at once, and not retried.
    if (asked !== undefined) {
      throw providerError(
        'INVALID_REQUEST',
        `Expected \`extra.simulate\` to be one of ${[...BEHAVIOURS].join(', ')}, got ${describe(asked)}`,
      );
    }
    if (failureRate > 0 && random() < failureRate) {
      return failureModes[Math.floor(random() * failureModes.length)] ?? 'unavailable';
    }
    return 'ok';
  }

  function delayMs(request: ChatRequest): number {
    const asked = request.extra?.simulateLatencyMs;
    if (typeof asked === 'number') return asked;
    return latency.max <= 0 ? 0 : latency.min + random() * (latency.max - latency.min);
  }

  function failure(mode: SimulatedBehaviour): Error {
    switch (mode) {
      case 'rate_limited':
        return providerError('RATE_LIMITED', `Expected a completion, got 429 from ${name}`, {
          status: 429,
          retryAfterMs,
        });
      case 'unavailable':
        return providerError('PROVIDER_UNAVAILABLE', `Expected a completion, got 503 from ${name}`, {
          status: 503,
        });
      case 'bad_response':
        return providerError('BAD_RESPONSE', `Expected a JSON completion from ${name}, got unparseable text`);
      case 'auth_failed':
        return providerError('AUTH_FAILED', `Expected ${name} to accept the API key, got 401`, {
          status: 401,
        });
      default:
        return providerError('NETWORK', `Expected a response from ${name}, got a reset connection`);
    }
  }

  function answer(request: ChatRequest): Answer {
    const n = words.min + Math.floor(random() * (words.max - words.min + 1));
    const topic = lastUserText(request).split(/\s+/).filter(Boolean).slice(0, 6).join(' ');
    const body: string[] = [];
    for (let i = 0; i < n; i++) body.push(WORDS[Math.floor(random() * WORDS.length)]!);
    // `max_tokens` cuts the answer as a model's budget does, `length` (it was ignored: `troupe ask
    // --max-tokens 5` printed the whole answer with `finish=stop`). A word counts as a token, and
    // the quoted prompt as 4.
    const cap = request.max_tokens;
    const cut = cap !== undefined && cap < n + 4;
    const kept = cut ? body.slice(0, Math.max(0, cap - 4)) : body;
    const text = `${topic ? `On "${topic}": ` : ''}${capitalise(kept.join(' '))}${cut ? '' : '.'}`;
    const promptTokens = Math.ceil(
      request.messages.reduce((sum, m) => sum + textOf(m.content as unknown).length, 0) / 4,
    );
    const completionTokens = cut ? cap : n + 4;
    const usage = { promptTokens, completionTokens, totalTokens: promptTokens + completionTokens };
    const finish = cut ? ('length' as const) : ('stop' as const);
    return request.model.includes('think')
      ? { text, reasoning: `Considering ${topic || 'the question'} step by step.`, usage, finish }
      : { text, usage, finish };
  }

  return {
    name,
    // `options.signal` is read only to wait: an answer given at once makes the runtime build no
    // `AbortController` for it (the signal is made on first read, see provider-call.ts).
    async complete(request, options: CallOptions): Promise<ChatResponse> {
      const mode = behaviour(request);
      const delay = delayMs(request);
      if (mode === 'hang' || mode === 'stall')
        await wait(clock, Number.POSITIVE_INFINITY, options.signal, name);
      if (delay > 0) await wait(clock, delay, options.signal, name);
      if (mode !== 'ok') throw failure(mode);
      const { text, reasoning, usage, finish } = answer(request);
      const response: ChatResponse = { content: text, usage, finishReason: finish, model: request.model };
      return reasoning === undefined ? response : { ...response, reasoning };
    },
    async *stream(request, { signal }: CallOptions): AsyncIterable<ChatDelta> {
      const mode = behaviour(request);
      const delay = delayMs(request);
      if (mode === 'hang') await wait(clock, Number.POSITIVE_INFINITY, signal, name);
      if (delay > 0) await wait(clock, delay, signal, name);
      if (mode !== 'ok' && mode !== 'stall') throw failure(mode);
      const { text, reasoning, usage, finish } = answer(request);
      if (reasoning !== undefined) yield { type: 'reasoning', text: reasoning };
      const pieces = text.split(/(?<= )/);
      const gapMs = 1000 / tokensPerSec;
      for (let i = 0; i < pieces.length; i++) {
        if (mode === 'stall' && i === Math.floor(pieces.length / 2)) {
          await wait(clock, Number.POSITIVE_INFINITY, signal, name);
        }
        if (gapMs >= 1) await wait(clock, gapMs, signal, name);
        else if (signal.aborted) throw cancelled(name);
        yield { type: 'content', text: pieces[i]! };
      }
      // An abort after the last piece still ends by throwing: a normal end would read as a whole answer.
      if (signal.aborted) throw cancelled(name);
      yield { type: 'usage', usage };
      if (signal.aborted) throw cancelled(name);
      yield { type: 'finish', reason: finish };
    },
  };
}

interface Answer {
  readonly text: string;
  readonly reasoning?: string;
  readonly usage: TokenUsage;
  readonly finish: 'stop' | 'length';
}

function lastUserText(request: ChatRequest): string {
  for (let i = request.messages.length - 1; i >= 0; i--) {
    const m = request.messages[i]!;
    if (m.role === 'user' && m.content) return textOf(m.content as unknown);
  }
  return '';
}

/**
 * A message's text: the string, or the text parts of content parts (`[{ type: 'text', text }, {
 * type: 'image_url', ... }]`, which `submit` takes). Until 2026-12-04 parts failed the call
 * `INTERNAL` ("split is not a function") on the provider `npm start` runs with no key.
 */
function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .map((part: { type?: unknown; text?: unknown }) =>
      part?.type === 'text' && typeof part.text === 'string' ? part.text : '',
    )
    .filter(Boolean)
    .join(' ');
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function cancelled(name: string): Error {
  return providerError('CANCELLED', `Expected the call to ${name} to finish, got an abort`);
}

/** Waits on the injected clock; an abort rejects at once and clears the timer. */
function wait(clock: Clock, ms: number, signal: AbortSignal, name: string): Promise<void> {
  if (signal.aborted) return Promise.reject(cancelled(name));
  return new Promise((resolve, reject) => {
    // Node fires a timer longer than `MAX_TIMER_MS` at once (with a warning on stderr): until
    // 2026-12-07 `simulateLatencyMs: 1e12` answered at once. Its 24.8 days outlast any run deadline.
    const timer = Number.isFinite(ms) ? clock.setTimeout(done, Math.min(ms, MAX_TIMER_MS)) : undefined;
    function done() {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }
    function onAbort() {
      if (timer !== undefined) clock.clearTimeout(timer);
      reject(cancelled(name));
    }
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
