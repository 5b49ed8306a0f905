import type { SessionInput } from '../../../machines/session.js';
import type { TroupeErrorData } from '../../../src/core/errors.js';

export const INPUT: SessionInput = {
  sessionId: 's1',
  requestId: 'r1',
  provider: 'p',
  model: 'm',
  priority: 5,
  stream: false,
  createdAt: 1000,
  queueDeadlineAt: 2000,
  timeoutMs: 10_000,
  idleTimeoutMs: 500,
  maxAttempts: 3,
  backoffBaseMs: 100,
  backoffMaxMs: 1000,
};

export const RATE_LIMITED: TroupeErrorData = {
  family: 'provider',
  code: 'RATE_LIMITED',
  message: 'Expected a completion, got 429',
  retryable: true,
  retryAfterMs: 300,
};

export const UNAVAILABLE: TroupeErrorData = {
  family: 'provider',
  code: 'PROVIDER_UNAVAILABLE',
  message: 'Expected a completion, got 503',
  retryable: true,
};

export const AUTH_FAILED: TroupeErrorData = {
  family: 'provider',
  code: 'AUTH_FAILED',
  message: 'Expected the key to be accepted, got 401',
  retryable: false,
};
