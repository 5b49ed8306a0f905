/**
 * One error table per vendor: HTTP status and the body's `type` (Moonshot) or business `code`
 * (Zhipu/Z.ai) to troupe's code, whether a session may retry, and where the retry hint comes from.
 * The first matching row wins; no match falls back to the generic status table in `http-errors.ts`.
 *
 * Sources (read 2026-12-01; see docs/providers.md for the full list): Moonshot's chat API error
 * section and help pages (platform.moonshot.cn / platform.kimi.ai, kimi.com/help/kimi-api), Z.ai's
 * error-code page (docs.z.ai/api-reference/api-code) and its Python SDK (zai-org/z-ai-sdk-python).
 * Pure: no I/O, so the table is tested row by row.
 */
import type { ProviderErrorCode } from '../core/errors.js';
import type { HintSource, VendorErrorRow, VendorErrorTable } from './vendor-error-types.js';

export type { HintSource, VendorErrorRow, VendorErrorTable } from './vendor-error-types.js';

export const KIMI_ERRORS: VendorErrorTable = {
  vendor: 'kimi',
  hosts: ['api.moonshot.ai', 'api.moonshot.cn', 'api.kimi.com'],
  rows: [
    {
      id: 'kimi.suspended',
      status: 'any',
      text: /suspended due to insufficient balance/i,
      troupe: 'QUOTA_EXHAUSTED',
      hint: 'none',
      why: 'The account is suspended for lack of balance: top up.',
    },
    {
      id: 'kimi.quota',
      status: 429,
      type: 'exceeded_current_quota_error',
      troupe: 'QUOTA_EXHAUSTED',
      hint: 'none',
      why: 'The token quota or balance is spent: top up (vouchers may have lapsed).',
    },
    {
      id: 'kimi.quota-403',
      status: 403,
      type: 'exceeded_current_quota_error',
      troupe: 'QUOTA_EXHAUSTED',
      hint: 'none',
      why: 'Older tables: the account is not active (arrears): check billing.',
    },
    // A 429 whose body lost its type (a gateway that rewrites errors) but keeps the billing wording:
    // Moonshot's own client fails fast on these words (MoonshotAI/kimi-code, `kimi-errors.ts`).
    {
      id: 'kimi.quota-wording',
      status: 429,
      text: /exceeded your current (?:token )?quota|check your account balance|insufficient balance|recharge your account|please recharge|account (?:is )?in arrears/i,
      troupe: 'QUOTA_EXHAUSTED',
      hint: 'none',
      why: 'The balance or token quota is spent, in the billing words of exceeded_current_quota_error: top up.',
    },
    {
      id: 'kimi.tpd',
      status: 429,
      type: 'rate_limit_reached_error',
      text: /\bTPD\b/,
      troupe: 'QUOTA_EXHAUSTED',
      hint: 'none',
      why: 'The tokens-per-day limit is spent: wait for the next day, or raise the tier.',
    },
    {
      id: 'kimi.rate',
      status: 429,
      type: 'rate_limit_reached_error',
      troupe: 'RATE_LIMITED',
      hint: 'header-or-body-seconds',
      why: 'Organisation concurrency, RPM or TPM limit: wait the time the message names.',
    },
    {
      id: 'kimi.overloaded',
      status: 429,
      type: 'engine_overloaded_error',
      // Server capacity, not the account's limit; the remedy (wait, fewer in flight, back off) is a cooldown.
      troupe: 'RATE_LIMITED',
      hint: 'header-or-body-seconds',
      why: 'The service node is under high load: wait for Retry-After, reduce concurrency, back off.',
    },
    {
      id: 'kimi.content-filter',
      status: 400,
      type: 'content_filter',
      troupe: 'CONTENT_FILTERED',
      hint: 'none',
      why: 'The request was rejected as high risk by content review.',
    },
    {
      id: 'kimi.too-long',
      status: 400,
      type: 'invalid_request_error',
      // No code of Moonshot's tells it from other bad requests; the wording does (docs/providers.md [K4],
      // [K7]: the help center's two, "exceeded model token limit: N", older "model max length exceeded").
      text: /exceeded model token limit|token length too long|exceeds the model specification|model max length exceeded/i,
      troupe: 'CONTEXT_TOO_LONG',
      hint: 'none',
      why: 'Prompt tokens plus the completion budget exceed the model window.',
    },
    {
      id: 'kimi.invalid',
      status: 400,
      type: 'invalid_request_error',
      troupe: 'INVALID_REQUEST',
      hint: 'none',
      why: 'Malformed request or a parameter out of range (message says which).',
    },
    {
      id: 'kimi.auth',
      status: 401,
      troupe: 'AUTH_FAILED',
      hint: 'none',
      why: 'invalid_authentication_error / incorrect_api_key_error: the key is wrong or deleted.',
      keyRefused: true,
      // Kimi help center, error codes: the two platforms' keys are separate, "混用会返回 401"; and
      // API troubleshooting: another product's key (Kimi Code's) on the open platform gives 401 or 404.
      advice:
        'Check the key and its platform: keys of platform.kimi.com work only on api.moonshot.cn (kimi.region "cn"), keys of platform.kimi.ai only on api.moonshot.ai (the default), and Kimi Code keys (sk-kimi-...) only on Kimi Code\'s https://api.kimi.com/coding/v1 (KIMI_BASE_URL).',
    },
    {
      id: 'kimi.permission',
      status: 403,
      type: 'permission_denied_error',
      troupe: 'AUTH_FAILED',
      hint: 'none',
      why: 'The key may not use this API or resource.',
    },
    {
      id: 'kimi.not-found',
      status: 404,
      troupe: 'MODEL_NOT_FOUND',
      hint: 'none',
      why: 'resource_not_found_error: the model does not exist or the account may not use it.',
      // Kimi help center, API troubleshooting: another product's key on the open platform gets 401 or 404.
      advice:
        "Check the model id (list_models); for a model the account has, check the key's product: Kimi Code keys (sk-kimi-...) work only on Kimi Code's https://api.kimi.com/coding/v1 (KIMI_BASE_URL).",
    },
    {
      id: 'kimi.client-closed',
      status: 499,
      troupe: 'NETWORK',
      hint: 'none',
      why: 'client_closed_request: the connection closed before the answer, often a proxy cutting a stream.',
      advice: 'Check the keep-alive and timeouts of any proxy between troupe and Moonshot.',
    },
    {
      id: 'kimi.server',
      status: 500,
      troupe: 'PROVIDER_UNAVAILABLE',
      hint: 'header',
      why: 'server_error / unexpected_output: a fault on the vendor side.',
    },
  ],
};

