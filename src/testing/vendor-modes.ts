/**
 * Vendor modes for the local server: Moonshot (Kimi) and Zhipu/Z.ai (GLM) as their documentation
 * and SDKs describe them. Error bodies (`{ error: { message, type } }` for Kimi, `{ error: { code,
 * message } }` with business codes for GLM), stream shapes (usage inside `choices[0]` for Kimi, at
 * the top level for GLM; GLM's `web_search` array; tool-call fragments; `reasoning_content`
 * deltas; finish reasons) and the Kimi rule that a thinking model's tool-call turn must carry its
 * `reasoning_content`. Sources: docs/providers.md. Node built-ins only: this ships as `troupe/testing`.
 *
 * A request picks a documented error by its model name or its last user message:
 * `vendor-error:<case>`, e.g. `vendor-error:kimi.rate` (see `VENDOR_ERROR_CASES`). The message form
 * keeps a real model id in the request, for errors that name the model's window. `<case>@stream`
 * on a streamed request answers 200 and sends the case's body as the stream's first event.
 */
import type { ServerResponse } from 'node:http';
import type { SseStyle } from './faults.js';
import { type Reply, split, sseEvent, writeSplit } from './replies.js';
import { VENDOR_ERROR_CASES, type VendorErrorCase } from './vendor-error-cases.js';

export { VENDOR_ERROR_CASES, type VendorErrorCase } from './vendor-error-cases.js';

export type VendorMode = 'kimi' | 'glm';

/** A reply with the vendor extras: tool-call kinds and GLM web-search results. */
export interface VendorReply extends Reply {
  readonly toolCalls?: readonly {
    readonly id: string;
    readonly name: string;
    readonly arguments: string;
    /** @default 'function' */
    readonly type?: string;
  }[];
  /** GLM: the top-level `web_search` array. */
  readonly webSearch?: readonly Readonly<Record<string, unknown>>[];
  /** GLM, streamed: a second `web_search` array, in the last chunk (beside the usage). */
  readonly webSearchLast?: readonly Readonly<Record<string, unknown>>[];
  /**
   * GLM: each tool call's `function.arguments` as a JSON object, the type Zhipu's and Z.ai's API
   * references give it (docs/providers.md [Z2]), not the JSON text OpenAI sends. @default false
   */
  readonly argumentsAsObject?: boolean;
}

/** The `vendor-error:<case>` directive in the model name or the last user message, if any. */
export function vendorDirective(body: Record<string, unknown>): string | undefined {
  const model = String(body.model ?? '');
  if (model.startsWith('vendor-error:')) return model;
  const messages = Array.isArray(body.messages)
    ? (body.messages as { role?: unknown; content?: unknown }[])
    : [];
  const last = [...messages].reverse().find((m) => m.role === 'user');
  return typeof last?.content === 'string' && last.content.startsWith('vendor-error:')
    ? last.content
    : undefined;
}

/** Answers a `vendor-error:<case>` directive; returns false when there is none. */
export function sendVendorError(
  res: ServerResponse,
  vendor: VendorMode,
  body: Record<string, unknown>,
): boolean {
  const directive = vendorDirective(body);
  if (directive === undefined) return false;
  const spec = directive.slice('vendor-error:'.length).trim();
  // `<case>@stream` on a streamed request: a 200 stream whose first event is the case's body. GLM
  // documents stream failures as a `finish_reason` instead: its cases test a defence (providers.md).
  const inStream = spec.endsWith('@stream') && body.stream === true;
  const name = spec.replace(/@stream$/, '');
  const found = VENDOR_ERROR_CASES[vendor].find((c) => c.name === name);
  const chosen: VendorErrorCase = found ?? {
    name,
    status: 400,
    body:
      vendor === 'kimi'
        ? { error: { message: `Unknown vendor-error case ${name}`, type: 'invalid_request_error' } }
        : { error: { code: '1210', message: `Unknown vendor-error case ${name}` } },
  };
  if (inStream) {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.end(`data: ${JSON.stringify(chosen.body)}\n\n`);
    return true;
  }
  res.writeHead(chosen.status, { 'content-type': 'application/json', ...(chosen.headers ?? {}) });
  res.end(JSON.stringify(chosen.body));
  return true;
}

