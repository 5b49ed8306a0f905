/**
 * The provider call: the session's child. It runs one attempt (`complete` or `stream`) with a
 * signal tied to the session, and reports back only through events (`provider.chunk`,
 * `provider.done`, `provider.error`). The session aborts it when it leaves `calling` or
 * `streaming`; after that, nothing it reports is delivered.
 *
 * The `AbortController` is made on first use of `signal`: an adapter that never reads it (the
 * instant simulated provider) costs none, and one that does gets a signal that is already aborted
 * if the session ended first.
 *
 * A call that answered (its promise resolved, its stream ran out, its task returned) is not
 * aborted when its session moves on: nothing of it is left running, and aborting its controller
 * would only run the adapter's abort machinery (a `DOMException` and abort listeners in the
 * `openai` SDK and undici, about 80 µs a call over real HTTP). Only what is still running is aborted.
 */

import type { SessionMachineEvent, SessionOutputData, UsageData } from '../../machines/session.js';
import { toErrorData } from '../core/errors.js';
import type { ChatDelta, ChatProvider, ChatRequest, ChatResponse } from '../providers/port.js';
import { ToolCallAssembler } from '../providers/tool-calls.js';
import { checkProgress } from './progress-check.js';

export { tookProgress } from './progress-check.js';

import type { SessionWork } from './session-record.js';
import type { PartialOutput, TaskFunction } from './types.js';
import { usableUsage } from './usage-check.js';

export type CallEvent = Extract<
  SessionMachineEvent,
  { type: 'provider.chunk' | 'provider.done' | 'provider.error' }
>;

/** Whether an event is the error of an attempt its own gate refused: its limits' charge goes back whole. */
export const isUnsent = (event: SessionMachineEvent): boolean => (event as { unsent?: true }).unsent === true;

/** How an attempt that reached its provider ended, for its gate. */
export interface CallEnd {
  /** The error code it failed with (`TIMED_OUT` for a run or idle deadline), `null` when it answered or was cancelled. */
  readonly failure: string | null;
  /** The session ended it before the provider answered (a cancel, a deadline, a shutdown). */
  readonly aborted: boolean;
  /**
   * How long the provider had sent nothing when the call ended, in ms: the whole time it was out
   * (from the gate's pass) when no chunk of a stream came, else the time since the last one. A
   * deadline that ends a stream still flowing says nothing against its provider.
   */
  readonly silentMs: number;
  /** The usage the provider reported, when it did. */
  readonly usage?: UsageData;
  /** It failed with an error of its model alone (`TroupeErrorData.modelScoped`): no breaker counts it. */
  readonly modelScoped?: true;
}

/**
 * What stands between an attempt and its provider (circuit breakers, budgets): `open` lets the
 * call go with a ticket, or refuses it with the error the attempt ends with; `close` gets the
 * ticket back exactly once, with how the call ended.
 */
export interface CallGate<O> {
  open(call: ProviderCall<O>, provider: ChatProvider, request: ChatRequest): unknown;
  close(ticket: unknown, end: CallEnd): void;
}

/** Where a call reports; one per runtime, so a call costs no closures. */
export interface CallSink<O> {
  /** Asked before each provider call, when the runtime has one. */
  readonly gate?: CallGate<O> | undefined;
  now(): number;
  random(): number;
  deliver(call: ProviderCall<O>, event: CallEvent): void;
  /** A task's return value, handed over before `provider.done`. */
  value(call: ProviderCall<O>, value: unknown): void;
  progress(call: ProviderCall<O>, progress: number, total?: number, message?: string): void;
  /** Where a throw of `deliver` goes when nobody awaits the call's promise: the runtime's `onError`. */
  report(error: unknown): void;
}

export class ProviderCall<O = unknown> {
  private controller: AbortController | undefined;
  private abortReason: string | undefined;
  private ended = false;
  /** The provider or task answered: there is nothing left to abort. */
  private answered = false;
  /** The gate's ticket while the call is out; `undefined` once closed (or with no gate). */
  private ticket: unknown;
  /** When the provider last sent something: the gate's pass, then each chunk of a stream. */
  private heardAt = 0;
  /** A stream's answer so far. */
  private acc: StreamAccumulator | undefined;
  /** A task's last `progress` taken (`reportProgress`). */
  private lastProgress = Number.NEGATIVE_INFINITY;

  constructor(
    /** The session this call belongs to. */
    readonly owner: O,
    readonly sessionId: string,
    readonly attempt: number,
    private readonly sink: CallSink<O>,
    /** The session's `idleTimeoutMs`, told to the adapter (`CallOptions`): a whole answer's bound. */
    readonly idleTimeoutMs?: number,
  ) {}

  get signal(): AbortSignal {
    if (this.controller === undefined) {
      this.controller = new AbortController();
      if (this.abortReason !== undefined) this.controller.abort(abortError(this.abortReason));
    }
    return this.controller.signal;
  }

  get aborted(): boolean {
    return this.ended;
  }