/** "reset at 2026-09-10 04:24:36", "将在 2026-09-10 04:24:36 重置": the time, and its zone if any. */
const RESET_AT =
  /(?:reset(?:s)? (?:at|on)|将在) ?(\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(?::\d{2})?(?:\.\d+)?(Z|[+-]\d{2}:?\d{2})?)/i;

const glm = (
  id: string,
  codes: readonly string[],
  troupe: ProviderErrorCode,
  why: string,
  hint: HintSource = 'none',
): VendorErrorRow => ({ id: `glm.${id}`, status: 'any', codes, troupe, hint, why });

export const GLM_ERRORS: VendorErrorTable = {
  vendor: 'glm',
  hosts: ['open.bigmodel.cn', 'api.z.ai'],
  rows: [
    {
      ...glm(
        'auth',
        ['1000', '1001', '1002', '1003', '1004'],
        'AUTH_FAILED',
        'Missing, invalid or expired key.',
      ),
      keyRefused: true,
    },
    // BigModel's FAQ table (docs.bigmodel.cn/cn/faq/api-code): "已开启二次认证保护", a 401.
    {
      ...glm('two-factor', ['1005'], 'AUTH_FAILED', 'The account has two-factor protection on.'),
      advice:
        'The account asks for a second factor: complete it in the vendor console, or use a key it allows.',
    },
    glm('account', ['1110', '1111', '1112', '1121'], 'AUTH_FAILED', 'Account inactive, missing or locked.'),
    // Z.ai's maintainers answer a plan subscriber's 1113 on /api/paas/v4 with its path (zai-org/GLM-5#49).
    glm(
      'arrears',
      ['1113'],
      'QUOTA_EXHAUSTED',
      "The account is in arrears: recharge. A GLM Coding Plan key has no pay-per-token balance and gets 1113 outside the plan's path, /api/coding/paas/v4 (docs/providers.md, GLM: read the plan's terms first).",
    ),
    glm(
      'account-busy',
      ['1120'],
      'PROVIDER_UNAVAILABLE',
      'The account could not be reached; try later.',
      'header',
    ),
    // An overflow under the parameter code, in GLM's words as users quoted them (docs/providers.md [Z1]):
    // GLM 4.7's "... exceeds the model's maximum context length N", and over GLM-5's 200K window
    // "tokens in request more than max tokens allowed".
    {
      ...glm('overflow', ['1210'], 'CONTEXT_TOO_LONG', 'The input exceeds the model window.'),
      text: /exceeds the model's maximum context length|tokens in request more than max tokens allowed/i,
    },
    glm(
      'invalid',
      ['1210', '1212', '1213', '1214', '1215', '1231'],
      'INVALID_REQUEST',
      'A parameter is wrong.',
    ),
    glm('model', ['1211'], 'MODEL_NOT_FOUND', 'The model does not exist.'),
    glm('permission', ['1220'], 'AUTH_FAILED', 'The key may not use this API.'),
    glm('api-gone', ['1221', '1222'], 'INVALID_REQUEST', 'The API was taken offline or does not exist.'),
    glm(
      'server',
      ['500', '1200', '1230', '1234'],
      'PROVIDER_UNAVAILABLE',
      'A fault on the vendor side.',
      'header',
    ),
    glm('too-long', ['1261'], 'CONTEXT_TOO_LONG', 'The prompt exceeds the model window.'),
    // 1300 "API call blocked by policy" (BigModel "API 调用被策略阻止"): the call refused, not its content (1301).
    glm(
      'policy',
      ['1300'],
      'AUTH_FAILED',
      'The vendor blocked this API call by policy: see its console or support.',
    ),
    glm('sensitive', ['1301'], 'CONTENT_FILTERED', 'Blocked by policy: unsafe or sensitive content.'),
    glm('concurrency', ['1302'], 'RATE_LIMITED', 'Too many concurrent requests.', 'header'),
    glm('frequency', ['1303'], 'RATE_LIMITED', 'Requests too frequent.', 'header'),
    glm('daily', ['1304'], 'QUOTA_EXHAUSTED', 'The daily call limit is reached.'),
    // This model's traffic too high ("该模型当前访问量过大", "降级或延迟处理"): as 1312, no cooldown, fallbacks move on.
    {
      ...glm(
        'overloaded',
        ['1305'],
        'PROVIDER_UNAVAILABLE',
        'The platform is overloaded for this model: try later or another model.',
        'header',
      ),
      modelScoped: true,
    },
    glm(
      'window',
      ['1308'],
      'QUOTA_EXHAUSTED',
      'The usage limit for the window is reached.',
      'body-reset-time',
    ),
    glm('plan-expired', ['1309'], 'QUOTA_EXHAUSTED', 'The plan (e.g. GLM Coding Plan) has expired: renew.'),
    glm('period', ['1310'], 'QUOTA_EXHAUSTED', 'A weekly or monthly limit is spent.', 'body-reset-time'),
    // Both tables (docs.z.ai/api-reference/api-code, docs.bigmodel.cn/cn/api/api-code) list these; 1313 comes as a 429.
    glm(
      'plan-model',
      ['1311'],
      'MODEL_NOT_FOUND',
      'Your plan does not include this model: pick another or upgrade.',
    ),
    // One model's capacity ("or switch to another model"): no provider-wide cooldown, a fallback chain moves on.
    {
      ...glm(
        'model-busy',
        ['1312'],
        'PROVIDER_UNAVAILABLE',
        'This model is overloaded: try later or another model.',
        'header',
      ),
      modelScoped: true,
    },
    glm(
      'fair-use',
      ['1313'],
      'QUOTA_EXHAUSTED',
      'The account is throttled under the fair-use policy until you ask the vendor to lift it (Coding Plan overview).',
    ),
    // 1314-1321: BigModel's FAQ table, every one a 429 that no retry within a session can pass.
    glm('plan-lapsed', ['1314'], 'QUOTA_EXHAUSTED', 'The enterprise plan has lapsed: ask its administrator.'),
    {
      ...glm('plan-key', ['1315'], 'AUTH_FAILED', 'This key serves the enterprise coding plan only.'),
      advice: 'Use an API key of the product type this endpoint serves (the vendor console lists them).',
    },
    glm(
      'plan-window',
      ['1316', '1317', '1318', '1319', '1320', '1321'],
      'QUOTA_EXHAUSTED',
      'A 5-hour or 7-day usage limit is reached and overage cannot be paid (no balance, or a spending cap); resets at the time given.',
      'body-reset-time',
    ),
    // A 429 of a code not listed yet naming a reset time: a quota like 1308-1321, not retried (*chosen*).
    {
      id: 'glm.unlisted-reset',
      status: 429,
      text: RESET_AT,
      troupe: 'QUOTA_EXHAUSTED',
      hint: 'body-reset-time',
      why: 'A usage limit the vendor says resets at the time given.',
    },
  ],
};

