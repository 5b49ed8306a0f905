/**
 * Fault directives for the local OpenAI-compatible server, chosen per request by the MODEL NAME,
 * so one scheme works through every layer (adapter, registry with open models, runtime, CLI):
 *
 *   fault:<mode>[:<key>=<value>]...
 *
 * Modes:
 *   ok           answer normally (use with `latency`)
 *   hang         read the request, never send headers
 *   stall        send headers and `after` stream chunks (or half a JSON body), then nothing
 *   <status>     e.g. `429`, `500`, `503`, `401`, `404`, `400`: an error response with a JSON body
 *   reset        destroy the socket before any response
 *   reset-mid    send headers and `after` chunks, then destroy the socket
 *   truncate     send headers and `after` stream chunks (or half a JSON body), then end the body
 *                cleanly: no finish chunk, no `[DONE]`, as a proxy that closes a stream early does
 *                (with `after` past the last chunk: every chunk, finish included, and no `[DONE]`)
 *   bad-json     200 `application/json` with a truncated body
 *   bad-sse      200 `text/event-stream` with one good chunk, then `data: {not json`
 *   wrong-type   200 `text/html`
 *   empty        200 `application/json` with an empty body
 *   oversized    200 `application/json`, chunked, its content `bytes` long (default 2 MiB)
 *   oversized-sse  a streamed request: 200 `text/event-stream`, content chunks of 16 KiB until `bytes`
 *                  are sent (a whole request is answered as `oversized`)
 *
 * Keys:
 *   latency=MS          wait before answering (any mode)
 *   retry-after=V       `Retry-After` header value (seconds or an HTTP date)
 *   retry-after-ms=MS   `retry-after-ms` header
 *   reset-requests=V    `x-ratelimit-reset-requests` header (e.g. `1s`, `20ms`)
 *   should-retry=V      `x-should-retry` header (the openai SDK obeys `true` and `false`)
 *   after=N             chunks before `stall` / `reset-mid` / `truncate` / `bad-sse` act (default 2)
 *   chunk-ms=MS         delay between stream chunks (default 0); with `split`, between the pieces
 *                       of a whole answer too (an `ok` one: a slow but steady body)
 *   end-ms=MS           delay after a stream's last chunk, before `[DONE]` and the end (default 0)
 *   split=N             send a stream's bytes N at a time, each write its own read for the client:
 *                       events and multi-byte characters cut across reads, as proxies and
 *                       compressing gateways deliver them (default 0: one write per event)
 *   bytes=N             size for `oversized` and `oversized-sse`
 *   first=N             only the first N requests with this exact model string fault; later ones are `ok`
 *   echo-auth=1         error bodies quote the received Authorization header (a careless server)
 *   echo-headers=1      error bodies quote every received header, Authorization included (a
 *                       gateway that dumps the request)
 *   html=1              error responses (`<status>` modes) as an HTML page, `text/html`, as a proxy or
 *                       a load balancer in front of the API sends them (nginx's 502, a CDN's 429)
 *   no-sse=1            answer a streamed request with one whole JSON completion (some servers do)
 *   no-finish=1         no `finish_reason` anywhere (some servers leave it out): a stream with no
 *                       finish chunk, every chunk's `finish_reason` null, then `[DONE]`; a whole
 *                       answer with `finish_reason: null` (an adapter reports no reason, with a note
 *                       on a stream, rather than invent `stop`; the vendor modes too, their last
 *                       chunk keeping its usage)
 *   one-write=1         a stream's whole body, every chunk and `[DONE]`, in one write that ends the
 *                       response, so the client's first read holds all of it, as from a gateway
 *                       that buffers an answer before sending it (`chunk-ms`, `end-ms` and `split`
 *                       do not apply; with `stall`, `reset-mid`, `truncate` or `bad-sse` the chunks
 *                       before the fault go in one write, then the fault acts)
 *   last-in-finish=1    a stream's last piece (content, or a tool call's last fragment) goes in the
 *                       chunk that carries `finish_reason`, and the usage asked for with
 *                       `stream_options.include_usage` in that chunk too, at its top level (the chunk
 *                       schema allows both; GLM sends its usage there), not in a chunk of its own
 *                       (the vendor modes move the last piece beside the usage they send there)
 *   sse=STYLE           how a stream's events are written, each as the SSE spec allows: `crlf` (CRLF
 *                       line ends), `compact` (`data:{...}`, no space after the colon), `comments`
 *                       (comment lines, `: keep-alive`, between the events and inside them)
 *                       (default: `data: {...}` and LF line ends)
 *   tag=ANY             ignored; makes a model string unique so `first` counters do not collide
 *
 * Any other model name is answered normally. Node built-ins only: this ships as `troupe/testing`.
 */

export type FaultMode =
  | 'ok'
  | 'hang'
  | 'stall'
  | 'status'
  | 'reset'
  | 'reset-mid'
  | 'truncate'
  | 'bad-json'
  | 'bad-sse'
  | 'wrong-type'
  | 'empty'
  | 'oversized'
  | 'oversized-sse';

/** How a stream's events are written (`sse=`): `plain` is `data: {...}` with LF line ends. */
export const SSE_STYLES = ['plain', 'crlf', 'compact', 'comments'] as const;
export type SseStyle = (typeof SSE_STYLES)[number];

