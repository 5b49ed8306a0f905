/**
 * The vendor error tables and their readers, called directly: every business code Z.ai and BigModel
 * document (docs.z.ai/api-reference/api-code, docs.bigmodel.cn/cn/api/api-code) to its troupe code and hint source, the body
 * reader's shapes, the first-match rule, and the retry and reset hints read from messages.
 */
import { describe, expect, it } from 'vitest';
import {
  GLM_ERRORS,
  KIMI_ERRORS,
  matchRow,
  readErrorBody,
  resetTimeHint,
  secondsHintMs,
  type VendorErrorTable,
} from '../../../src/providers/vendor-errors.js';

/** Z.ai's business codes as its error-code page lists them, with what troupe makes of each. */
const GLM_CODES: Record<string, [string, string]> = {
  '1000': ['AUTH_FAILED', 'none'],
  '1001': ['AUTH_FAILED', 'none'],
  '1002': ['AUTH_FAILED', 'none'],
  '1003': ['AUTH_FAILED', 'none'],
  '1004': ['AUTH_FAILED', 'none'],
  '1005': ['AUTH_FAILED', 'none'],
  '1110': ['AUTH_FAILED', 'none'],
  '1111': ['AUTH_FAILED', 'none'],
  '1112': ['AUTH_FAILED', 'none'],
  '1113': ['QUOTA_EXHAUSTED', 'none'],
  '1120': ['PROVIDER_UNAVAILABLE', 'header'],
  '1121': ['AUTH_FAILED', 'none'],
  '1210': ['INVALID_REQUEST', 'none'],
  '1211': ['MODEL_NOT_FOUND', 'none'],
  '1212': ['INVALID_REQUEST', 'none'],
  '1213': ['INVALID_REQUEST', 'none'],
  '1214': ['INVALID_REQUEST', 'none'],
  '1215': ['INVALID_REQUEST', 'none'],
  '1220': ['AUTH_FAILED', 'none'],
  '1221': ['INVALID_REQUEST', 'none'],
  '1222': ['INVALID_REQUEST', 'none'],
  '1230': ['PROVIDER_UNAVAILABLE', 'header'],
  '1231': ['INVALID_REQUEST', 'none'],
  '1234': ['PROVIDER_UNAVAILABLE', 'header'],
  '1261': ['CONTEXT_TOO_LONG', 'none'],
  '1300': ['AUTH_FAILED', 'none'],
  '1301': ['CONTENT_FILTERED', 'none'],
  '1302': ['RATE_LIMITED', 'header'],
  '1303': ['RATE_LIMITED', 'header'],
  '1304': ['QUOTA_EXHAUSTED', 'none'],
  '1305': ['PROVIDER_UNAVAILABLE', 'header'],
  '1308': ['QUOTA_EXHAUSTED', 'body-reset-time'],
  '1309': ['QUOTA_EXHAUSTED', 'none'],
  '1310': ['QUOTA_EXHAUSTED', 'body-reset-time'],
  // BigModel's page (docs.bigmodel.cn/cn/api/api-code) goes on past Z.ai's: plan, model load, fair use.
  '1311': ['MODEL_NOT_FOUND', 'none'],
  '1312': ['PROVIDER_UNAVAILABLE', 'header'],
  '1313': ['QUOTA_EXHAUSTED', 'none'],
  // BigModel's FAQ table (docs.bigmodel.cn/cn/faq/api-code) goes on: 1200, and 429s 1314-1321.
  '1200': ['PROVIDER_UNAVAILABLE', 'header'],
  '1314': ['QUOTA_EXHAUSTED', 'none'],
  '1315': ['AUTH_FAILED', 'none'],
  '1316': ['QUOTA_EXHAUSTED', 'body-reset-time'],
  '1317': ['QUOTA_EXHAUSTED', 'body-reset-time'],
  '1318': ['QUOTA_EXHAUSTED', 'body-reset-time'],
  '1319': ['QUOTA_EXHAUSTED', 'body-reset-time'],
  '1320': ['QUOTA_EXHAUSTED', 'body-reset-time'],
  '1321': ['QUOTA_EXHAUSTED', 'body-reset-time'],
  '500': ['PROVIDER_UNAVAILABLE', 'header'],
};

