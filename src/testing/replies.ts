/**
 * How the local server writes answers: whole completions, SSE streams and error bodies, each
 * bent by the request's fault (see `faults.ts`). Node built-ins only.
 */
import type { ServerResponse } from 'node:http';
import type { Fault, SseStyle } from './faults.js';

/** What the server answers with for an `ok` request. */
export interface Reply {
  /** `null` is sent as `content: null`, as OpenAI answers beside tool calls (streams send none). */
  readonly content?: string | null;
  readonly reasoning?: string;
  readonly toolCalls?: readonly { readonly id: string; readonly name: string; readonly arguments: string }[];
  /** @default `tool_calls` when there are tool calls, else `stop` */
  readonly finishReason?: string;
  readonly usage?: {
    readonly prompt_tokens: number;
    readonly completion_tokens: number;
    /** Moonshot's place for cache hits. */
    readonly cached_tokens?: number;
    /** OpenAI's and GLM's place for cache hits. */
    readonly prompt_tokens_details?: { readonly cached_tokens: number };
    /** OpenAI's and GLM's place for the reasoning part of the completion. */
    readonly completion_tokens_details?: { readonly reasoning_tokens: number };
  };
}

export interface ReplyContext {
  readonly fault: Fault;
  readonly delay: (ms: number) => Promise<void>;
  readonly auth: string;
  /** Told when a stream's chunk with `finish_reason` has been written. */
  readonly finishSent?: () => void;
}

const STATUS_TYPES: Readonly<Record<number, string>> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_denied_error',
  404: 'not_found_error',
  413: 'invalid_request_error',
  429: 'rate_limit_error',
};

export function sendError(
  res: ServerResponse,
  status: number,
  message: string,
  fault: Fault,
  auth: string,
  code: string | null = null,
): void {
  const text = fault.echoAuth || fault.echoHeaders ? `${message} (you sent: ${auth})` : message;
  if (fault.html) {
    res.writeHead(status, { 'content-type': 'text/html', ...fault.headers });
    return void res.end(
      `<html><head><title>${status}</title></head><body><h1>${status}</h1><p>${text}</p></body></html>`,
    );
  }
  const type = STATUS_TYPES[status] ?? 'server_error';
  res.writeHead(status, { 'content-type': 'application/json', ...fault.headers });
  res.end(JSON.stringify({ error: { message: text, type, code } }));
}

function usageOf(reply: Reply): { prompt_tokens: number; completion_tokens: number; total_tokens: number } {
  const usage = reply.usage ?? {
    prompt_tokens: 7,
    completion_tokens: Math.ceil((reply.content ?? '').length / 4),
  };
  return { ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens };
}

function finishOf(reply: Reply): string {
  return reply.finishReason ?? (reply.toolCalls?.length ? 'tool_calls' : 'stop');
}

export async function sendCompletion(
  res: ServerResponse,
  body: Record<string, unknown>,
  reply: Reply,
  { fault, auth, delay }: ReplyContext,
): Promise<void> {
  const early = sendEarlyFault(res, fault, auth);
  if (early) return;
  const message: Record<string, unknown> = {
    role: 'assistant',
    content: reply.content === undefined ? '' : reply.content,
  };
  if (reply.reasoning !== undefined) message.reasoning_content = reply.reasoning;
  if (reply.toolCalls?.length) {
    message.tool_calls = reply.toolCalls.map((c) => ({
      id: c.id,
      type: 'function',
      function: { name: c.name, arguments: c.arguments },
    }));
  }
  const completion = {
    id: 'chatcmpl-local',
    object: 'chat.completion',
    created: 0,
    model: body.model,
    // `no-finish`: some servers send `finish_reason: null` in a whole answer too.
    choices: [{ index: 0, message, finish_reason: fault.noFinish ? null : finishOf(reply) }],
    usage: usageOf(reply),
  };
  const json = JSON.stringify(completion);
  switch (fault.mode) {
    case 'stall':
    case 'reset-mid':
      res.writeHead(200, { 'content-type': 'application/json' });
      // Destroyed once what was written has left: in the same tick nothing had, not even the
      // headers, and `reset-mid` was `reset` (until 2026-12-04).
      res.write(json.slice(0, Math.floor(json.length / 2)), () => {
        if (fault.mode === 'reset-mid') res.destroy();
      });
      return;
    case 'bad-json':
    case 'truncate':
      res.writeHead(200, { 'content-type': 'application/json' });
      return void res.end(json.slice(0, Math.floor(json.length / 2)));
    case 'oversized':
    case 'oversized-sse': {
      // Chunked, no content-length: the client only learns the size by reading.
      res.writeHead(200, { 'content-type': 'application/json' });
      const filler = 'x'.repeat(64 * 1024);
      res.write('{"id":"big","choices":[{"index":0,"message":{"role":"assistant","content":"');
      // `bytes` of content exactly (until 2026-12-05 whole 64 KiB pieces: `bytes=5000` sent 64 KiB).
      for (let sent = 0; sent < fault.bytes && !res.destroyed; sent += filler.length) {
        if (!res.write(filler.slice(0, fault.bytes - sent))) await drainedOrClosed(res);
      }
      return void res.end('"},"finish_reason":"stop"}]}');
    }
    default:
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(json) });
      if (fault.splitBytes > 0 && fault.chunkDelayMs > 0) return sendSlowly(res, json, fault, delay);
      res.end(json);
  }
}

