/**
 * Tool error results: every refusal or failure reaches the client as a tool result with
 * `isError: true` whose text names the error code and what to do about it, so a model reading
 * it can act (call again, pick another model, fix an argument) instead of guessing.
 */
import type { TimeoutKind, TroupeErrorCode, TroupeErrorData } from '../core/errors.js';
import { toErrorData } from '../core/errors.js';

/**
 * What a caller should do next, by error code. "Retry" is said only of troupe's own retries within
 * a call, which `retryable` tells; the caller is told to "call again". Until 2026-12-07 the hints of
 * `QUEUE_FULL`, `TIMED_OUT` and others said "Retry" beside `retryable: false`, the contradiction
 * `BACKEND_UNAVAILABLE`'s hint had been rid of (docs/mcp.md, "Tools").
 */
const HINTS: Readonly<Record<TroupeErrorCode, string>> = {
  QUEUE_FULL:
    'The server queue is full, and troupe does not queue or retry a call it refused (so retryable is false): call again in a few seconds, or send fewer calls at once.',
  SHUTTING_DOWN: 'The server is shutting down. Call again once it is back, or against another instance.',
  TIMED_OUT: 'The call passed its deadline. Call again with a larger timeout_ms or a shorter request.',
  CANCELLED: 'The call was cancelled. Call again if the answer is still needed.',
  INVALID_REQUEST: 'Fix the arguments as the message says, then call again.',
  UNKNOWN_PROVIDER: 'Call list_models to see the providers this server has, then call again.',
  UNKNOWN_SESSION: 'Call the sessions tool to list live and recent sessions.',
  BACKEND_UNAVAILABLE:
    "The session backend (Redis) is unavailable, and troupe does not retry a call for it (so retryable is false): call again in a few seconds. If the message says the call's end is not known, read the session by id first (the sessions tool), since it may have run.",
  BUDGET_EXCEEDED:
    "This caller's daily budget (or the server's) is spent. Wait for the reset the message names (see retry_after_ms); calling again now will not help.",
  INTERNAL: 'The server hit an unexpected error. Call again; if it persists, report it with the session id.',
  RATE_LIMITED: 'The provider is rate limiting. Wait (see retry_after_ms when given), then call again.',
  AUTH_FAILED: "The provider refused the API key. Check the provider's key in the server's environment.",
  MODEL_NOT_FOUND: 'Call list_models to see the models this server has, then call again.',
  PROVIDER_UNAVAILABLE: 'The provider is unavailable. Call again later, or choose another provider.',
  NETWORK: 'The provider could not be reached. Call again later, or choose another provider.',
  BAD_RESPONSE: 'The provider sent an answer troupe could not read. Call again, or choose another model.',
  NOT_CONFIGURED: 'That provider has no API key configured. Call list_models to see configured providers.',
  QUOTA_EXHAUSTED:
    'The provider account is out of credit or its quota is spent. Top up, or wait for the reset the message names; calling again now will not help.',
  CONTENT_FILTERED:
    "The provider's safety review refused the input or the answer. Rephrase; the same call again will not help.",
  CONTEXT_TOO_LONG:
    "The conversation does not fit the model's context window. Shorten it, lower max_tokens, or pick a model with a larger window.",
};

/**
 * `TIMED_OUT` by which deadline: `timeout_ms` sets only the run's. Until 2026-12-04 a call that
 * waited out the queue deadline was told to retry with a larger `timeout_ms`, which changes nothing.
 */
const TIMEOUT_HINTS: Readonly<Record<Exclude<TimeoutKind, 'run'>, string>> = {
  queue:
    'The call waited in the queue past its queue deadline without starting: the server was busy. Call again in a few seconds, send fewer calls at once, or give it a higher priority; timeout_ms sets the run deadline, not this one.',
  idle: 'The provider stopped sending in the middle of its answer. Call again, or choose another provider.',
};

export function hintFor(code: TroupeErrorCode, timeout?: TimeoutKind): string {
  if (code === 'TIMED_OUT' && (timeout === 'queue' || timeout === 'idle')) return TIMEOUT_HINTS[timeout];
  return HINTS[code] ?? HINTS.INTERNAL;
}

/** The error as it appears in `structuredContent.error`. */
export interface ToolErrorInfo {
  readonly code: TroupeErrorCode;
  readonly message: string;
  readonly hint: string;
  readonly retryable: boolean;
  readonly retry_after_ms?: number;
  readonly timeout?: string;
}

export function toolErrorInfo(error: TroupeErrorData): ToolErrorInfo {
  return {
    code: error.code,
    message: error.message,
    hint: hintFor(error.code, error.timeout),
    retryable: error.retryable,
    ...(error.retryAfterMs === undefined ? {} : { retry_after_ms: error.retryAfterMs }),
    ...(error.timeout === undefined ? {} : { timeout: error.timeout }),
  };
}

/** Converts anything thrown into the structured error a tool returns. */
export function toolErrorFrom(value: unknown): ToolErrorInfo {
  return toolErrorInfo(toErrorData(value));
}

/** The one-line text a model reads: `QUEUE_FULL: <message>. <hint>` */
export function errorText(error: ToolErrorInfo): string {
  return `${error.code}: ${error.message}\n${error.hint}`;
}