/** The model does not exist: Kimi 404 `resource_not_found_error`; GLM 400 with code 1211. */
export function sendUnknownModel(res: ServerResponse, vendor: VendorMode, model: string): void {
  const [status, body] =
    vendor === 'kimi'
      ? [
          404,
          {
            error: {
              message: `Not found the model ${model} or Permission denied`,
              type: 'resource_not_found_error',
            },
          },
        ]
      : [400, { error: { code: '1211', message: 'Model does not exist, please check the model code' } }];
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

/** Kimi models that think unless told not to. */
function kimiThinks(body: Record<string, unknown>): boolean {
  const model = String(body.model ?? '');
  const thinking = (body.thinking as { type?: unknown } | undefined)?.type;
  if (/^kimi-k2(?:-thinking|\.7-code)/.test(model)) return true;
  return /^kimi-k(?:2\.(?:[5-9]|\d{2,})|[3-9])/.test(model) && thinking !== 'disabled';
}

/**
 * Kimi's thinking rules: with thinking on, `tool_choice` is "auto" or "none", and every assistant message with `tool_calls` must carry
 * its `reasoning_content`, empty if the model reasoned nothing (MoonshotAI/kimi-cli keeps an empty
 * one for this); otherwise 400. Returns whether it answered.
 */
export function sendKimiThinkingRule(res: ServerResponse, body: Record<string, unknown>): boolean {
  if (!kimiThinks(body)) return false;
  // With thinking on, `tool_choice` is "auto" or "none" only (the K2.5/K2.6/K2.7 Code quickstarts);
  // the wording is Moonshot's as a client quoted it (AstrBot#7805).
  const choice = body.tool_choice;
  if (choice !== undefined && choice !== 'auto' && choice !== 'none') {
    const named = typeof choice === 'string' ? choice : 'function';
    res.writeHead(400, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        error: {
          message: `tool_choice '${named}' is incompatible with thinking enabled`,
          type: 'invalid_request_error',
        },
      }),
    );
    return true;
  }
  if (!Array.isArray(body.messages)) return false;
  const index = (body.messages as Record<string, unknown>[]).findIndex(
    (m) =>
      m.role === 'assistant' &&
      Array.isArray(m.tool_calls) &&
      m.tool_calls.length > 0 &&
      typeof m.reasoning_content !== 'string',
  );
  if (index === -1) return false;
  res.writeHead(400, { 'content-type': 'application/json' });
  res.end(
    JSON.stringify({
      error: {
        message: `thinking is enabled but reasoning_content is missing in assistant tool call message at index ${index}`,
        type: 'invalid_request_error',
      },
    }),
  );
  return true;
}

/** How deep the tool-schema rule looks, in schema levels below the parameters object. */
const KIMI_SCHEMA_DEPTH = 64;

/**
 * Kimi's tool rules. A function's name matches `^[a-zA-Z_][a-zA-Z0-9-_]{2,63}$` (Moonshot's Tool Use
 * reference; a user quoted the 400 "function name is invalid, must start with a letter", the wording
 * for any other miss is *chosen*). And a function tool whose parameters have a property schema without `type`
 * (under `properties`, `items`, `additionalProperties` or an `anyOf`/`oneOf`/`allOf` branch; not
 * one that is itself a combinator or a `$ref`) gets 400 "At path 'properties.X': type is not
 * defined" (MoonshotAI/kimi-cli 995a180e quotes it). Returns whether it answered.
 */
export function sendKimiToolSchemaRule(res: ServerResponse, body: Record<string, unknown>): boolean {
  if (!Array.isArray(body.tools)) return false;
  for (const tool of body.tools as {
    type?: unknown;
    function?: { name?: unknown; parameters?: unknown };
  }[]) {
    if (tool?.type !== 'function') continue;
    const name = String(tool.function?.name ?? '');
    const path = untypedPath(tool.function?.parameters, '', 0);
    const message = !/^[A-Za-z_]/.test(name)
      ? 'function name is invalid, must start with a letter'
      : !/^[A-Za-z_][\w-]{2,63}$/.test(name)
        ? 'function name is invalid, must match ^[a-zA-Z_][a-zA-Z0-9-_]{2,63}$'
        : path === undefined
          ? undefined
          : `At path '${path}': type is not defined`;
    if (message === undefined) continue;
    res.writeHead(400, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: { message, type: 'invalid_request_error' } }));
    return true;
  }
  return false;
}

const UNTYPED_EXEMPT = ['anyOf', 'oneOf', 'allOf', 'not', 'if', 'then', 'else', '$ref'];

