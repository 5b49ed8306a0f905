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
 * keeps a real model id in the request, for errors that name the model's window.
 */
import type { ServerResponse } from 'node:http';
import type { Reply } from './replies.js';

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
}

export interface VendorErrorCase {
  /** The error-table row it exercises (`kimi.rate`), with an optional `#variant`. */
  readonly name: string;
  readonly status: number;
  readonly body: unknown;
  readonly headers?: Readonly<Record<string, string>>;
}

const kimi = (
  name: string,
  status: number,
  type: string,
  message: string,
  headers?: Record<string, string>,
) => ({
  name,
  status,
  body: { error: { message, type } },
  ...(headers === undefined ? {} : { headers }),
});
const glm = (name: string, status: number, code: string, message: string) => ({
  name,
  status,
  body: { error: { code, message } },
});

/** Bodies as the vendors document them (wording from their error tables; ids and numbers made up). */
export const VENDOR_ERROR_CASES: Readonly<Record<VendorMode, readonly VendorErrorCase[]>> = {
  kimi: [
    kimi(
      'kimi.suspended',
      429,
      'exceeded_current_quota_error',
      'Your account org-1<ak-1> is suspended due to insufficient balance, please recharge your account or check your plan and billing details',
    ),
    kimi(
      'kimi.quota',
      429,
      'exceeded_current_quota_error',
      'You exceeded your current token quota: <org-1> 0.5, please check your account balance',
    ),
    kimi(
      'kimi.quota-403',
      403,
      'exceeded_current_quota_error',
      'Your account org-1<ak-1> is not active, current state: suspended, you may check your billing details',
    ),
    kimi(
      'kimi.tpd',
      429,
      'rate_limit_reached_error',
      'Your account org-1<ak-1> request reached organization TPD rate limit, current:1500001, limit:1500000',
    ),
    kimi(
      'kimi.rate',
      429,
      'rate_limit_reached_error',
      'Your account org-1<ak-1> request reached organization max RPM: 3, please try again after 7 seconds',
    ),
    kimi(
      'kimi.rate#concurrency-header',
      429,
      'rate_limit_reached_error',
      'Your account org-1<ak-1> request reached organization max concurrency: 1, please try again after 9 seconds',
      { 'retry-after': '2' },
    ),
    kimi(
      'kimi.overloaded',
      429,
      'engine_overloaded_error',
      'The engine is currently overloaded, please try again later',
    ),
    kimi(
      'kimi.content-filter',
      400,
      'content_filter',
      'The request was rejected because it was considered high risk',
    ),
    kimi(
      'kimi.too-long',
      400,
      'invalid_request_error',
      'Invalid request: Your request exceeded model token limit: 262144 (requested: 269030)',
    ),
    kimi('kimi.invalid', 400, 'invalid_request_error', 'Invalid request: temperature must be in [0, 1]'),
    kimi('kimi.auth', 401, 'invalid_authentication_error', 'Invalid Authentication'),
    kimi('kimi.auth#incorrect-key', 401, 'incorrect_api_key_error', 'Incorrect API key provided'),
    kimi('kimi.permission', 403, 'permission_denied_error', 'The API you are accessing is not open'),
    kimi(
      'kimi.not-found',
      404,
      'resource_not_found_error',
      'Not found the model kimi-nope or Permission denied',
    ),
    kimi('kimi.server', 500, 'server_error', 'Failed to extract file: unexpected'),
  ],
  glm: [
    glm('glm.auth', 401, '1002', 'Authorization Token非法，请确认Authorization Token正确传递。'),
    glm(
      'glm.account',
      401,
      '1112',
      'Your account has been locked, please contact customer service to unlock',
    ),
    glm('glm.arrears', 429, '1113', 'Your account is in arrears, please recharge and try again'),
    glm(
      'glm.account-busy',
      500,
      '1120',
      'Unable to successfully access your account, please try again later',
    ),
    glm('glm.invalid', 400, '1214', 'Invalid messages parameter. Please check the documentation'),
    glm('glm.model', 400, '1211', 'Model does not exist, please check the model code'),
    glm('glm.permission', 403, '1220', 'You do not have permission to access glm-4-long'),
    glm('glm.api-gone', 400, '1221', 'API chat has been taken offline'),
    glm('glm.server', 500, '500', 'Internal Error'),
    glm('glm.too-long', 400, '1261', 'Prompt exceeds max length'),
    glm(
      'glm.sensitive',
      400,
      '1301',
      'System detected potentially unsafe or sensitive content in input or generation. Please avoid using prompts that may generate sensitive content. Thank you for your cooperation.',
    ),
    glm(
      'glm.concurrency',
      429,
      '1302',
      'High concurrency usage of this API, please reduce concurrency or contact customer service to increase limits',
    ),
    glm(
      'glm.frequency',
      429,
      '1303',
      'High frequency usage of this API, please reduce frequency or contact customer service to increase limits',
    ),
    glm(
      'glm.daily',
      429,
      '1304',
      'The daily call limit for this API has been reached. Please contact customer service to purchase more.',
    ),
    glm('glm.overloaded', 429, '1305', 'The service may be temporarily overloaded, please try again later'),
    glm(
      'glm.window',
      429,
      '1308',
      'Usage limit reached for 5 hour. Your limit will reset at 2026-12-01 09:15:00',
    ),
    glm(
      'glm.window#zoned',
      429,
      '1308',
      'Usage limit reached for 5 hour. Your limit will reset at 2099-01-01T00:00:00Z',
    ),
    glm(
      'glm.plan-expired',
      429,
      '1309',
      'Your GLM Coding Plan package has expired. Please renew to continue.',
    ),
    glm(
      'glm.period',
      429,
      '1310',
      'Weekly/Monthly Limit Exhausted. Your limit will reset at 2026-12-07 00:00:00',
    ),
  ],
};

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
  const name = directive.slice('vendor-error:'.length).trim();
  const found = VENDOR_ERROR_CASES[vendor].find((c) => c.name === name);
  const chosen: VendorErrorCase = found ?? {
    name,
    status: 400,
    body:
      vendor === 'kimi'
        ? { error: { message: `Unknown vendor-error case ${name}`, type: 'invalid_request_error' } }
        : { error: { code: '1210', message: `Unknown vendor-error case ${name}` } },
  };
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
  if (/^kimi-k2-thinking/.test(model)) return true;
  return /^kimi-k(?:2\.(?:[5-9]|\d{2,})|[3-9])/.test(model) && thinking !== 'disabled';
}

