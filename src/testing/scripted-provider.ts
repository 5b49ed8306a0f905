/**
 * A provider whose calls wait until the test settles them: the model-based tests decide when each
 * call answers, fails or hangs, and can see every call's signal afterwards.
 */
import { providerError } from '../core/errors.js';
import type { CallOptions, ChatDelta, ChatProvider, ChatRequest, ChatResponse } from '../providers/port.js';

/**
 * How a call ends: answered, `PROVIDER_UNAVAILABLE` (503), `AUTH_FAILED` (401), `partial` (a
 * stream sends one delta and then fails with `NETWORK`; a call that does not stream just fails so),
 * or `rateLimited`: a 429 with a hint, `Retry-After: 0.5` (`retryAfterMs` 500, or the one given).
 */
export type Settlement = 'ok' | 'retryable' | 'fatal' | 'partial' | 'rateLimited';

/** The delta a `partial` stream sends before it fails. */
const PARTIAL = Symbol('partial');

export interface ScriptedCall {
  readonly id: number;
  readonly request: ChatRequest;
  readonly signal: AbortSignal;
  settled: boolean;
  /** `retryAfterMs`: a `rateLimited` answer's hint, `null` for none. @default 500 */
  settle(outcome: Settlement, retryAfterMs?: number | null): void;
}

export class ScriptedProvider implements ChatProvider {
  readonly calls: ScriptedCall[] = [];
  private nextId = 0;

  constructor(readonly name: string) {}

  /** Calls not yet settled nor aborted. */
  pending(): ScriptedCall[] {
    return this.calls.filter((c) => !c.settled && !c.signal.aborted);
  }

  complete(request: ChatRequest, { signal }: CallOptions): Promise<ChatResponse> {
    return new Promise<ChatResponse>((resolve, reject) => {
      const call: ScriptedCall = {
        id: this.nextId++,
        request,
        signal,
        settled: false,
        settle: (outcome, retryAfterMs: number | null = 500) => {
          if (call.settled) return;
          call.settled = true;
          signal.removeEventListener('abort', onAbort);
          if (outcome === 'ok')
            resolve({
              content: `answer ${call.id}`,
              usage: { promptTokens: 1, completionTokens: 2, totalTokens: 3 },
            });
          else if (outcome === 'rateLimited')
            reject(
              providerError('RATE_LIMITED', 'Expected a completion, got 429', {
                status: 429,
                ...(retryAfterMs === null ? {} : { retryAfterMs }),
              }),
            );
          else if (outcome === 'retryable')
            reject(providerError('PROVIDER_UNAVAILABLE', 'Expected a completion, got 503', { status: 503 }));
          else if (outcome === 'partial')
            reject(
              Object.assign(providerError('NETWORK', 'Expected the stream to go on, got a reset'), {
                [PARTIAL]: `partial ${call.id}`,
              }),
            );
          else
            reject(providerError('AUTH_FAILED', 'Expected the key to be accepted, got 401', { status: 401 }));
        },
      };
      const onAbort = () => {
        if (call.settled) return;
        call.settled = true;
        reject(providerError('CANCELLED', 'Expected the call to finish, got an abort'));
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.calls.push(call);
    });
  }

  async *stream(request: ChatRequest, options: CallOptions): AsyncIterable<ChatDelta> {
    let response: ChatResponse;
    try {
      response = await this.complete(request, options);
    } catch (error) {
      const partial = (error as { [PARTIAL]?: string })[PARTIAL];
      if (partial !== undefined) yield { type: 'content', text: partial };
      throw error;
    }
    yield { type: 'content', text: response.content };
  }
}