  /** What the stream had delivered, when it delivered any text or reasoning. */
  partial(): PartialOutput | undefined {
    const acc = this.acc;
    return acc === undefined || acc.chars === 0 ? undefined : acc.partial();
  }

  /** Ends the call; `timedOut` when a run or idle deadline ended it (its gate counts that as a failure). */
  abort(reason: string, timedOut = false): void {
    if (this.ended) return;
    this.ended = true;
    this.closeGate(timedOut ? 'TIMED_OUT' : null, undefined, true);
    if (this.answered) return;
    this.abortReason = reason;
    this.controller?.abort(abortError(reason));
  }

  start(work: SessionWork, stream: boolean): void {
    if (work.kind === 'task') {
      void this.runTask(work.task);
      return;
    }
    const gate = this.sink.gate;
    if (gate === undefined) {
      this.call(work.provider, work.request, stream);
      return;
    }
    const ticket = gate.open(this, work.provider, work.request);
    if (ticket instanceof Promise) {
      ticket
        .then(
          (t: unknown) => this.pass(t, work.provider, work.request, stream),
          (error: unknown) => this.fail(error, true),
        )
        .catch((error: unknown) => this.sink.report(error));
    } else this.pass(ticket, work.provider, work.request, stream);
  }

  /** The gate answered: the call goes with its ticket, or the attempt fails with the gate's error. */
  private pass(ticket: unknown, provider: ChatProvider, request: ChatRequest, stream: boolean): void {
    if (ticket instanceof Error) {
      this.fail(ticket, true);
      return;
    }
    this.ticket = ticket;
    this.heardAt = this.sink.now();
    // Ended while the gate decided (a shared gate answers asynchronously): the call never goes.
    if (this.ended) {
      this.closeGate(null, undefined, true);
      return;
    }
    this.call(provider, request, stream);
  }

  private call(provider: ChatProvider, request: ChatRequest, stream: boolean): void {
    if (stream) void this.runStream(provider, request);
    else void this.runComplete(provider, request);
  }

  private closeGate(failure: string | null, usage?: UsageData, aborted = false, modelScoped?: true): void {
    const ticket = this.ticket;
    if (ticket === undefined) return;
    this.ticket = undefined;
    const silentMs = this.sink.now() - this.heardAt;
    // One of two literal shapes on every call; a failure of one model alone (rare) is a copy.
    const end: CallEnd =
      usage === undefined ? { failure, aborted, silentMs } : { failure, aborted, silentMs, usage };
    (this.sink.gate as CallGate<O>).close(ticket, modelScoped === true ? { ...end, modelScoped } : end);
  }

  /** `unsent`: its gate refused it (or failed to answer), so the call never went (`CallEvent`). */
  private fail(error: unknown, unsent = false): void {
    const data = toErrorData(error);
    this.closeGate(data.code, undefined, false, data.modelScoped);
    if (this.ended) return;
    const sink = this.sink;
    const event: CallEvent = { type: 'provider.error', now: sink.now(), error: data, random: sink.random() };
    sink.deliver(this, unsent ? { ...event, unsent } : event);
  }

  private async runTask(task: TaskFunction<unknown>): Promise<void> {
    try {
      const call = this;
      const value = await task({
        get signal() {
          return call.signal;
        },
        sessionId: this.sessionId,
        attempt: this.attempt,
        progress: (progress, total, message) => call.reportProgress(progress, total, message),
      });
      this.answered = true;
      if (this.ended) return;
      this.sink.value(this, value);
      this.sink.deliver(this, { type: 'provider.done', now: this.sink.now(), output: { content: '' } });
    } catch (error) {
      this.failUnawaited(error);
    }
  }

  /**
   * A failure of a run nobody awaits, told, or reported if telling it throws (`deliver`: a bug, a
   * clock that throws); until 2026-12-07 an unhandled rejection, which ends a Node process.
   */
  private failUnawaited(error: unknown): void {
    try {
      this.fail(error);
    } catch (thrown) {
      this.sink.report(thrown);
    }
  }

  /**
   * A task's report, held to MCP's progress notification: a value JSON and MCP cannot carry is
   * refused (until 2026-12-07 `'3'`, `NaN` or an object went into `session.progress` as it was);
   * one not above the last of this attempt is ignored, since MCP's `progress` must grow.
   */
  private reportProgress(progress: number, total?: number, message?: string): boolean {
    checkProgress(progress, total, message);
    if (this.ended || !(progress > this.lastProgress)) return false;
    this.lastProgress = progress;
    this.sink.progress(this, progress, total, message);
    return true;
  }

  /** A delta of the stream: joined into the answer and reported, unless the call ended. */
  private take(acc: StreamAccumulator, delta: ChatDelta): void {
    if (this.ended) return;
    acc.add(delta);
    const now = this.sink.now();
    this.heardAt = now;
    // An empty reasoning delta only marks that the model reasoned (`StreamAccumulator`): no event.
    if (delta.type === 'reasoning' && delta.text === '') return;
    this.sink.deliver(this, { type: 'provider.chunk', now, chars: acc.chars, delta });
  }

