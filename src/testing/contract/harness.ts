/**
 * What every contract property shares: scripted answers keyed by a nonce in the request, waits on
 * the wire, bounded waits on the adapter's promises and iterators, frozen requests, and the texts
 * of an error to search for a key. Node built-ins only.
 */
import { inspect } from 'node:util';
import type { ChatDelta, ChatProvider, ChatRequest } from '../../providers/port.js';
import type { OpenAIServer, RecordedRequest, Reply } from '../openai-server.js';
import type { ContractCapabilities } from './types.js';

export interface ContractContext {
  readonly provider: ChatProvider;
  readonly server: OpenAIServer | undefined;
  readonly model: string;
  readonly capabilities: Required<ContractCapabilities>;
  readonly abortWithinMs: number;
  readonly apiKey: string | undefined;
  readonly failingFinishReasons: readonly string[];
  /** Registers the answer for a new nonce; put the nonce in the last user message. */
  script(reply: Reply): string;
}

/** Extra time the suite waits past a bound before it calls something late, in ms. */
export const GRACE_MS = 200;

let counter = 0;

export function createContext(
  provider: ChatProvider,
  server: OpenAIServer | undefined,
  settings: Omit<ContractContext, 'provider' | 'server' | 'script'>,
): { context: ContractContext; dispose(): void } {
  const replies = new Map<string, Reply>();
  if (server !== undefined) {
    server.setResponder((body) => {
      const nonce = nonceIn(body);
      return (nonce === undefined ? undefined : replies.get(nonce)) ?? { content: 'contract: no script' };
    });
  }
  const context: ContractContext = {
    provider,
    server,
    ...settings,
    script(reply) {
      counter += 1;
      const nonce = `contract-${counter.toString(36)}x${Math.random().toString(36).slice(2, 8)}`;
      replies.set(nonce, reply);
      return nonce;
    },
  };
  return { context, dispose: () => server?.setResponder(undefined) };
}

function nonceIn(body: Record<string, unknown>): string | undefined {
  return /contract-[0-9a-z]+x[0-9a-z]*/.exec(JSON.stringify(body.messages ?? ''))?.[0];
}

/** A plain request whose last user message carries the nonce. */
export function requestFor(context: ContractContext, nonce: string, model = context.model): ChatRequest {
  return { model, messages: [{ role: 'user', content: `Answer the contract check ${nonce}` }] };
}

/** The first request on the wire whose messages carry the nonce, or `undefined` after `timeoutMs`. */
export async function onWire(
  server: OpenAIServer,
  nonce: string,
  timeoutMs = 2000,
): Promise<RecordedRequest | undefined> {
  const probe = () =>
    server.requests.find(
      (r) => r.path.endsWith('/chat/completions') && JSON.stringify(r.body ?? '').includes(nonce),
    );
  return pollUntil(probe, timeoutMs);
}

/** Polls every few ms; the server stamps its own times, so polling adds no error to measurements. */
export async function pollUntil<T>(probe: () => T | undefined, timeoutMs: number): Promise<T | undefined> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const found = probe();
    if (found !== undefined || Date.now() >= until) return found;
    await sleep(3);
  }
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A promise watched from the start: when and how it settled, and a bounded wait for it. */
export interface Watched<T> {
  readonly state: 'pending' | 'resolved' | 'rejected';
  readonly value: T | undefined;
  readonly error: unknown;
  /** When it settled, ms since the epoch. */
  readonly at: number | undefined;
  /** Resolves once settled or after `ms`, whichever first. */
  within(ms: number): Promise<Watched<T>>;
}

