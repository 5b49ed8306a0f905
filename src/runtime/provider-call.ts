/**
 * The provider call: the session's child. It runs one attempt (`complete` or `stream`) with a
 * signal tied to the session, and reports back only through events (`provider.chunk`,
 * `provider.done`, `provider.error`). The session aborts it when it leaves `calling` or
 * `streaming`; after that, nothing it reports is delivered.
 *
 * The `AbortController` is made on first use of `signal`: an adapter that never reads it (the
 * instant simulated provider) costs none, and one that does gets a signal that is already aborted
 * if the session ended first.
 */

import type { SessionMachineEvent, SessionOutputData, UsageData } from '../../machines/session.js';
import { toErrorData } from '../core/errors.js';
import type { ChatDelta, ChatProvider, ChatRequest, ChatResponse } from '../providers/port.js';
import { ToolCallAssembler } from '../providers/tool-calls.js';
import type { SessionWork } from './session-record.js';
import type { TaskFunction } from './types.js';

export type CallEvent = Extract<
  SessionMachineEvent,
  { type: 'provider.chunk' | 'provider.done' | 'provider.error' }
>;

export interface CallSink {
  readonly sessionId: string;
  readonly attempt: number;
  now(): number;
  random(): number;
  deliver(event: CallEvent): void;
  /** A task's return value, handed over before `provider.done`. */
  value(value: unknown): void;
  progress(progress: number, total?: number, message?: string): void;
}

export class ProviderCall {
  private controller: AbortController | undefined;
  private abortReason: string | undefined;
  private ended = false;

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

  abort(reason: string): void {
    if (this.ended) return;
    this.ended = true;
    this.abortReason = reason;
    this.controller?.abort(abortError(reason));
  }

  start(work: SessionWork, stream: boolean, sink: CallSink): void {
    let run: Promise<void>;
    if (work.kind === 'task') {
      run = this.runTask(work.task, sink);
    } else {
      // A getter, so the controller is made only if the adapter reads the signal.
      const call = this;
      const options = {
        get signal() {
          return call.signal;
        },
      };
      run = stream
        ? this.runStream(work.provider, work.request, options, sink)
        : this.runComplete(work.provider, work.request, options, sink);
    }
    run.catch((error: unknown) => {
      if (!this.ended)
        sink.deliver({
          type: 'provider.error',
          now: sink.now(),
          error: toErrorData(error),
          random: sink.random(),
        });
    });
  }

  private async runTask(task: TaskFunction<unknown>, sink: CallSink): Promise<void> {
    const call = this;
    const value = await task({
      get signal() {
        return call.signal;
      },
      sessionId: sink.sessionId,
      attempt: sink.attempt,
      progress: (progress, total, message) => {
        if (!call.ended) sink.progress(progress, total, message);
      },
    });
    if (this.ended) return;
    sink.value(value);
    sink.deliver({ type: 'provider.done', now: sink.now(), output: { content: '' } });
  }

  private async runComplete(
    provider: ChatProvider,
    request: ChatRequest,
    options: { readonly signal: AbortSignal },
    sink: CallSink,
  ): Promise<void> {
    const response = await provider.complete(request, options);
    if (this.ended) return;
    sink.deliver({
      type: 'provider.done',
      now: sink.now(),
      output: toOutput(response),
      ...usageOf(response.usage),
    });
  }

  private async runStream(
    provider: ChatProvider,
    request: ChatRequest,
    options: { readonly signal: AbortSignal },
    sink: CallSink,
  ): Promise<void> {
    const acc = new StreamAccumulator();
    for await (const delta of provider.stream(request, options)) {
      if (this.ended) return;
      acc.add(delta);
      sink.deliver({ type: 'provider.chunk', now: sink.now(), chars: acc.chars, delta });
      if (this.ended) return;
    }
    if (this.ended) return;
    sink.deliver({ type: 'provider.done', now: sink.now(), output: acc.output(), ...usageOf(acc.usage) });
  }
}

function usageOf(usage: UsageData | undefined): { usage?: UsageData } {
  return usage === undefined ? {} : { usage };
}

function toOutput(response: ChatResponse): SessionOutputData {
  const out: { -readonly [K in keyof SessionOutputData]: SessionOutputData[K] } = {
    content: response.content ?? '',
  };
  if (response.reasoning) out.reasoning = response.reasoning;
  if (response.toolCalls && response.toolCalls.length > 0) out.toolCalls = response.toolCalls;
  if (response.finishReason !== undefined) out.finishReason = response.finishReason;
  return out;
}

/** Joins a stream's deltas into the answer the session ends with. */
export class StreamAccumulator {
  private content = '';
  private reasoning = '';
  private readonly tools = new ToolCallAssembler();
  usage: UsageData | undefined;
  private finishReason: string | undefined;

  get chars(): number {
    return this.content.length + this.reasoning.length;
  }

  add(delta: ChatDelta): void {
    switch (delta.type) {
      case 'content':
        this.content += delta.text;
        break;
      case 'reasoning':
        this.reasoning += delta.text;
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
    }
  }

  output(): SessionOutputData {
    const out: { -readonly [K in keyof SessionOutputData]: SessionOutputData[K] } = { content: this.content };
    if (this.reasoning) out.reasoning = this.reasoning;
    if (this.tools.size > 0) out.toolCalls = this.tools.calls();
    if (this.finishReason !== undefined) out.finishReason = this.finishReason;
    return out;
  }
}

function abortError(reason: string): Error {
  const error = new Error(`The session ended the provider call: ${reason}`);
  error.name = 'AbortError';
  return error;
}