/** A whole answer `split` bytes at a time, `chunk-ms` apart: slow, but never silent for longer. */
async function sendSlowly(
  res: ServerResponse,
  json: string,
  fault: Fault,
  delay: (ms: number) => Promise<void>,
): Promise<void> {
  const bytes = Buffer.from(json);
  for (let at = 0; at < bytes.length && !res.destroyed; at += fault.splitBytes) {
    if (at > 0) await delay(fault.chunkDelayMs);
    res.write(bytes.subarray(at, at + fault.splitBytes));
  }
  if (!res.destroyed) res.end();
}

/** Faults that act before any body: hang, reset, status, wrong type, empty. Returns whether it acted. */
function sendEarlyFault(res: ServerResponse, fault: Fault, auth: string): boolean {
  switch (fault.mode) {
    case 'hang':
      return true;
    case 'reset':
      res.socket?.destroy();
      return true;
    case 'status':
      sendError(res, fault.status ?? 500, `Injected HTTP ${fault.status}`, fault, auth);
      return true;
    case 'wrong-type':
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<html><body>Bad gateway page</body></html>');
      return true;
    case 'empty':
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': 0 });
      res.end();
      return true;
    default:
      return false;
  }
}

export async function sendStream(
  res: ServerResponse,
  body: Record<string, unknown>,
  reply: Reply,
  { fault, delay, auth, finishSent }: ReplyContext,
): Promise<void> {
  if (sendEarlyFault(res, fault, auth)) return;
  if (fault.mode === 'bad-json' || fault.mode === 'oversized')
    return sendCompletion(res, body, reply, { fault, delay, auth });
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  const base = { id: 'chatcmpl-local', object: 'chat.completion.chunk', created: 0, model: body.model };
  if (fault.mode === 'oversized-sse') return sendOversizedStream(res, base, fault.bytes);
  const chunks: unknown[] = [{ ...base, choices: [{ index: 0, delta: { role: 'assistant', content: '' } }] }];
  const piece = (delta: Record<string, unknown>) =>
    chunks.push({ ...base, choices: [{ index: 0, delta, finish_reason: null }] });
  // An empty reasoning goes as one empty delta: "reasoned but empty", which Kimi's client keeps.
  if (reply.reasoning === '') piece({ reasoning_content: '' });
  for (const text of split(reply.reasoning ?? '')) piece({ reasoning_content: text });
  for (const text of split(reply.content ?? '')) piece({ content: text });
  (reply.toolCalls ?? []).forEach((call, index) => {
    piece({
      tool_calls: [{ index, id: call.id, type: 'function', function: { name: call.name, arguments: '' } }],
    });
    for (const text of split(call.arguments))
      piece({ tool_calls: [{ index, function: { arguments: text } }] });
  });
  const options = body.stream_options as { include_usage?: boolean } | undefined;
  const usage = options?.include_usage === true ? usageOf(reply) : undefined;
  // `last-in-finish`: the last piece (not the first chunk, the role's) and the usage ride in the finish chunk.
  const merge = fault.lastInFinish && !fault.noFinish;
  const last = merge && chunks.length > 1 ? (chunks.pop() as { choices: [{ delta: object }] }) : undefined;
  const finishChunk = {
    ...base,
    choices: [{ index: 0, delta: last?.choices[0].delta ?? {}, finish_reason: finishOf(reply) }],
    ...(merge && usage !== undefined ? { usage } : {}),
  };
  if (!fault.noFinish) chunks.push(finishChunk);
  if (usage !== undefined && !merge) chunks.push({ ...base, choices: [], usage });

  // `one-write`: the events are held here, and go in one write with what ends the body (or the fault).
  let held = fault.oneWrite ? '' : undefined;
  let finishHeld = false;
  /** The held events and `tail`, to be written now (a held finish chunk counts as sent). */
  const out = (tail = '') => {
    const text = held === undefined ? tail : held + tail;
    held = undefined;
    if (finishHeld) finishSent?.();
    return text;
  };
  for (const [sent, chunk] of chunks.entries()) {
    if (res.destroyed) return;
    if (sent === fault.after) {
      if (fault.mode === 'stall') return stallAfter(res, out());
      // An SSE comment (clients skip it) whose write ends once the chunks before it have left.
      if (fault.mode === 'reset-mid') return void res.write(out(':\n\n'), () => res.destroy());
      if (fault.mode === 'bad-sse') return void res.end(out('data: {"id": "broken", "choices": [\n\n'));
      // Ended cleanly mid-answer: no finish chunk, no `[DONE]`.
      if (fault.mode === 'truncate') return void res.end(out());
    }
    const event = sseEvent(JSON.stringify(chunk), fault.sse);
    if (held !== undefined) {
      held += event;
      finishHeld ||= chunk === finishChunk;
      continue;
    }
    await writeSplit(res, event, fault.splitBytes);
    if (chunk === finishChunk) finishSent?.();
    if (fault.chunkDelayMs > 0) await delay(fault.chunkDelayMs);
  }
  if (fault.mode === 'stall') return stallAfter(res, out());
  // Every chunk sent, the finish among them: the body ends without its `[DONE]`.
  if (fault.mode === 'truncate') return void res.end(out());
  if (held !== undefined) return void res.end(out(sseEvent('[DONE]', fault.sse)));
  if (fault.endDelayMs > 0) await delay(fault.endDelayMs);
  if (res.destroyed) return;
  await writeSplit(res, sseEvent('[DONE]', fault.sse), fault.splitBytes);
  if (!res.destroyed) res.end();
}

