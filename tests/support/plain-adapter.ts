/**
 * A provider adapter as an adapter author writes one by hand: plain `fetch`, the signal passed
 * through, errors mapped to troupe's codes, SSE parsed line by line. Correct as written; each
 * `bug` plants one mistake adapter authors really make, so the contract suite can be shown to
 * reject it by the right property's name (tests/integration/testing/mutants.test.ts).
 */
import { providerError, TroupeError } from '../../src/core/errors.js';
import type {
  ChatDelta,
  ChatMessage,
  ChatProvider,
  ChatRequest,
  ChatResponse,
  TokenUsage,
} from '../../src/providers/port.js';
import { textWithin, withStall } from './idle-body.js';
import { retryAfterHeaderMs } from './retry-hint.js';

export type PlantedBug =
  /** fetch without the signal; nothing listens for the abort. */
  | 'ignores-signal'
  /** complete() is right; the stream reads on after an abort and ends quietly. */
  | 'stream-ignores-signal'
  /** Every fourth result is `{ text }` instead of `{ content }`. */
  | 'wrong-shape-1-in-4'
  /** Keeps the conversation by pushing the answer onto the caller's `messages`. */
  | 'pushes-onto-request'
  /** The body under construction lives on the adapter, and an await sits between build and send. */
  | 'shared-request-state'
  /** HTTP errors thrown as a plain `Error` (a 429 loses its code and its retry). */
  | 'plain-error'
  /** Logs each HTTP error to the logger it was given with the request it sent, headers and key included. */
  | 'logs-request'
  /** Writes each HTTP error to `console.warn` with the request's headers, key included. */
  | 'console-logs-request'
  /** A 409 (a lock timeout, the server's) mapped as a bad request, with every 4xx: never retried. */
  | 'conflict-as-bad-request'
  /** A 413 (a body too large for the server or a proxy) read as the model's window overflowing. */
  | 'too-large-as-overflow'
  /** Rejects at once on abort, but the request is never cancelled. */
  | 'rejects-without-cancelling'
  /** An aborted call resolves as an empty success. */
  | 'abort-resolves-empty'
  /** The stream never yields `finish` and yields `usage` twice. */
  | 'no-finish-repeated-usage'
  /** 429s mapped to RATE_LIMITED but `Retry-After` dropped. */
  | 'drops-retry-after'
  /** The server's error text copied into the message as it came (a careless server echoes the key). */
  | 'server-text-in-error'
  /** The server's error text cut short just before the key's end, not redacted: most of the key. */
  | 'key-cut-in-error'
  /** complete() never settles and stream() never yields or ends, whatever is asked. */
  | 'never-settles'
  /** `Retry-After` read as seconds only (`Number(header)`): an HTTP date is dropped. */
  | 'retry-after-seconds-only'
  /** The body is pumped into a queue eagerly; breaking out of `for await` leaves it running. */
  | 'eager-pump'
  /** A reset connection reported as BAD_RESPONSE (not retried). */
  | 'reset-as-bad-response'
  /** Tool-call fragments indexed by their position in the chunk, not their `index`. */
  | 'tool-index-by-position'
  /** `totalTokens` taken as the completion tokens only. */
  | 'usage-total-wrong'
  /** `finish` yielded when its chunk comes, before the usage chunk that follows it. */
  | 'finish-before-usage'
  /** Declares thinking but drops `reasoning_content`. */
  | 'drops-reasoning'
  /** Has a pushed `streamTo()` (which the runtime prefers) that drops the second content delta. */
  | 'stream-to-drops-delta'
  /** Has a pushed `streamTo()` that reads the stream under a signal of its own, never the caller's. */
  | 'stream-to-ignores-signal'
  /** Sends the request again after any HTTP error, a 400 too (retries belong to the runtime). */
  | 'retries-in-adapter'
  /** complete() drops the usage the server sent (budgets and costs then see nothing). */
  | 'drops-usage'
  /** Decodes each network read on its own: a multi-byte character cut across reads is garbled. */
  | 'decodes-each-read'
  /** Parses the events of each network read and drops what is left: an event cut across reads is lost. */
  | 'events-per-read'
  /** Passes `content: null` (OpenAI's answer beside tool calls) through as null, not ''. */
  | 'null-content'
  /** stream() reads the whole body before it yields its first delta. */
  | 'buffers-stream'
  /** stream() holds every delta back until the finish chunk comes, then yields them all. */
  | 'holds-until-finish'
  /** HTTP errors keep the request's headers, key included, deep in a context object (a JSON logger prints it). */
  | 'key-deep-in-error'
  /** Waits out a `Retry-After` and sends again, as an SDK with its own retries left on does. */
  | 'waits-out-retry-after'
  /** Waits out only a short `Retry-After` (3 s or less) and sends again, as an SDK does under its own cap. */
  | 'waits-out-short-retry-after'
  /** Asks for usage in the stream, then skips chunks with no choices (the one that carries it). */
  | 'skips-usage-chunk'
  /** complete() trims the answer's content. */
  | 'trims-content'
  /** Sends a model of its own, not `request.model` (the message says so). */
  | 'own-model'
  /** A connection cut in the middle of a stream ends it as a success (`finish: 'stop'`): a silent, truncated answer. */
  | 'swallows-mid-stream-reset'
  /** A body that ends cleanly before any finish_reason ends the stream as a whole answer: cut text taken for all of it. */
  | 'end-is-finish'
  /** The error carries the request behind a getter a JSON logger calls (`JSON.stringify`), `util.inspect` does not. */
  | 'key-behind-getter'
  /**
   * stream() passes the signal to fetch and counts on it to fail the next read, never checking it,
   * and reads no further than `[DONE]`: an abort after a body that came in one read, `[DONE]`
   * included, is never seen, and the stream ends as a whole answer.
   */
  | 'trusts-fetch-abort'
  /** Has a pushed `streamTo()` that does the same (stream() correct): it hands over a whole body however aborted. */
  | 'stream-to-trusts-fetch-abort'
  /** stream() reads no further than `[DONE]` and checks its signal there, but fails the abort as a cut stream: `NETWORK`, retryable. */
  | 'late-abort-as-network'
  /** An aborted call's `CANCELLED` error names the request it ended, headers and key included. */
  | 'key-in-cancel-error'
  /** A body that ends without `[DONE]` leaves the stream waiting for it, until the caller aborts. */
  | 'waits-for-done'
  /** Takes a chunk's `finish_reason` and skips the rest of that chunk: its delta, and usage sent there. */
  | 'skips-rest-of-finish-chunk'
  /** Reports the cache hits, and takes them out of the prompt's count (they were billed apart). */
  | 'prompt-minus-cached'
  /** Reads every HTTP error's body as JSON: a proxy's HTML error page fails the parse, as BAD_RESPONSE. */
  | 'json-error-body'
  /**
   * Parses SSE as one server writes it: events cut at `\n\n`, the data after `data: ` at the
   * event's start. CRLF line ends, `data:` without its space and comment lines are lost.
   */
  | 'naive-sse'
  /** One `TextDecoder` for all the adapter's streams: a character cut across reads of calls at once is garbled. */
  | 'shared-decoder'
  /** One SSE line buffer for all the adapter's streams: an event cut across reads of calls at once is mixed with another's. */
  | 'shared-sse-buffer'
  /** Leaves `stop` out of the body. */
  | 'drops-stop'
  /** Leaves `top_p` out of the body (the adapter as written did until 2026-12-05, and passed). */
  | 'drops-top-p'
  /** Leaves `tool_choice` out of the body (as `top_p`, until 2026-12-05). */
  | 'drops-tool-choice'
  /** Spreads `extra` after the typed fields: a caller's `extra.max_tokens` wins over its `max_tokens`. */
  | 'extra-over-typed'
  /** Sends the history's tool calls as `{ type, function }`, the shape of a tool definition: their ids lost. */
  | 'drops-tool-call-ids'
  /** Sends each message as `{ role, content }`: names, `tool_call_id`, tool calls and reasoning lost. */
  | 'role-content-only'
  /** Sends a tool message as OpenAI's type for it has it, `{ role, tool_call_id, content }`: its `name` lost. */
  | 'tool-message-openai-shape'
  /** Never sends `extra` (`response_format`, `seed`, a vendor's own fields). */
  | 'drops-extra'
  /** Builds every body with `stream_options`, a `complete()` too (OpenAI refuses it without `stream: true`). */
  | 'stream-options-always'
  /** Sends `temperature` as text ("0.5"), as read from a form or an environment variable. */
  | 'temperature-as-string'
  /** Sends `temperature` only when it is truthy (`request.temperature && ...`): 0, greedy decoding, is lost. */
  | 'falsy-temperature'
  /** Sends only the first of several stop words. */
  | 'first-stop-word'
  /** Sends the history's tool calls without their `function.arguments`. */
  | 'drops-tool-arguments'
  /** Sends the history's tool-call arguments parsed, as an object, not the JSON text the format carries. */
  | 'arguments-as-object'
  /** Moves every system message to the front of the history. */
  | 'system-first'
  /** Joins consecutive user messages into one (as for an API that wants roles to alternate). */
  | 'merges-user-turns'
  /** Sends each tool's definition as `{ name, description }`, its `parameters` lost. */
  | 'strips-tool-parameters'
  /** Asks for two choices (`n: 2`) and reads the first: twice the tokens billed. */
  | 'asks-for-two-choices'
  /** Puts the first system message in front as "the system prompt" and leaves it in the history too. */
  | 'duplicates-system-prompt'
  /** A stream ended by `[DONE]` with no finish_reason ends with `finish: 'stop'`, a reason the server never gave. */
  | 'no-finish-as-stop'
  /** complete() notes the credential it sent (`notes: ['sent with Bearer sk-...']`), for debugging. */
  | 'key-in-notes'
  /** The stream's last `note` names the credential it sent, for debugging. */
  | 'key-in-note-delta'
  /** Has a pushed `streamTo()` that resolves at once and pushes the stream's deltas after. */
  | 'stream-to-resolves-early'
  /** complete() reads the body whole with no bound between its bytes: `idleTimeoutMs` is ignored. */
  | 'ignores-idle-timeout';