describe('GLM_ERRORS', () => {
  it('marks only the rows of one model overloaded (1305, 1312) as modelScoped', () => {
    const scoped = GLM_ERRORS.rows.filter((r) => r.modelScoped === true).flatMap((r) => r.codes ?? []);
    expect(scoped.sort()).toEqual(['1305', '1312']);
    expect(KIMI_ERRORS.rows.some((r) => r.modelScoped === true)).toBe(false);
  });

  it.each(Object.entries(GLM_CODES))(
    'code %s is %j, at any status and inside a stream',
    (code, [troupe, hint]) => {
      for (const status of [400, 429, 500, undefined]) {
        const row = matchRow(GLM_ERRORS, status, readErrorBody({ error: { code, message: 'x' } }));
        expect(row).toMatchObject({ troupe, hint, status: 'any' });
        expect(row?.id).toMatch(/^glm\.[a-z-]+$/);
      }
      // Z.ai sends the code as a string; a number reads the same.
      expect(matchRow(GLM_ERRORS, 400, readErrorBody({ error: { code: Number(code) } }))?.troupe).toBe(
        troupe,
      );
    },
  );

  it('has a row for no other code, and none for a body without a code', () => {
    const listed = new Set(GLM_ERRORS.rows.flatMap((row) => row.codes ?? []));
    expect([...listed].sort()).toEqual(Object.keys(GLM_CODES).sort());
    expect(matchRow(GLM_ERRORS, 400, readErrorBody({ error: { code: '1999' } }))).toBeUndefined();
    expect(matchRow(GLM_ERRORS, 400, readErrorBody({ error: { message: 'no code' } }))).toBeUndefined();
  });

  it('reads 1210 whose message says the input exceeds the model’s context length as CONTEXT_TOO_LONG, at any status and in a stream', () => {
    const body = (code: string, message: string) => readErrorBody({ error: { code, message } });
    const overflow =
      "API 调用参数有误，请检查文档。Request 182387 input tokens exceeds the model's maximum context length 202750";
    for (const status of [400, undefined]) {
      expect(matchRow(GLM_ERRORS, status, body('1210', overflow))).toMatchObject({
        id: 'glm.overflow',
        troupe: 'CONTEXT_TOO_LONG',
        hint: 'none',
      });
      // Any other wording under 1210 is still a wrong parameter; the wording under another code is that code's.
      expect(matchRow(GLM_ERRORS, status, body('1210', 'API 调用参数有误，请检查文档。'))?.id).toBe(
        'glm.invalid',
      );
      expect(matchRow(GLM_ERRORS, status, body('1113', overflow))?.id).toBe('glm.arrears');
    }
  });

  it('reads 1210 “tokens in request more than max tokens allowed”, GLM-5’s overflow past its window, as CONTEXT_TOO_LONG', () => {
    // anomalyco/opencode#27629 (glm-5, glm-5.1, glm-5-turbo past 200K) and openclaw/openclaw#111744
    // ("code 1210: tokens in request more than max tokens allowed", the Coding Plan's answer).
    const body = (code: string, message: string) => readErrorBody({ error: { code, message } });
    const overflow = 'tokens in request more than max tokens allowed';
    for (const status of [400, undefined]) {
      expect(matchRow(GLM_ERRORS, status, body('1210', overflow))?.id).toBe('glm.overflow');
      expect(
        matchRow(GLM_ERRORS, status, body('1210', `Tokens in request more than max tokens allowed: 210000`))
          ?.id,
      ).toBe('glm.overflow');
      // A budget over the model's output cap is 1214's wrong parameter, not an overflow.
      expect(matchRow(GLM_ERRORS, status, body('1214', 'The max_tokens parameter is illegal.'))?.id).toBe(
        'glm.invalid',
      );
    }
  });

  it('reads a 429 of an unlisted code that names a reset time as a quota, and nothing else', () => {
    const body = (code: string, message: string) => readErrorBody({ error: { code, message } });
    const reset = 'Limit reached. Your limit will reset at 2026-12-02 00:00:00';
    expect(matchRow(GLM_ERRORS, 429, body('1399', reset))).toMatchObject({
      id: 'glm.unlisted-reset',
      troupe: 'QUOTA_EXHAUSTED',
      hint: 'body-reset-time',
    });
    expect(matchRow(GLM_ERRORS, 429, body('1399', '您的限额将在 2026-12-02 00:00:00 重置'))?.id).toBe(
      'glm.unlisted-reset',
    );
    expect(matchRow(GLM_ERRORS, 429, body('1399', 'Too many requests'))).toBeUndefined();
    expect(matchRow(GLM_ERRORS, 400, body('1399', reset))).toBeUndefined();
    expect(matchRow(GLM_ERRORS, 429, body('1302', reset))?.id).toBe('glm.concurrency');
  });

  it('inside a stream (no status) a row with a status matches by its wording alone, and not without it', () => {
    const table: VendorErrorTable = {
      vendor: 'kimi',
      rows: [
        {
          id: 't.busy',
          status: 503,
          text: /overloaded/,
          troupe: 'PROVIDER_UNAVAILABLE',
          hint: 'none',
          why: 'busy',
        },
      ],
    };
    expect(matchRow(table, undefined, readErrorBody({ error: { message: 'model overloaded' } }))?.id).toBe(
      't.busy',
    );
    expect(
      matchRow(table, undefined, readErrorBody({ error: { message: 'something else' } })),
    ).toBeUndefined();
    expect(matchRow(table, 500, readErrorBody({ error: { message: 'model overloaded' } }))).toBeUndefined();
  });
});