export interface VendorErrorBody {
  readonly type?: string;
  readonly code?: string;
  readonly message: string;
}

/** Reads `{ type, code, message }` out of an error body (the `error` object or the body itself). */
export function readErrorBody(value: unknown): VendorErrorBody {
  const body = typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
  const inner =
    typeof body.error === 'object' && body.error !== null ? (body.error as Record<string, unknown>) : body;
  const code = inner.code;
  return {
    ...(typeof inner.type === 'string' ? { type: inner.type } : {}),
    ...(typeof code === 'string' || typeof code === 'number' ? { code: String(code) } : {}),
    message: typeof inner.message === 'string' ? inner.message : '',
  };
}

/**
 * The first row that matches, or `undefined`. `status` is absent for errors inside a stream; then
 * a row with a status matches only by the body `type` or wording it also names.
 */
export function matchRow(
  table: VendorErrorTable,
  status: number | undefined,
  body: VendorErrorBody,
): VendorErrorRow | undefined {
  return table.rows.find((row) => {
    // Inside a stream there is no status: a row still matches by the type or wording it names
    // (Moonshot: generated content can be filtered too, so `content_filter` can come mid-answer).
    if (row.status !== 'any' && row.status !== status && (status !== undefined || !namesBody(row)))
      return false;
    if (row.type !== undefined && row.type !== body.type) return false;
    // A body without a code is in no list of codes.
    if (row.codes !== undefined && !(row.codes as readonly (string | undefined)[]).includes(body.code))
      return false;
    if (row.text !== undefined && !row.text.test(body.message)) return false;
    return true;
  });
}