export interface PlainAdapterOptions {
  readonly name?: string;
  readonly baseURL: string;
  readonly apiKey: string;
  readonly bug?: PlantedBug;
  /** Where it logs its HTTP errors (status and the server's message, never the request). @default none */
  readonly logger?: { warn(fields: Record<string, unknown>, message: string): void };
}

export function createPlainAdapter(options: PlainAdapterOptions): ChatProvider {
  const { baseURL, apiKey, bug } = options;
  const name = options.name ?? (bug === undefined ? 'plain-fetch' : `mutant:${bug}`);
  let results = 0;
  const shared: { body?: string; decoder: TextDecoder; text: { buffer: string } } = {
    decoder: new TextDecoder(),
    text: { buffer: '' },
  };

  async function send(request: ChatRequest, stream: boolean, signal: AbortSignal): Promise<Response> {
    const body = JSON.stringify(toBody(request, stream, bug));
    let payload = body;
    if (bug === 'shared-request-state') {
      shared.body = body;
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 10)); // "refresh the token"
      payload = shared.body;
    }
    const init: RequestInit = {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` },
      body: payload,
    };
    const passSignal =
      bug !== 'ignores-signal' &&
      bug !== 'rejects-without-cancelling' &&
      !(stream && bug === 'stream-ignores-signal');
    if (passSignal) init.signal = signal;
    let response: Response;
    try {
      response = await fetch(`${baseURL}/chat/completions`, init);
      const wait = Number(response.headers.get('retry-after'));
      const waits = bug === 'waits-out-retry-after' || (bug === 'waits-out-short-retry-after' && wait <= 3);
      if (!response.ok && waits && wait > 0) {
        await response.body?.cancel();
        await new Promise((resolve) => setTimeout(resolve, wait * 1000));
        response = await fetch(`${baseURL}/chat/completions`, init);
      }
      if (!response.ok && bug === 'retries-in-adapter') {
        await response.body?.cancel();
        response = await fetch(`${baseURL}/chat/completions`, init);
      }
    } catch (error) {
      throw mapError(error, signal);
    }
    if (!response.ok) {
      const error = await httpError(response);
      const fields = { status: response.status, error: error.message };
      // The request as sent, key and all: what a debugging line left in ships with.
      const sent = { ...fields, request: { url: `${baseURL}/chat/completions`, headers: init.headers } };
      options.logger?.warn(bug === 'logs-request' ? sent : fields, `${name}: HTTP error`);
      if (bug === 'console-logs-request') console.warn(`${name}: HTTP error`, sent);
      throw error;
    }
    const type = response.headers.get('content-type') ?? '';
    const wanted = stream ? 'text/event-stream' : 'application/json';
    if (!type.includes(wanted)) {
      await response.body?.cancel();
      throw providerError(
        'BAD_RESPONSE',
        `${name}: Expected content type ${wanted}, got ${type || '(none)'}`,
      );
    }
    return response;
  }

  async function httpError(response: Response): Promise<Error> {
    const text = await response.text().catch(() => '');
    if (bug === 'plain-error') return new Error(`HTTP ${response.status}: ${text}`);
    if (bug === 'json-error-body' && !text.trimStart().startsWith('{'))
      return providerError('BAD_RESPONSE', `${name}: Expected a JSON error body, got unparseable text`);
    let detail = '';
    try {
      detail = String((JSON.parse(text) as { error?: { message?: string } }).error?.message ?? '');
    } catch {}
    // The echo cut short, where the key's last three characters fall past the cut (as a message
    // cut at a fixed length cuts it), and not redacted: what is left is most of the key.
    if (bug === 'key-cut-in-error' && detail.includes(apiKey))
      detail = detail.slice(0, detail.indexOf(apiKey) + apiKey.length - 3);
    else if (bug !== 'server-text-in-error') detail = detail.split(apiKey).join('[redacted]');
    const status = response.status;
    // 408 and 409 are the server's (a timeout, a lock timeout), retried as 5xx (docs/providers.md).
    const serverSide =
      status >= 500 || status === 408 || (status === 409 && bug !== 'conflict-as-bad-request');
    const code =
      status === 401 || status === 403
        ? 'AUTH_FAILED'
        : status === 404
          ? 'MODEL_NOT_FOUND'
          : status === 429
            ? 'RATE_LIMITED'
            : serverSide
              ? 'PROVIDER_UNAVAILABLE'
              : status === 413 && bug === 'too-large-as-overflow'
                ? 'CONTEXT_TOO_LONG'
                : 'INVALID_REQUEST';
    const header = response.headers.get('retry-after');
    const retryAfterMs =
      bug === 'retry-after-seconds-only' ? Number(header ?? Number.NaN) * 1000 : retryAfterHeaderMs(header);
    const retry = Number.isFinite(retryAfterMs) && bug !== 'drops-retry-after' ? { retryAfterMs } : {};
    const error = providerError(code, `${name}: HTTP ${status} ${detail}`, { status, ...retry });
    if (bug === 'key-deep-in-error')
      Object.assign(error, {
        context: {
          call: {
            attempt: { http: { request: { init: { headers: { authorization: `Bearer ${apiKey}` } } } } },
          },
        },
      });
    if (bug === 'key-behind-getter')
      Object.defineProperty(error, 'request', {
        enumerable: true,
        // A getter: util.inspect shows `[Getter]`, JSON.stringify shows what it returns.
        get: () => ({ headers: { authorization: `Bearer ${apiKey}` } }),
      });
    return error;
  }

  function mapError(error: unknown, signal: AbortSignal): Error {
    if (error instanceof TroupeError) return error;
    if (bug === 'plain-error' && error instanceof Error && error.message.startsWith('HTTP ')) return error;
    if (signal.aborted) {
      const cancelled = providerError('CANCELLED', `${name}: Expected the call to finish, got an abort`, {
        cause: error,
      });
      if (bug === 'key-in-cancel-error')
        Object.assign(cancelled, { request: { headers: { authorization: `Bearer ${apiKey}` } } });
      return cancelled;
    }
    if (error instanceof SyntaxError)
      return providerError('BAD_RESPONSE', `${name}: Expected JSON, got unparseable text`);
    if (error instanceof TypeError && bug !== 'reset-as-bad-response')
      return providerError('NETWORK', `${name}: connection failed (${error.message})`);
    return providerError('BAD_RESPONSE', `${name}: unexpected failure`, { cause: error });
  }

  async function complete(
    request: ChatRequest,
    { signal, idleTimeoutMs }: { signal: AbortSignal; idleTimeoutMs?: number },
  ): Promise<ChatResponse> {
    const idleMs = bug === 'ignores-idle-timeout' ? undefined : idleTimeoutMs;
    if (bug === 'rejects-without-cancelling') return raceAbort(completeOnce(request, signal, idleMs), signal);
    return completeOnce(request, signal, idleMs);
  }

  async function completeOnce(
    request: ChatRequest,
    signal: AbortSignal,
    idleMs: number | undefined,
  ): Promise<ChatResponse> {
    // The body is held to `idleMs` between its bytes: a stall aborts the request (`idle-body.ts`).
    const call = withStall(signal);
    try {
      const response = await send(request, false, call.signal);
      const json = JSON.parse(await textWithin(response, idleMs, call.stalled, name)) as WireCompletion;
      let result = fromCompletion(json, bug);
      if (bug === 'key-in-notes') result = { ...result, notes: [`sent with Bearer ${apiKey}`] };
      if (bug === 'pushes-onto-request')
        (request.messages as ChatMessage[]).push({ role: 'assistant', content: result.content });
      results += 1;
      if (bug === 'wrong-shape-1-in-4' && results % 4 === 0)
        return { text: result.content } as unknown as ChatResponse;
      return result;
    } catch (error) {
      if (bug === 'abort-resolves-empty' && signal.aborted) return { content: '' };
      throw mapError(error, signal);
    }
  }

  async function* stream(request: ChatRequest, options: { signal: AbortSignal }): AsyncGenerator<ChatDelta> {
    if (bug !== 'buffers-stream') return yield* streamed(request, options, bug === 'trusts-fetch-abort');
    const all: ChatDelta[] = [];
    for await (const delta of streamed(request, options)) all.push(delta);
    yield* all;
  }

  /** `trustsFetch`: the signal is never checked once fetch has it, and `[DONE]` ends the reading (`trusts-fetch-abort`). */
  async function* streamed(
    request: ChatRequest,
    { signal }: { signal: AbortSignal },
    trustsFetch = false,
  ): AsyncGenerator<ChatDelta> {
    const response = await send(request, true, signal);
    const body = response.body as ReadableStream<Uint8Array>;
    const stopsAtDone = trustsFetch || bug === 'late-abort-as-network';
    const chunks: AsyncIterable<Uint8Array> =
      bug === 'eager-pump'
        ? pumped(body)
        : stopsAtDone
          ? readerChunks(body)
          : (body as unknown as AsyncIterable<Uint8Array>);
    const decoder = bug === 'shared-decoder' ? shared.decoder : new TextDecoder();
    // What is left of the reads so far, the next event's start: the stream's own, but for one bug.
    const text = bug === 'shared-sse-buffer' ? shared.text : { buffer: '' };
    let finish: string | undefined;
    let sawDone = false;
    const held: ChatDelta[] = [];
    try {
      reading: for await (const bytes of chunks) {
        if (bug === 'decodes-each-read') text.buffer += new TextDecoder().decode(bytes);
        else if (bug === 'events-per-read') text.buffer = decoder.decode(bytes, { stream: true });
        else text.buffer += decoder.decode(bytes, { stream: true });
        const naive = bug === 'naive-sse';
        let cut = nextEvent(text.buffer, naive);
        while (cut !== undefined) {
          const event = text.buffer.slice(0, cut.at);
          text.buffer = text.buffer.slice(cut.at + cut.length);
          cut = nextEvent(text.buffer, naive);
          const data = naive ? (event.startsWith('data: ') ? event.slice(6) : '') : dataOf(event);
          if (data === '[DONE]') sawDone = true;
          // `[DONE]` ends the answer: what follows it is not read (nor is the abort fetch would report there).
          if (sawDone && stopsAtDone) break reading;
          if (data === '' || data === '[DONE]') continue;
          const chunk = JSON.parse(data) as WireChunk;
          const choice = chunk.choices?.[0];
          if (bug === 'skips-usage-chunk' && choice === undefined) continue;
          if (bug === 'skips-rest-of-finish-chunk' && choice?.finish_reason) {
            finish = choice.finish_reason;
            continue;
          }
          const delta = choice?.delta ?? {};
          // This chunk's deltas; `holds-until-finish` keeps them until the finish chunk.
          const out: ChatDelta[] = [];
          if (delta.reasoning_content && bug !== 'drops-reasoning')
            out.push({ type: 'reasoning', text: delta.reasoning_content });
          if (delta.content) out.push({ type: 'content', text: delta.content });
          for (const [position, call] of (delta.tool_calls ?? []).entries()) {
            const fragment: {
              type: 'tool_call';
              index: number;
              id?: string;
              name?: string;
              arguments?: string;
            } = {
              type: 'tool_call',
              index: bug === 'tool-index-by-position' ? position : (call.index ?? position),
            };
            if (call.id !== undefined) fragment.id = call.id;
            if (call.function?.name !== undefined) fragment.name = call.function.name;
            if (call.function?.arguments !== undefined) fragment.arguments = call.function.arguments;
            out.push(fragment);
          }
          if (bug === 'holds-until-finish' && !choice?.finish_reason) held.push(...out);
          else yield* [...held.splice(0), ...out];
          if (choice?.finish_reason) {
            finish = choice.finish_reason;
            if (bug === 'finish-before-usage') yield { type: 'finish', reason: finish };
          }
          if (chunk.usage) {
            const usage = toUsage(chunk.usage, bug);
            yield { type: 'usage', usage };
            if (bug === 'no-finish-repeated-usage') yield { type: 'usage', usage };
          }
        }
      }
      if (!sawDone && bug === 'waits-for-done')
        await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
      if (signal.aborted && bug === 'late-abort-as-network')
        throw providerError('NETWORK', `${name}: Expected the stream to end, got it cut`);
      if (signal.aborted && bug !== 'stream-ignores-signal' && !trustsFetch) throw signal.reason;
      // No chunk said why the answer ended, nor the server `[DONE]`: the body was cut, however cleanly it closed.
      const cut = !sawDone;
      if (finish === undefined && cut && bug !== 'end-is-finish')
        throw providerError(
          'NETWORK',
          `${name}: Expected a finish_reason before the end of the stream, got none`,
        );
      // `[DONE]` and no finish_reason: a whole answer whose reason the server did not give.
      if (finish === undefined && sawDone) {
        if (bug === 'no-finish-as-stop') finish = 'stop';
        else yield { type: 'note', text: 'the server sent [DONE] but no finish_reason' };
      }
      if (bug === 'key-in-note-delta') yield { type: 'note', text: `sent with Bearer ${apiKey}` };
      if (finish !== undefined && bug !== 'no-finish-repeated-usage' && bug !== 'finish-before-usage')
        yield { type: 'finish', reason: finish };
    } catch (error) {
      if (bug === 'swallows-mid-stream-reset' && !signal.aborted && error instanceof TypeError) {
        yield { type: 'finish', reason: 'stop' };
        return;
      }
      throw mapError(error, signal);
    } finally {
      if (bug !== 'eager-pump') await body.cancel().catch(() => {});
    }
  }

  const adapter: ChatProvider = { name, complete, stream };
  if (bug === 'never-settles') {
    // Sends nothing, and neither settles nor ends: not even its signal is heard.
    adapter.complete = () => new Promise<ChatResponse>(() => {});
    adapter.stream = () => ({ [Symbol.asyncIterator]: () => ({ next: () => new Promise(() => {}) }) });
  }
  if (bug === 'stream-to-trusts-fetch-abort') {
    adapter.streamTo = async (request, options, onDelta) => {
      for await (const delta of streamed(request, options, true)) onDelta(delta);
    };
  }
  if (bug === 'stream-to-resolves-early') {
    adapter.streamTo = async (request, options, onDelta) => {
      void (async () => {
        for await (const delta of stream(request, options)) onDelta(delta);
      })().catch(() => {});
    };
  }
  if (bug === 'stream-to-drops-delta' || bug === 'stream-to-ignores-signal') {
    adapter.streamTo = async (request, { signal }, onDelta) => {
      const own = bug === 'stream-to-ignores-signal' ? new AbortController().signal : signal;
      let contents = 0;
      for await (const delta of stream(request, { signal: own })) {
        if (delta.type === 'content' && ++contents === 2 && bug === 'stream-to-drops-delta') continue;
        onDelta(delta);
      }
    };
  }
  return adapter;
}

/**
 * Where the buffer's first whole event ends: at a blank line, whatever the server's line ends
 * (CRLF, LF or CR, as the SSE spec allows); `naive`, only at `\n\n`.
 */
function nextEvent(buffer: string, naive: boolean): { at: number; length: number } | undefined {
  const blank = (naive ? /\n\n/ : /\r\n\r\n|\n\n|\r\r/).exec(buffer);
  return blank === null ? undefined : { at: blank.index, length: blank[0].length };
}

/** An event's data, as the SSE spec reads it: its `data:` lines (one space after the colon dropped), joined; comments and other fields skipped. */
function dataOf(event: string): string {
  return event
    .split(/\r\n|\n|\r/)
    .filter((line) => line.startsWith('data:'))
    .map((line) => line.slice(line.startsWith('data: ') ? 6 : 5))
    .join('\n');
}

/** Settles with the abort at once, and leaves the work (and its connection) running. */
function raceAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  promise.catch(() => {});
  return new Promise<T>((resolve, reject) => {
    const cancelled = () => reject(providerError('CANCELLED', 'Expected the call to finish, got an abort'));
    if (signal.aborted) return cancelled();
    signal.addEventListener('abort', cancelled, { once: true });
    promise.then(resolve, reject);
  });
}

/** The body's reads, by hand: leaving early releases the reader, and cancels nothing. */
async function* readerChunks(body: ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array> {
  const reader = body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      yield value;
    }
  } finally {
    reader.releaseLock();
  }
}

/** Reads the whole body into a queue as fast as it comes, whatever the consumer does. */
async function* pumped(body: ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array> {
  const queue: Uint8Array[] = [];
  let done = false;
  let failed: unknown;
  let wake = () => {};
  void (async () => {
    try {
      for await (const bytes of body as unknown as AsyncIterable<Uint8Array>) {
        queue.push(bytes);
        wake();
      }
    } catch (error) {
      failed = error;
    }
    done = true;
    wake();
  })();
  for (;;) {
    if (queue.length > 0) yield queue.shift() as Uint8Array;
    else if (failed !== undefined) throw failed;
    else if (done) return;
    else await new Promise<void>((resolve) => (wake = resolve));
  }
}

interface WireCompletion {
  choices?: {
    message?: { content?: string | null; reasoning_content?: string; tool_calls?: WireToolCall[] };
    finish_reason?: string;
  }[];
  usage?: WireUsage;
  model?: string;
}
interface WireToolCall {
  index?: number;
  id?: string;
  function?: { name?: string; arguments?: string };
}
interface WireChunk {
  choices?: {
    delta?: { content?: string; reasoning_content?: string; tool_calls?: WireToolCall[] };
    finish_reason?: string | null;
  }[];
  usage?: WireUsage;
}
interface WireUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens?: number;
  cached_tokens?: number;
  prompt_tokens_details?: { cached_tokens?: number };
}

function toUsage(usage: WireUsage, bug: PlantedBug | undefined): TokenUsage {
  const total = usage.total_tokens ?? usage.prompt_tokens + usage.completion_tokens;
  // Cache hits where OpenAI and GLM put them, or Moonshot; 0 when the server sent none.
  const cachedTokens = usage.cached_tokens ?? usage.prompt_tokens_details?.cached_tokens ?? 0;
  if (bug === 'prompt-minus-cached')
    return {
      promptTokens: usage.prompt_tokens - cachedTokens,
      completionTokens: usage.completion_tokens,
      totalTokens: total - cachedTokens,
      cachedTokens,
    };
  return {
    promptTokens: usage.prompt_tokens,
    completionTokens: usage.completion_tokens,
    totalTokens: bug === 'usage-total-wrong' ? usage.completion_tokens : total,
    cachedTokens,
  };
}

function fromCompletion(json: WireCompletion, bug: PlantedBug | undefined): ChatResponse {
  const choice = json.choices?.[0];
  if (choice?.message === undefined)
    throw providerError('BAD_RESPONSE', 'Expected choices[0].message, got none');
  const message = choice.message;
  const response: { -readonly [K in keyof ChatResponse]: ChatResponse[K] } = {
    content: bug === 'null-content' ? (message.content as string) : (message.content ?? ''),
  };
  if (bug === 'trims-content') response.content = response.content.trim();
  if (message.reasoning_content) response.reasoning = message.reasoning_content;
  if (message.tool_calls?.length)
    response.toolCalls = message.tool_calls.map((call, i) => ({
      id: call.id ?? `call_${i}`,
      type: 'function' as const,
      function: { name: call.function?.name ?? '', arguments: call.function?.arguments ?? '' },
    }));
  if (json.usage && bug !== 'drops-usage') response.usage = toUsage(json.usage, bug);
  if (choice.finish_reason) response.finishReason = choice.finish_reason;
  return response;
}

function toBody(request: ChatRequest, stream: boolean, bug?: PlantedBug): Record<string, unknown> {
  const messages: ChatMessage[] = [
    ...(request.files ?? []).map((file) => ({
      role: 'system' as const,
      content: `File: ${file.name}\n\n${typeof file.data === 'string' ? file.data : new TextDecoder().decode(file.data)}`,
    })),
    ...historyOf(request.messages, bug).map((message) => toWireMessage(message, bug)),
  ];
  const system = request.messages.find((message) => message.role === 'system');
  if (bug === 'duplicates-system-prompt' && system !== undefined) messages.unshift(system);
  const typed = {
    model: bug === 'own-model' ? 'gpt-4o' : request.model,
    messages,
    ...(request.tools === undefined
      ? {}
      : {
          tools:
            bug === 'strips-tool-parameters'
              ? request.tools.map(({ type, function: fn }) => ({
                  type,
                  function: { name: fn?.name, description: fn?.description },
                }))
              : request.tools,
        }),
    ...(request.tool_choice === undefined || bug === 'drops-tool-choice'
      ? {}
      : { tool_choice: request.tool_choice }),
    ...(request.temperature === undefined || (bug === 'falsy-temperature' && !request.temperature)
      ? {}
      : { temperature: bug === 'temperature-as-string' ? String(request.temperature) : request.temperature }),
    ...(request.top_p === undefined || bug === 'drops-top-p' ? {} : { top_p: request.top_p }),
    ...(request.max_tokens === undefined ? {} : { max_tokens: request.max_tokens }),
    ...(request.stop === undefined || bug === 'drops-stop'
      ? {}
      : { stop: bug === 'first-stop-word' && Array.isArray(request.stop) ? request.stop[0] : request.stop }),
    ...(bug === 'asks-for-two-choices' ? { n: 2 } : {}),
    ...(request.thinking === undefined ? {} : { thinking: { type: request.thinking } }),
    ...(stream ? { stream: true } : {}),
    ...(stream || bug === 'stream-options-always' ? { stream_options: { include_usage: true } } : {}),
  };
  const extra = bug === 'drops-extra' ? {} : (request.extra ?? {});
  return bug === 'extra-over-typed' ? { ...typed, ...extra } : { ...extra, ...typed };
}

/** The history in the order and number it is sent (as given, but for the bugs that move or merge turns). */
function historyOf(messages: readonly ChatMessage[], bug: PlantedBug | undefined): readonly ChatMessage[] {
  if (bug === 'system-first')
    return [...messages.filter((m) => m.role === 'system'), ...messages.filter((m) => m.role !== 'system')];
  if (bug !== 'merges-user-turns') return messages;
  const merged: ChatMessage[] = [];
  for (const message of messages) {
    const last = merged.at(-1);
    if (last?.role === 'user' && message.role === 'user')
      merged[merged.length - 1] = { ...last, content: `${last.content ?? ''}\n${message.content ?? ''}` };
    else merged.push(message);
  }
  return merged;
}

function toWireMessage(message: ChatMessage, bug: PlantedBug | undefined): ChatMessage {
  if (bug === 'role-content-only') return { role: message.role, content: message.content };
  if (bug === 'tool-message-openai-shape' && message.role === 'tool')
    return { role: 'tool', tool_call_id: message.tool_call_id, content: message.content };
  if ((bug === 'drops-tool-arguments' || bug === 'arguments-as-object') && message.tool_calls !== undefined) {
    const calls = message.tool_calls.map((call) => ({
      ...call,
      function:
        bug === 'drops-tool-arguments'
          ? { name: call.function.name }
          : { name: call.function.name, arguments: JSON.parse(call.function.arguments) as unknown },
    }));
    return { ...message, tool_calls: calls as unknown as ChatMessage['tool_calls'] };
  }
  if (bug !== 'drops-tool-call-ids' || message.tool_calls === undefined) return message;
  const calls = message.tool_calls.map((call) => ({ type: call.type, function: call.function }));
  return { ...message, tool_calls: calls as unknown as ChatMessage['tool_calls'] };
}
