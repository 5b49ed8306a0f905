/**
 * The documented error bodies the local server's vendor modes answer with (`vendor-error:<case>`),
 * one per row of the vendor error tables in `src/providers/vendor-errors.ts`. Sources:
 * docs/providers.md ([K4], [Z1]). Node built-ins only: this ships as `troupe/testing`.
 */
import type { VendorMode } from './vendor-modes.js';
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
    // The same body behind a gateway that dropped its `type` (MoonshotAI/kimi-code reads the words).
    {
      name: 'kimi.quota-wording',
      status: 429,
      body: {
        error: {
          message: 'You exceeded your current token quota: <org-1> 0.5, please check your account balance',
        },
      },
    },
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
    // The older wording, as MoonshotAI/MoonshotAI-Cookbook#18 quotes it.
    kimi('kimi.too-long#older', 400, 'invalid_request_error', 'model max length exceeded, max length:8192'),
    // A defence: a figure no model's window is, and a count under it, are not read as the window.
    kimi(
      'kimi.too-long#implausible',
      400,
      'invalid_request_error',
      'Invalid request: Your request exceeded model token limit: 12 (requested: 269030)',
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
    kimi(
      'kimi.client-closed',
      499,
      'client_closed_request',
      'Client closed the request before the server responded',
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
    // An overflow under the parameter code, as a user quoted GLM's body (foreveryh/claude-code-switch#12).
    glm(
      'glm.overflow',
      400,
      '1210',
      "API 调用参数有误，请检查文档。Request 182387 input tokens exceeds the model's maximum context length 202750",
    ),
    // The same past GLM-5's 200K window (anomalyco/opencode#27629, openclaw/openclaw#111744).
    glm('glm.overflow#glm-5', 400, '1210', 'tokens in request more than max tokens allowed'),
    // The vendor's tables give no status for it; the business code decides, whatever the status.
    glm('glm.policy', 400, '1300', 'API call blocked by policy'),
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
    glm('glm.two-factor', 401, '1005', '已开启二次认证保护，请完成认证后再试'),
    glm('glm.overloaded', 429, '1305', 'The API has triggered a rate limit.'),
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
    // BigModel (the mainland host) writes its messages in Chinese, the reset time before "重置".
    glm('glm.window#zh', 429, '1308', '已达到 5 小时的使用上限。您的限额将在 2026-12-01 09:15:00 重置。'),
    // 1311-1313: BigModel's table (docs.bigmodel.cn/cn/api/api-code). 1313 comes as a 429
    // (zai-org/GLM-5#77); the plan and balance codes (1113, 1308-1310) come as 429 too.
    glm('glm.plan-model', 429, '1311', 'The current subscription plan does not yet include access to GLM-5'),
    glm(
      'glm.model-busy',
      429,
      '1312',
      'This model is currently experiencing high traffic. Please try again later or switch to another model such as glm-4.7',
    ),
    glm(
      'glm.fair-use',
      429,
      '1313',
      "Your account's current usage pattern does not comply with the Fair Usage Policy, and your request frequency has been limited. To restore access, please submit a request.",
    ),
    // 1314-1321, each a 429: BigModel's FAQ table (docs.bigmodel.cn/cn/faq/api-code), its wording.
    glm('glm.plan-lapsed', 429, '1314', '您的企业套餐已失效，请联系企业管理员'),
    glm(
      'glm.plan-key',
      429,
      '1315',
      '该 API Key 仅限企业编程套餐场景使用，请到官网更换对应产品类型的 API Key',
    ),
    glm(
      'glm.plan-window',
      429,
      '1316',
      '已达到 5 小时使用上限。主账号余额不足，无法使用超额按量付费。您的限额将在 2026-12-01 14:00:00 重置。',
    ),
    // A code no table lists yet, with a reset time: a quota too (*chosen*); Z.ai's schema types the
    // code as an integer, so this one comes as a number.
    {
      name: 'glm.unlisted-reset',
      status: 429,
      body: { error: { code: 1399, message: 'Limit reached. Your limit will reset at 2026-12-02 00:00:00' } },
    },
  ],
};