/** The first property schema under `node` without `type`, as a dotted path. */
function untypedPath(node: unknown, path: string, depth: number): string | undefined {
  if (typeof node !== 'object' || node === null || Array.isArray(node) || depth >= KIMI_SCHEMA_DEPTH)
    return undefined;
  const schema = node as Record<string, unknown>;
  const at = (segment: string) => (path === '' ? segment : `${path}.${segment}`);
  const list = (key: string, value: unknown): [string, unknown][] =>
    Array.isArray(value) ? value.map((child, i): [string, unknown] => [at(`${key}.${i}`), child]) : [];
  const children: (readonly [string, unknown])[] = [
    ...Object.entries(
      typeof schema.properties === 'object' && schema.properties !== null ? schema.properties : {},
    ).map(([name, child]): [string, unknown] => [at(`properties.${name}`), child]),
    ...(Array.isArray(schema.items) ? list('items', schema.items) : [[at('items'), schema.items] as const]),
    [at('additionalProperties'), schema.additionalProperties],
    ...['anyOf', 'oneOf', 'allOf'].flatMap((key) => list(key, schema[key])),
  ];
  for (const [where, child] of children) {
    if (typeof child !== 'object' || child === null || Array.isArray(child)) continue;
    const sub = child as Record<string, unknown>;
    if (sub.type === undefined && !UNTYPED_EXEMPT.some((k) => k in sub)) return where;
    const deeper = untypedPath(sub, where, depth + 1);
    if (deeper !== undefined) return deeper;
  }
  return undefined;
}

function usageOf(reply: VendorReply): Record<string, unknown> {
  const usage = reply.usage ?? {
    prompt_tokens: 9,
    completion_tokens: Math.ceil((reply.content ?? '').length / 4),
  };
  return { ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens };
}

function finishOf(reply: VendorReply): string {
  return reply.finishReason ?? (reply.toolCalls?.length ? 'tool_calls' : 'stop');
}

function wholeCalls(reply: VendorReply): Record<string, unknown>[] | undefined {
  if (!reply.toolCalls?.length) return undefined;
  return reply.toolCalls.map((c, index) => ({
    index,
    id: c.id,
    type: c.type ?? 'function',
    function: { name: c.name, arguments: argumentsOf(reply, c.arguments) },
  }));
}

/** A call's arguments as sent: the JSON text, or (`argumentsAsObject`) the object it encodes. */
function argumentsOf(reply: VendorReply, text: string): unknown {
  return reply.argumentsAsObject === true ? JSON.parse(text) : text;
}

/** A whole completion in the vendor's shape. */
export function sendVendorCompletion(
  res: ServerResponse,
  vendor: VendorMode,
  body: Record<string, unknown>,
  reply: VendorReply,
  /** `finish_reason: null`, as some servers send it (`no-finish`). */
  noFinish = false,
): void {
  const message: Record<string, unknown> = {
    role: 'assistant',
    content: reply.content === undefined ? '' : reply.content,
  };
  if (reply.reasoning !== undefined) message.reasoning_content = reply.reasoning;
  const calls = wholeCalls(reply);
  if (calls !== undefined) message.tool_calls = calls;
  const completion: Record<string, unknown> = {
    id: vendor === 'kimi' ? 'chatcmpl-kimi-local' : '20261201120000abcdef',
    object: 'chat.completion',
    created: 0,
    model: body.model,
    choices: [{ index: 0, message, finish_reason: noFinish ? null : finishOf(reply) }],
    usage: usageOf(reply),
  };
  if (vendor === 'glm') {
    completion.request_id = typeof body.request_id === 'string' ? body.request_id : '20261201120000abcdef';
    if (reply.webSearch !== undefined) completion.web_search = reply.webSearch;
  }
  const json = JSON.stringify(completion);
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(json) });
  res.end(json);
}

/**
 * An SSE stream in the vendor's shape. Kimi: tool calls in fragments (id, type and name first,
 * then argument pieces), usage inside `choices[0]` of the last chunk. GLM: `web_search` in the
 * first chunk, each tool call whole in one chunk (in fragments as Kimi's when the request says
 * `tool_stream: true`, Z.ai's "Tool Streaming Output"), usage at the top level of the last chunk.
 */