export interface Fault {
  readonly mode: FaultMode;
  /** For `status`. */
  readonly status?: number;
  readonly latencyMs: number;
  readonly chunkDelayMs: number;
  /** For streams: the wait after the last chunk, before `[DONE]`. */
  readonly endDelayMs: number;
  /** For streams: bytes per write (0: one write per event). */
  readonly splitBytes: number;
  /** Chunks sent before `stall`, `reset-mid`, `truncate` or `bad-sse` act. */
  readonly after: number;
  readonly bytes: number;
  readonly first?: number;
  readonly echoAuth: boolean;
  readonly echoHeaders: boolean;
  /** Error responses as an HTML page, not a JSON body. */
  readonly html: boolean;
  readonly noSse: boolean;
  /** No chunk carries a `finish_reason` (a whole answer's is null). */
  readonly noFinish: boolean;
  /** For streams: the whole body in one write, ending the response. */
  readonly oneWrite: boolean;
  /** For streams: the last piece and the usage go in the finish chunk. */
  readonly lastInFinish: boolean;
  /** For streams: how the events are written (`sse=`). */
  readonly sse: SseStyle;
  /** Response headers to add (retry hints). */
  readonly headers: Readonly<Record<string, string>>;
}

const MODES: ReadonlySet<string> = new Set([
  'ok',
  'hang',
  'stall',
  'reset',
  'reset-mid',
  'truncate',
  'bad-json',
  'bad-sse',
  'wrong-type',
  'empty',
  'oversized',
  'oversized-sse',
]);

/** Keys whose value is a whole number (ms, bytes, chunks, requests). */
const NUMERIC_KEYS: ReadonlySet<string> = new Set([
  'latency',
  'chunk-ms',
  'end-ms',
  'split',
  'after',
  'bytes',
  'first',
]);

/** Keys that switch a behaviour on (`1`) or off (`0`). */
const FLAG_KEYS: ReadonlySet<string> = new Set([
  'echo-auth',
  'echo-headers',
  'html',
  'no-sse',
  'no-finish',
  'one-write',
  'last-in-finish',
]);

export const NO_FAULT: Fault = {
  mode: 'ok',
  latencyMs: 0,
  chunkDelayMs: 0,
  endDelayMs: 0,
  splitBytes: 0,
  after: 2,
  bytes: 2 * 1024 * 1024,
  echoAuth: false,
  echoHeaders: false,
  html: false,
  noSse: false,
  noFinish: false,
  oneWrite: false,
  lastInFinish: false,
  sse: 'plain',
  headers: {},
};

/** Parses a model name; names not starting with `fault:` mean no fault. Throws on a bad directive. */
export function parseFault(model: unknown): Fault {
  if (typeof model !== 'string' || !model.startsWith('fault:')) return NO_FAULT;
  const [, modeText = '', ...pairs] = model.split(':');
  const status = /^\d{3}$/.test(modeText) ? Number(modeText) : undefined;
  if (status === undefined && !MODES.has(modeText)) {
    throw new Error(`Expected a fault mode (${[...MODES].join(', ')} or an HTTP status), got "${modeText}"`);
  }
  const fault: { -readonly [K in keyof Fault]: Fault[K] } = {
    ...NO_FAULT,
    mode: status === undefined ? (modeText as FaultMode) : 'status',
    headers: {},
  };
  if (status !== undefined) fault.status = status;
  const headers: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    const key = eq === -1 ? pair : pair.slice(0, eq);
    // Values are URI-decoded, so an HTTP date's colons can travel as `%3A`.
    const value = eq === -1 ? '' : decodeURIComponent(pair.slice(eq + 1));
    // A number it cannot read is refused: `latency=1s` gave no latency at all (until 2026-12-05).
    if (NUMERIC_KEYS.has(key) && !/^\d+$/.test(value))
      throw new Error(`Expected \`${key}\` to be a whole number, got ${JSON.stringify(value)} in "${model}"`);
    // A switch is 1 or 0: `echo-auth=true` left the key out of the error body, and a test of its
    // scrubbing passed without a key to scrub (until 2026-12-05).
    if (FLAG_KEYS.has(key) && value !== '1' && value !== '0')
      throw new Error(`Expected \`${key}\` to be 1 or 0, got ${JSON.stringify(value)} in "${model}"`);
    const number = Number(value);
    switch (key) {
      case 'latency':
        fault.latencyMs = number;
        break;
      case 'chunk-ms':
        fault.chunkDelayMs = number;
        break;
      case 'end-ms':
        fault.endDelayMs = number;
        break;
      case 'split':
        fault.splitBytes = number;
        break;
      case 'after':
        fault.after = number;
        break;
      case 'bytes':
        fault.bytes = number;
        break;
      case 'first':
        fault.first = number;
        break;
      case 'echo-auth':
        fault.echoAuth = value === '1';
        break;
      case 'echo-headers':
        fault.echoHeaders = value === '1';
        break;
      case 'html':
        fault.html = value === '1';
        break;
      case 'retry-after':
        headers['retry-after'] = value;
        break;
      case 'retry-after-ms':
        headers['retry-after-ms'] = value;
        break;
      case 'reset-requests':
        headers['x-ratelimit-reset-requests'] = value;
        break;
      case 'should-retry':
        headers['x-should-retry'] = value;
        break;
      case 'no-sse':
        fault.noSse = value === '1';
        break;
      case 'no-finish':
        fault.noFinish = value === '1';
        break;
      case 'one-write':
        fault.oneWrite = value === '1';
        break;
      case 'last-in-finish':
        fault.lastInFinish = value === '1';
        break;
      case 'sse':
        if (!(SSE_STYLES as readonly string[]).includes(value))
          throw new Error(
            `Expected \`sse\` to be one of ${SSE_STYLES.join(', ')}, got ${JSON.stringify(value)} in "${model}"`,
          );
        fault.sse = value as SseStyle;
        break;
      case 'tag':
        break;
      default:
        throw new Error(`Expected a fault key (latency, retry-after, after, first, ...), got "${key}"`);
    }
  }
  fault.headers = headers;
  return fault;
}