export function watch<T>(promise: Promise<T>): Watched<T> {
  let settled!: () => void;
  const done = new Promise<void>((resolve) => {
    settled = resolve;
  });
  const watched = {
    state: 'pending' as Watched<T>['state'],
    value: undefined as T | undefined,
    error: undefined as unknown,
    at: undefined as number | undefined,
    async within(ms: number) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([done, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
      clearTimeout(timer);
      return watched;
    },
  };
  promise.then(
    (value) => {
      Object.assign(watched, { state: 'resolved', value, at: Date.now() });
      settled();
    },
    (error: unknown) => {
      Object.assign(watched, { state: 'rejected', error, at: Date.now() });
      settled();
    },
  );
  return watched;
}

/** A stream read delta by delta, each `next()` watched so a stuck iterator cannot stall the suite. */
export class StreamReader {
  readonly deltas: ChatDelta[] = [];
  readonly iterator: AsyncIterator<ChatDelta>;
  /** How the iteration ended, if it did. */
  end: { kind: 'done' | 'threw'; error?: unknown; at: number } | undefined;
  /** Reading stops here (ms since the epoch) with `late`. */
  until = Number.POSITIVE_INFINITY;
  private step: Watched<IteratorResult<ChatDelta>> | undefined;
  private readonly source: AsyncIterable<ChatDelta> & {
    readonly endedUnaborted?: boolean;
    readonly pushedLate?: number;
  };

  constructor(iterable: AsyncIterable<ChatDelta>) {
    this.source = iterable;
    this.iterator = iterable[Symbol.asyncIterator]();
  }

  /**
   * A pushed stream (`streamTo()`) reads as fast as the server sends, so it may have ended before
   * an abort whose deltas the suite has not read yet: true when it did (nothing to check then).
   */
  get endedBeforeAbort(): boolean {
    return this.source.endedUnaborted === true;
  }

  /** Deltas `streamTo()` handed over after its promise settled (until 2026-12-05 not counted). */
  get pushedLate(): number {
    return this.source.pushedLate ?? 0;
  }

  /** Reads until the stream ends, `count` more deltas came, or `until` passed. */
  async read(count = Number.POSITIVE_INFINITY): Promise<'ended' | 'count' | 'late'> {
    let read = 0;
    while (this.end === undefined && read < count) {
      this.step ??= watch(Promise.resolve().then(() => this.iterator.next()));
      const left = this.until - Date.now();
      if (left <= 0) return 'late';
      // Short slices, so a caller moving `until` earlier (after an abort) takes effect at once.
      const step = await this.step.within(Math.min(left, 20));
      if (step.state === 'pending') continue;
      this.step = undefined;
      if (step.state === 'rejected')
        this.end = { kind: 'threw', error: step.error, at: step.at ?? Date.now() };
      else if (step.value?.done) this.end = { kind: 'done', at: step.at ?? Date.now() };
      else if (step.value !== undefined) {
        this.deltas.push(step.value.value);
        read += 1;
      }
    }
    return this.end === undefined ? 'count' : 'ended';
  }

  /** What `break` in a `for await` does; resolves once `return()` settled or after `ms`. */
  async close(ms = 1000): Promise<void> {
    await watch(Promise.resolve().then(() => this.iterator.return?.())).within(ms);
  }
}

/** How the suite calls the adapter: `complete()`, `stream()`, or the pushed `streamTo()`. */
export type CallKind = 'complete' | 'stream' | 'streamTo';
export type StreamKind = Exclude<CallKind, 'complete'>;

/**
 * The ways this adapter streams: `stream()`, and `streamTo()` when it has one (the runtime uses
 * `streamTo()` whenever it is there, so it is held to the same contract). None without streaming.
 */
export function streamKinds(context: ContractContext): StreamKind[] {
  if (!context.capabilities.streaming) return [];
  return typeof context.provider.streamTo === 'function' ? ['stream', 'streamTo'] : ['stream'];
}

/** Every way the suite calls this adapter. */
export function callKinds(context: ContractContext): CallKind[] {
  return ['complete', ...streamKinds(context)];
}

/**
 * Calls `stream()` (or `streamTo()`, read as an iterator), turning a synchronous throw into a
 * stream that throws. `onPush` is told, inside the adapter's `onDelta`, how many deltas a pushed
 * stream has pushed (so a check can abort there, while the adapter is still handing them over).
 */
export function streamOf(
  context: ContractContext,
  request: ChatRequest,
  signal: AbortSignal,
  kind: StreamKind = 'stream',
  onPush?: (pushed: number) => void,
): StreamReader {
  try {
    const iterable =
      kind === 'streamTo'
        ? pushed(context.provider, request, signal, onPush)
        : context.provider.stream(request, { signal });
    return new StreamReader(iterable);
  } catch (error) {
    return new StreamReader(throwing(error));
  }
}

/**
 * `streamTo()` read as an iterator, as the runtime consumes it: the pushed deltas in order, the
 * end when its promise resolves, its error when it rejects. Deltas pushed after the promise
 * settled are lost, as they are to the runtime. A pushed stream can only be stopped by its signal,
 * so `return()` (a `break`) aborts the signal the call was given, as the runtime does when the
 * session ends.
 */
function pushed(
  provider: ChatProvider,
  request: ChatRequest,
  signal: AbortSignal,
  onPush: ((pushed: number) => void) | undefined,
): AsyncIterable<ChatDelta> & { readonly endedUnaborted: boolean; readonly pushedLate: number } {
  const stop = new AbortController();
  let endedUnaborted = false;
  let pushedLate = 0;
  return {
    get endedUnaborted() {
      return endedUnaborted;
    },
    get pushedLate() {
      return pushedLate;
    },
    [Symbol.asyncIterator](): AsyncIterator<ChatDelta> {
      const forward = () => stop.abort(signal.reason);
      if (signal.aborted) forward();
      else signal.addEventListener('abort', forward, { once: true });
      const queue: ChatDelta[] = [];
      let end: { readonly failed: boolean; readonly error?: unknown } | undefined;
      let wake = () => {};
      let count = 0;
      const onDelta = (delta: ChatDelta) => {
        if (end !== undefined) {
          pushedLate += 1;
          return;
        }
        queue.push(delta);
        onPush?.(++count);
        wake();
      };
      Promise.resolve()
        .then(() => provider.streamTo?.(request, { signal: stop.signal }, onDelta))
        .then(
          () => {
            end = { failed: false };
          },
          (error: unknown) => {
            end = { failed: true, error };
          },
        )
        .finally(() => {
          endedUnaborted = !stop.signal.aborted;
          signal.removeEventListener('abort', forward);
          wake();
        });
      return {
        async next(): Promise<IteratorResult<ChatDelta>> {
          for (;;) {
            const delta = queue.shift();
            if (delta !== undefined) return { done: false, value: delta };
            if (end?.failed) throw end.error;
            if (end !== undefined) return { done: true, value: undefined };
            await new Promise<void>((resolve) => {
              wake = resolve;
            });
          }
        },
        async return(): Promise<IteratorResult<ChatDelta>> {
          stop.abort();
          return { done: true, value: undefined };
        },
      };
    },
  };
}

/** A pushed stream's deltas handed over after its promise resolved (given 20 ms), which the runtime drops. */
export async function pushedLateNote(reader: StreamReader): Promise<string> {
  await sleep(20);
  const late = reader.pushedLate;
  return late === 0
    ? ''
    : `; ${late} delta${late === 1 ? ' was' : 's were'} pushed after its promise resolved, which the runtime drops: resolve it only once the last delta is pushed`;
}

/** Calls `complete()`, turning a synchronous throw into a rejection, and watches it. */
export function completeOf(context: ContractContext, request: ChatRequest, signal: AbortSignal) {
  return watch(Promise.resolve().then(() => context.provider.complete(request, { signal })));
}

// biome-ignore lint/correctness/useYield: a stream that fails on its first read
async function* throwing(error: unknown): AsyncGenerator<ChatDelta> {
  throw error;
}

export function deepFreeze<T>(value: T): T {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return value;
  for (const key of Reflect.ownKeys(value)) deepFreeze((value as Record<PropertyKey, unknown>)[key]);
  return Object.freeze(value);
}

/** Everything an error shows a reader: message, stack, cause chain and own properties. */
export function errorText(error: unknown): string {
  return inspect(error, { depth: 6, showHidden: false, breakLength: Number.POSITIVE_INFINITY });
}

/** A short `Name: message` for failure messages. */
export function brief(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return `${error.name}${code === undefined ? '' : ` ${String(code)}`}: ${error.message.slice(0, 160)}`;
  }
  return inspect(error, { depth: 2 }).slice(0, 160);
}