describe('both tables', () => {
  it('name each row by its vendor, once, and say what it means in a sentence', () => {
    for (const table of [KIMI_ERRORS, GLM_ERRORS]) {
      const ids = table.rows.map((row) => row.id);
      expect(new Set(ids).size).toBe(ids.length);
      for (const row of table.rows) {
        expect(row.id.startsWith(`${table.vendor}.`)).toBe(true);
        expect(row.why).toMatch(/^[A-Za-z].{10,}[.)]$/);
      }
    }
    expect(KIMI_ERRORS.vendor).toBe('kimi');
    expect(GLM_ERRORS.vendor).toBe('glm');
  });
});

describe('KIMI_ERRORS', () => {
  const kimi = (status: number | undefined, type: string | undefined, message = '') =>
    matchRow(KIMI_ERRORS, status, { ...(type === undefined ? {} : { type }), message })?.id;

  it("matches Moonshot's status and error type, the first matching row winning", () => {
    expect(kimi(429, 'exceeded_current_quota_error')).toBe('kimi.quota');
    expect(kimi(403, 'exceeded_current_quota_error')).toBe('kimi.quota-403');
    expect(kimi(429, 'rate_limit_reached_error', 'TPD limit reached')).toBe('kimi.tpd');
    expect(kimi(429, 'rate_limit_reached_error', 'TPDS reached')).toBe('kimi.rate');
    expect(kimi(429, 'engine_overloaded_error')).toBe('kimi.overloaded');
    expect(kimi(400, 'content_filter')).toBe('kimi.content-filter');
    expect(kimi(400, 'invalid_request_error', 'Exceeded model token limit: 262144')).toBe('kimi.too-long');
    expect(kimi(400, 'invalid_request_error', 'Token length too long')).toBe('kimi.too-long');
    expect(kimi(400, 'invalid_request_error', 'bad temperature')).toBe('kimi.invalid');
    expect(kimi(401, 'invalid_authentication_error')).toBe('kimi.auth');
    expect(kimi(403, 'permission_denied_error')).toBe('kimi.permission');
    expect(kimi(404, 'resource_not_found_error')).toBe('kimi.not-found');
    expect(kimi(500, 'server_error')).toBe('kimi.server');
  });

  it('matches the help center’s other overflow wording, prompt plus budget over the model’s specification', () => {
    // MoonshotAI/kimi-help-center en-US/kimi-api/error-codes.md, 400 `invalid_request_error`:
    // "prompt tokens + max_tokens exceeds the model specification".
    const message = 'prompt tokens + max_tokens exceeds the model specification';
    expect(kimi(400, 'invalid_request_error', message)).toBe('kimi.too-long');
    expect(kimi(undefined, 'invalid_request_error', message)).toBe('kimi.too-long');
    expect(kimi(400, 'invalid_request_error', 'exceeds the model specification')).toBe('kimi.too-long');
    expect(kimi(400, 'invalid_request_error', 'exceeds the model quota')).toBe('kimi.invalid');
  });

  it('matches Moonshot’s older overflow wording, “model max length exceeded”, and the old reference’s spacing', () => {
    // MoonshotAI/MoonshotAI-Cookbook#18 (2024-04, moonshot-v1-8k with max_tokens 8190): a 400 whose
    // message was "model max length exceeded, max length:8192". The cookbook's copy of the old API
    // reference (examples/context_caching/kimi_api.json) spells the other "exceeded model token limit : N".
    const older = 'model max length exceeded, max length:8192';
    expect(kimi(400, 'invalid_request_error', older)).toBe('kimi.too-long');
    expect(kimi(undefined, 'invalid_request_error', older)).toBe('kimi.too-long');
    expect(kimi(400, 'invalid_request_error', 'Your request exceeded model token limit : 8192')).toBe(
      'kimi.too-long',
    );
    // Another field's length is not the model's window.
    expect(kimi(400, 'invalid_request_error', 'name max length exceeded')).toBe('kimi.invalid');
  });

  it('matches a 429 that lost its type by the billing words Moonshot’s own client fails fast on', () => {
    // MoonshotAI/kimi-code commit cdbd33c1 (`kimi-errors.ts`, KIMI_QUOTA_EXHAUSTED_MESSAGE_PATTERNS, and
    // its tests' Moonshot wordings), for gateways that drop the body's `type`.
    const worded = [
      'You exceeded your current token quota: <org-1> 31275, please check your account balance',
      'You exceeded your current quota',
      'Please check your account balance',
      'Insufficient balance',
      'Recharge your account to continue',
      'Please recharge',
      'Your account is in arrears',
      'Account in arrears',
    ];
    for (const message of worded) {
      expect(kimi(429, undefined, message)).toBe('kimi.quota-wording');
      expect(kimi(429, 'upstream_error', message)).toBe('kimi.quota-wording');
      // In a stream too: the row names its wording.
      expect(kimi(undefined, undefined, message)).toBe('kimi.quota-wording');
    }
    // The quota's own type comes first; another Moonshot type in these words is a spent quota too,
    // as Moonshot's client reads the words whatever the type. Other statuses, and a per-minute
    // quota, are not it.
    expect(kimi(429, 'exceeded_current_quota_error', worded[0])).toBe('kimi.quota');
    expect(kimi(429, 'rate_limit_reached_error', worded[1])).toBe('kimi.quota-wording');
    expect(kimi(400, undefined, worded[0])).toBeUndefined();
    expect(kimi(429, undefined, 'your token quota per minute was exceeded')).toBeUndefined();
    expect(kimi(429, undefined, 'Too many requests')).toBeUndefined();
    expect(kimi(429, undefined, 'exceeded your current token limit')).toBeUndefined();
  });

  it('matches a suspended account at any status, stream errors included, whatever the type', () => {
    const message = 'Your account is Suspended due to insufficient balance';
    expect(kimi(429, 'rate_limit_reached_error', message)).toBe('kimi.suspended');
    expect(kimi(undefined, undefined, message)).toBe('kimi.suspended');
  });

  it('matches no row for another status, another type, or a stream error that a row knows only by status', () => {
    expect(kimi(402, 'exceeded_current_quota_error')).toBeUndefined();
    expect(kimi(429, 'some_new_error')).toBeUndefined();
    expect(kimi(400, undefined)).toBeUndefined();
    expect(kimi(503, undefined)).toBeUndefined();
    // kimi.auth, kimi.not-found, kimi.client-closed and kimi.server name only a status.
    expect(kimi(undefined, 'invalid_authentication_error')).toBeUndefined();
    expect(kimi(undefined, 'server_error')).toBeUndefined();
    expect(kimi(undefined, undefined, 'anything')).toBeUndefined();
  });

  it('matches a stream error (no status) by the type or wording its row names, the first row winning', () => {
    expect(kimi(undefined, 'rate_limit_reached_error')).toBe('kimi.rate');
    expect(kimi(undefined, 'rate_limit_reached_error', 'organization TPD rate limit')).toBe('kimi.tpd');
    expect(kimi(undefined, 'content_filter')).toBe('kimi.content-filter');
    expect(kimi(undefined, 'exceeded_current_quota_error')).toBe('kimi.quota');
    expect(kimi(undefined, 'invalid_request_error', 'Input token length too long')).toBe('kimi.too-long');
    expect(kimi(undefined, 'engine_overloaded_error')).toBe('kimi.overloaded');
  });

  it('gives each row its troupe code and hint source', () => {
    const rows = Object.fromEntries(
      KIMI_ERRORS.rows.map((row) => [row.id, [row.status, row.troupe, row.hint]]),
    );
    expect(rows).toEqual({
      'kimi.suspended': ['any', 'QUOTA_EXHAUSTED', 'none'],
      'kimi.quota': [429, 'QUOTA_EXHAUSTED', 'none'],
      'kimi.quota-403': [403, 'QUOTA_EXHAUSTED', 'none'],
      'kimi.quota-wording': [429, 'QUOTA_EXHAUSTED', 'none'],
      'kimi.tpd': [429, 'QUOTA_EXHAUSTED', 'none'],
      'kimi.rate': [429, 'RATE_LIMITED', 'header-or-body-seconds'],
      'kimi.overloaded': [429, 'RATE_LIMITED', 'header-or-body-seconds'],
      'kimi.content-filter': [400, 'CONTENT_FILTERED', 'none'],
      'kimi.too-long': [400, 'CONTEXT_TOO_LONG', 'none'],
      'kimi.invalid': [400, 'INVALID_REQUEST', 'none'],
      'kimi.auth': [401, 'AUTH_FAILED', 'none'],
      'kimi.permission': [403, 'AUTH_FAILED', 'none'],
      'kimi.not-found': [404, 'MODEL_NOT_FOUND', 'none'],
      'kimi.client-closed': [499, 'NETWORK', 'none'],
      'kimi.server': [500, 'PROVIDER_UNAVAILABLE', 'header'],
    });
  });
});

