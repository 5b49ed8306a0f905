/** Every error code, for the tests of the hints each gets (`errors.test.ts`, `own-tool-hints.test.ts`). */
import type { TroupeErrorCode } from '../../../src/core/errors.js';

export const CODES: readonly TroupeErrorCode[] = [
  'QUEUE_FULL',
  'SHUTTING_DOWN',
  'TIMED_OUT',
  'CANCELLED',
  'INVALID_REQUEST',
  'UNKNOWN_PROVIDER',
  'UNKNOWN_SESSION',
  'BACKEND_UNAVAILABLE',
  'BUDGET_EXCEEDED',
  'INTERNAL',
  'RATE_LIMITED',
  'AUTH_FAILED',
  'MODEL_NOT_FOUND',
  'PROVIDER_UNAVAILABLE',
  'NETWORK',
  'BAD_RESPONSE',
  'NOT_CONFIGURED',
  'QUOTA_EXHAUSTED',
  'CONTENT_FILTERED',
  'CONTEXT_TOO_LONG',
];