/** Lets an abandoned call finish in the background without an unhandled rejection. */
export function ignore(promise: Promise<unknown>): void {
  promise.catch(() => {});
}

/**
 * A failure that is only about time (a call or a request that ended, or may still end, later than
 * the bound). On a loaded machine the event loop alone can be late, so such a case is tried again
 * and counts only when it is late every time; a real bug is late every time.
 */
export class LateError extends Error {
  override name = 'LateError';
}

export const LATE_ATTEMPTS = 2;

export async function retryingLate(run: () => Promise<void>): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await run();
    } catch (error) {
      if (!(error instanceof LateError) || attempt >= LATE_ATTEMPTS) {
        if (error instanceof LateError) error.message += ` (late in ${attempt} of ${attempt} tries)`;
        throw error;
      }
    }
  }
}

/** The wire check after an abort: the request must have closed within the bound. Throws `LateError`. */
export async function expectClosedAfterAbort(
  context: ContractContext,
  request: RecordedRequest,
  abortedAt: number,
  what: string,
): Promise<void> {
  if (context.server === undefined) return;
  const closedAt = await pollUntil(() => request.closedAt, context.abortWithinMs + GRACE_MS);
  if (closedAt === undefined)
    throw new LateError(
      `Expected the HTTP request to close within ${context.abortWithinMs} ms of ${what}, got it still open after ${context.abortWithinMs + GRACE_MS} ms`,
    );
  if (closedAt - abortedAt > context.abortWithinMs)
    throw new LateError(
      `Expected the HTTP request to close within ${context.abortWithinMs} ms of ${what}, got ${closedAt - abortedAt} ms`,
    );
}

/** Why a fault or a pace may not have applied: the adapter did not send `request.model`, which names the fault. */
export function modelHint(context: ContractContext, nonce: string, model: string): string {
  const wire = context.server?.requests.find((r) => JSON.stringify(r.body ?? '').includes(nonce));
  const sent = (wire?.body as { model?: unknown } | undefined)?.model;
  if (wire === undefined || sent === model) return '';
  return ` (the adapter sent model ${JSON.stringify(sent)}, not the request's ${JSON.stringify(model)}; the server reads the fault from the model name, so send \`request.model\` as it is)`;
}