describe('readErrorBody', () => {
  it('reads type, code and message from the `error` object, or from the body itself', () => {
    expect(readErrorBody({ error: { type: 't', code: '1302', message: 'm' } })).toStrictEqual({
      type: 't',
      code: '1302',
      message: 'm',
    });
    expect(readErrorBody({ type: 't', code: 1302, message: 'm' })).toStrictEqual({
      type: 't',
      code: '1302',
      message: 'm',
    });
    expect(readErrorBody({ error: null, message: 'outer' })).toStrictEqual({ message: 'outer' });
    expect(readErrorBody({ error: 'text', message: 'outer' })).toStrictEqual({ message: 'outer' });
  });

  it('leaves out what is not text (or a number, for the code), and reads anything else as empty', () => {
    expect(readErrorBody({ error: { type: 5, code: true, message: 7 } })).toStrictEqual({ message: '' });
    expect(readErrorBody({ error: { code: null } })).toStrictEqual({ message: '' });
    expect(readErrorBody(null)).toStrictEqual({ message: '' });
    expect(readErrorBody('boom')).toStrictEqual({ message: '' });
    expect(readErrorBody(undefined)).toStrictEqual({ message: '' });
  });
});

describe('secondsHintMs', () => {
  it('reads "try again after/in N seconds" in any case, whole or decimal', () => {
    expect(secondsHintMs('please try again after 3 seconds')).toBe(3000);
    expect(secondsHintMs('Please Try Again In 1.5 s')).toBe(1500);
    expect(secondsHintMs('try again after 2sec, thanks')).toBe(2000);
    expect(secondsHintMs('try again after 0.0004 second')).toBe(0);
    expect(secondsHintMs('please try again after 12 seconds')).toBe(12_000);
  });

  it('reads nothing from other wording or other units', () => {
    expect(secondsHintMs('try again later')).toBeUndefined();
    expect(secondsHintMs('try again after 3 minutes')).toBeUndefined();
    expect(secondsHintMs('try again after 3 sweets')).toBeUndefined();
    expect(secondsHintMs('')).toBeUndefined();
  });
});