/**
 * Kimi's thinking rule: with thinking on, every assistant message with `tool_calls` must carry
 * its `reasoning_content`; otherwise 400. Returns whether it answered.
 */
export function sendKimiThinkingRule(res: ServerResponse, body: Record<string, unknown>): boolean {
  if (!kimiThinks(body) || !Array.isArray(body.messages)) return false;
  const index = (body.messages as Record<string, unknown>[]).findIndex(
    (m) =>
      m.role === 'assistant' &&
      Array.isArray(m.tool_calls) &&
      m.tool_calls.length > 0 &&
      (typeof m.reasoning_content !== 'string' || m.reasoning_content === ''),
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
    function: { name: c.name, arguments: c.arguments },
  }));
}

/** A whole completion in the vendor's shape. */
export function sendVendorCompletion(
  res: ServerResponse,
  vendor: VendorMode,
  body: Record<string, unknown>,
  reply: VendorReply,
): void {
  const message: Record<string, unknown> = { role: 'assistant', content: reply.content ?? '' };
  if (reply.reasoning !== undefined) message.reasoning_content = reply.reasoning;
  const calls = wholeCalls(reply);
  if (calls !== undefined) message.tool_calls = calls;
  const completion: Record<string, unknown> = {
    id: vendor === 'kimi' ? 'chatcmpl-kimi-local' : '20261201120000abcdef',
    object: 'chat.completion',
    created: 0,
    model: body.model,
    choices: [{ index: 0, message, finish_reason: finishOf(reply) }],
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
 * first chunk, each tool call whole in one chunk, usage at the top level of the last chunk.
 */
export async function sendVendorStream(
  res: ServerResponse,
  vendor: VendorMode,
  body: Record<string, unknown>,
  reply: VendorReply,
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
  for (const text of split(reply.reasoning ?? '')) piece({ reasoning_content: text });
  for (const text of split(reply.content ?? '')) piece({ content: text });
  (reply.toolCalls ?? []).forEach((call, index) => {
    const type = call.type ?? 'function';
    if (vendor === 'glm') {
      piece({
        tool_calls: [{ index, id: call.id, type, function: { name: call.name, arguments: call.arguments } }],
      });
      return;
    }
    piece({ tool_calls: [{ index, id: call.id, type, function: { name: call.name, arguments: '' } }] });
    for (const text of split(call.arguments))
      piece({ tool_calls: [{ index, function: { arguments: text } }] });
  });
  const usage = usageOf(reply);
  const last =
    vendor === 'kimi'
      ? { ...base, choices: [{ index: 0, delta: {}, finish_reason: finishOf(reply), usage }] }
      : {
          ...base,
          choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: finishOf(reply) }],
          usage,
        };
  chunks.push(last);
  for (const chunk of chunks) {
    if (res.destroyed) return;
    res.write(`data: ${JSON.stringify(chunk)}\n\n`);
  }
  res.end('data: [DONE]\n\n');
}

function split(text: string, size = 4): string[] {
  const parts: string[] = [];
  for (let i = 0; i < text.length; i += size) parts.push(text.slice(i, i + size));
  return parts;
}