/** Whether a row names a body `type` or wording, not only a status. */
function namesBody(row: VendorErrorRow): boolean {
  return row.type !== undefined || row.text !== undefined;
}

/** "please try again after 3 seconds" -> 3000. */
export function secondsHintMs(message: string): number | undefined {
  const found = /try again (?:after|in) (\d+(?:\.\d+)?) ?(?:s\b|sec|second)/i.exec(message);
  return found === null ? undefined : Math.round(Number(found[1]) * 1000);
}

/**
 * "Your limit will reset at 2026-09-10 04:24:36" (GLM 1308/1310; BigModel writes it in Chinese,
 * "您的限额将在 2026-09-10 04:24:36 重置"). Returns the time as written, and
 * the ms until it when the text carries a zone (`Z`, `+08:00`): a zoneless wall-clock time is shown
 * as the vendor wrote it, never guessed into a zone.
 */
export function resetTimeHint(
  message: string,
  now: number,
): { readonly text: string; readonly inMs?: number } | undefined {
  const found = RESET_AT.exec(message);
  if (found === null) return undefined;
  const text = found[1] as string;
  if (found[2] === undefined) return { text };
  const at = Date.parse(text.replace(' ', 'T'));
  return Number.isFinite(at) ? { text, inMs: Math.max(0, at - now) } : { text };
}