export async function sendVendorStream(
  res: ServerResponse,
  vendor: VendorMode,
  body: Record<string, unknown>,
  reply: VendorReply,
  pace: {
    readonly chunkDelayMs: number;
    readonly splitBytes: number;
    delay(ms: number): Promise<void>;
    /** The wait after the last chunk, before `[DONE]` (`end-ms`). */
    readonly endDelayMs?: number;
    /** Told once the chunk with `finish_reason` (the vendor's last) is written. */
    readonly finishSent?: () => void;
    /** The whole body in one write that ends it (`one-write`). */
    readonly oneWrite?: boolean;
    /** The last piece in the finish chunk (`last-in-finish`). */
    readonly lastInFinish?: boolean;
    /** The last chunk, usage and all, with `finish_reason` null (`no-finish`). */
    readonly noFinish?: boolean;
    /** How the events are written (`sse=`). */
    readonly sse?: SseStyle;
  } = {
    chunkDelayMs: 0,
    splitBytes: 0,
    delay: async () => {},
  },
): Promise<void> {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  const base = { id: 'chatcmpl-local', object: 'chat.completion.chunk', created: 0, model: body.model };
  const chunks: Record<string, unknown>[] = [];
  const piece = (delta: Record<string, unknown>) =>
    chunks.push({ ...base, choices: [{ index: 0, delta, finish_reason: null }] });
  const first: Record<string, unknown> = {
    ...base,
    choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }],
  };
  if (vendor === 'glm' && reply.webSearch !== undefined) first.web_search = reply.webSearch;
  chunks.push(first);
  // An empty reasoning goes as one empty delta: "reasoned but empty", which Kimi's client keeps.
  if (reply.reasoning === '') piece({ reasoning_content: '' });
  for (const text of split(reply.reasoning ?? '')) piece({ reasoning_content: text });
  for (const text of split(reply.content ?? '')) piece({ content: text });
  (reply.toolCalls ?? []).forEach((call, index) => {
    const type = call.type ?? 'function';
    if (vendor === 'glm' && body.tool_stream !== true) {
      piece({
        tool_calls: [
          {
            index,
            id: call.id,
            type,
            function: { name: call.name, arguments: argumentsOf(reply, call.arguments) },
          },
        ],
      });
      return;
    }
    piece({ tool_calls: [{ index, id: call.id, type, function: { name: call.name, arguments: '' } }] });
    for (const text of split(call.arguments))
      piece({ tool_calls: [{ index, function: { arguments: text } }] });
  });
  const usage = usageOf(reply);
  const finish = pace.noFinish === true ? null : finishOf(reply);
  // `last-in-finish`: the last piece (not the first chunk) rides in the finish chunk, where the usage is already.
  const merged = pace.lastInFinish === true && chunks.length > 1 ? chunks.pop() : undefined;
  const lastDelta = (merged?.choices as { delta: object }[] | undefined)?.[0]?.delta ?? {};
  const last =
    vendor === 'kimi'
      ? { ...base, choices: [{ index: 0, delta: lastDelta, finish_reason: finish, usage }] }
      : {
          ...base,
          choices: [
            {
              index: 0,
              delta: { role: 'assistant', content: '', ...lastDelta },
              finish_reason: finish,
            },
          ],
          usage,
          ...(reply.webSearchLast === undefined ? {} : { web_search: reply.webSearchLast }),
        };
  chunks.push(last);
  // `fault:ok` keys pace the vendor's stream as they do the plain one (`chunk-ms`, `split`, `end-ms`, `one-write`).
  if (pace.oneWrite === true) {
    res.end(
      `${chunks.map((chunk) => sseEvent(JSON.stringify(chunk), pace.sse)).join('')}${sseEvent('[DONE]', pace.sse)}`,
    );
    return void pace.finishSent?.();
  }
  for (const chunk of chunks) {
    if (res.destroyed) return;
    await writeSplit(res, sseEvent(JSON.stringify(chunk), pace.sse), pace.splitBytes);
    if (chunk === last && finish !== null) pace.finishSent?.();
    if (pace.chunkDelayMs > 0) await pace.delay(pace.chunkDelayMs);
  }
  if ((pace.endDelayMs ?? 0) > 0) await pace.delay(pace.endDelayMs ?? 0);
  if (res.destroyed) return;
  await writeSplit(res, sseEvent('[DONE]', pace.sse), pace.splitBytes);
  if (!res.destroyed) res.end();
}