/** One event carrying `data`, written in the `sse=` style: each is one the SSE spec allows. */
export function sseEvent(data: string, style: SseStyle = 'plain'): string {
  switch (style) {
    case 'crlf':
      return `data: ${data}\r\n\r\n`;
    case 'compact':
      return `data:${data}\n\n`;
    case 'comments':
      return `: keep-alive\n\n: ping\ndata: ${data}\n\n`;
    default:
      return `data: ${data}\n\n`;
  }
}

/** A stall: what was held back (`one-write`) goes, then nothing more. */
function stallAfter(res: ServerResponse, held: string): void {
  if (held !== '') res.write(held);
}

/**
 * Writes `text` whole, or `size` bytes at a time with a turn of the event loop between writes,
 * so each piece reaches the client as a read of its own (the server sends with no delay).
 */
export async function writeSplit(res: ServerResponse, text: string, size: number): Promise<void> {
  if (size <= 0) {
    res.write(text);
    return;
  }
  const bytes = Buffer.from(text);
  for (let at = 0; at < bytes.length && !res.destroyed; at += size) {
    res.write(bytes.subarray(at, at + size));
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

/** Content chunks of 16 KiB until `bytes` are sent (no length: the client learns the size by reading). */
async function sendOversizedStream(res: ServerResponse, base: object, bytes: number): Promise<void> {
  const line = `data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta: { content: 'x'.repeat(16 * 1024) } }] })}\n\n`;
  for (let sent = 0; sent < bytes && !res.destroyed; sent += line.length) {
    if (!res.write(line)) await drainedOrClosed(res);
  }
  if (!res.destroyed) res.end('data: [DONE]\n\n');
}

/** Pieces of `size` characters (code points: a vendor never cuts a surrogate pair in two). */
export function split(text: string, size = 4): string[] {
  const chars = Array.from(text);
  const parts: string[] = [];
  for (let i = 0; i < chars.length; i += size) parts.push(chars.slice(i, i + size).join(''));
  return parts;
}

/** Waits for backpressure to clear, removing both listeners whichever fires (one per wait leaked). */
function drainedOrClosed(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.once('drain', done);
    res.once('close', done);
  });
}