describe('resetTimeHint', () => {
  const now = Date.parse('2026-09-10T04:00:00Z');

  it('quotes a zoneless time as written, without a wait (never guessed into a zone)', () => {
    expect(resetTimeHint('Your limit will reset at 2026-09-10 04:24:36', now)).toStrictEqual({
      text: '2026-09-10 04:24:36',
    });
    expect(resetTimeHint('quota resets on 2026-09-10T04:24', now)).toStrictEqual({
      text: '2026-09-10T04:24',
    });
    // BigModel's Chinese wording: "your limit will reset at <time>" with the time before the verb.
    expect(
      resetTimeHint('已达到 5 小时的使用上限。您的限额将在 2026-09-10 04:24:36 重置。', now),
    ).toStrictEqual({
      text: '2026-09-10 04:24:36',
    });
    expect(resetTimeHint('您的限额将在2026-09-10 04:24:36Z重置', now)).toStrictEqual({
      text: '2026-09-10 04:24:36Z',
      inMs: 24 * 60_000 + 36_000,
    });
  });

  it('gives the wait until a zoned time, and none past it', () => {
    expect(resetTimeHint('will reset at 2026-09-10 04:24:36Z', now)).toStrictEqual({
      text: '2026-09-10 04:24:36Z',
      inMs: 24 * 60_000 + 36_000,
    });
    expect(resetTimeHint('RESETS AT 2026-09-10T12:30:00.5+08:00', now)).toStrictEqual({
      text: '2026-09-10T12:30:00.5+08:00',
      inMs: 30 * 60_000 + 500,
    });
    expect(resetTimeHint('resets at 2026-09-10 12:30:00.25+0800', now)).toStrictEqual({
      text: '2026-09-10 12:30:00.25+0800',
      inMs: 30 * 60_000 + 250,
    });
    expect(resetTimeHint('reset at 2026-09-10 03:00:00Z', now)).toStrictEqual({
      text: '2026-09-10 03:00:00Z',
      inMs: 0,
    });
  });

  it('quotes a zoned time that is no date without a wait, and finds nothing in other text', () => {
    expect(resetTimeHint('reset at 2026-19-40 04:24:36Z', now)).toStrictEqual({
      text: '2026-19-40 04:24:36Z',
    });
    expect(resetTimeHint('resets tomorrow', now)).toBeUndefined();
    expect(resetTimeHint('reset at 10:00', now)).toBeUndefined();
  });
});