  private async runComplete(provider: ChatProvider, request: ChatRequest): Promise<void> {
    try {
      const response = await provider.complete(request, new CallOptions(this));
      this.answered = true;
      const usage = usableUsage(response.usage);
      this.closeGate(null, usage);
      if (this.ended) return;
      this.sink.deliver(this, done(this.sink.now(), toOutput(response), usage));
    } catch (error) {
      this.failUnawaited(error);
    }
  }

  private async runStream(provider: ChatProvider, request: ChatRequest): Promise<void> {
    try {
      const acc = new StreamAccumulator();
      this.acc = acc;
      const options = new CallOptions(this);
      if (provider.streamTo !== undefined) {
        // Pushed: no async iteration per delta. Once the call ended, the adapter stops at its
        // signal and what it still pushes is dropped.
        await provider.streamTo(request, options, (delta) => this.take(acc, delta));
        // Stryker disable next-line ConditionalExpression: a shortcut; the same check follows the gate's close, which an ended call already made
        if (this.ended) return;
      } else {
        for await (const delta of provider.stream(request, options)) {
          // Stryker disable next-line ConditionalExpression: `take` drops a delta of an ended call and the check below returns
          if (this.ended) return;
          this.take(acc, delta);
          if (this.ended) return;
        }
      }
      this.answered = true;
      const usage = usableUsage(acc.usage);
      this.closeGate(null, usage);
      if (this.ended) return;
      this.sink.deliver(this, done(this.sink.now(), acc.output(), usage));
    } catch (error) {
      this.failUnawaited(error);
    }
  }
}

/** What an adapter gets: the signal, made only if it is read, and the session's idle bound. */
class CallOptions {
  constructor(private readonly call: ProviderCall<unknown>) {}

  get signal(): AbortSignal {
    return this.call.signal;
  }

  get idleTimeoutMs(): number | undefined {
    return this.call.idleTimeoutMs;
  }
}

function done(now: number, output: SessionOutputData, usage: UsageData | undefined): CallEvent {
  return usage === undefined
    ? { type: 'provider.done', now, output }
    : { type: 'provider.done', now, output, usage };
}

function toOutput(response: ChatResponse): SessionOutputData {
  const out: { -readonly [K in keyof SessionOutputData]: SessionOutputData[K] } = {
    content: response.content ?? '',
  };
  if (response.reasoning !== undefined) out.reasoning = response.reasoning;
  if (response.toolCalls && response.toolCalls.length > 0) out.toolCalls = response.toolCalls;
  if (response.finishReason !== undefined) out.finishReason = response.finishReason;
  if (response.webSearch !== undefined && response.webSearch.length > 0) out.webSearch = response.webSearch;
  if (response.notes !== undefined && response.notes.length > 0) out.notes = response.notes;
  return out;
}

/** Joins a stream's deltas into the answer the session ends with. */
export class StreamAccumulator {
  private content = '';
  /** `undefined` until a reasoning delta, even an empty one, arrives: the answer says whether the model reasoned. */
  private reasoning: string | undefined;
  private readonly tools = new ToolCallAssembler();
  usage: UsageData | undefined;
  private finishReason: string | undefined;
  private webSearch: SessionOutputData['webSearch'];
  private notes: string[] | undefined;

  get chars(): number {
    return this.content.length + (this.reasoning?.length ?? 0);
  }

  add(delta: ChatDelta): void {
    switch (delta.type) {
      case 'content':
        this.content += delta.text;
        break;
      case 'reasoning':
        this.reasoning = (this.reasoning ?? '') + delta.text;
        break;
      case 'tool_call':
        this.tools.add(delta);
        break;
      case 'usage':
        this.usage = delta.usage;
        break;
      case 'finish':
        this.finishReason = delta.reason;
        break;
      case 'web_search':
        this.webSearch = [...(this.webSearch ?? []), ...delta.results];
        break;
      case 'note':
        this.notes = [...(this.notes ?? []), delta.text];
        break;
    }
  }

  partial(): PartialOutput {
    return this.reasoning === undefined
      ? { content: this.content }
      : { content: this.content, reasoning: this.reasoning };
  }

  output(): SessionOutputData {
    const out: { -readonly [K in keyof SessionOutputData]: SessionOutputData[K] } = { content: this.content };
    if (this.reasoning !== undefined) out.reasoning = this.reasoning;
    if (this.tools.size > 0) out.toolCalls = this.tools.calls();
    if (this.finishReason !== undefined) out.finishReason = this.finishReason;
    if (this.webSearch !== undefined) out.webSearch = this.webSearch;
    if (this.notes !== undefined) out.notes = this.notes;
    return out;
  }
}

/**
 * The abort reason an adapter sees. Made at the end of nearly every call, so without a stack: one
 * taken here would only show the runtime's own frames, and capturing it cost about 1 % of an MCP call.
 */
function abortError(reason: string): Error {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    const error = new Error(`The session ended the provider call: ${reason}`);
    error.name = 'AbortError';
    return error;
  } finally {
    Error.stackTraceLimit = limit;
  }
}
