/**
 * One way to open a Redis connection: connect and ping first, so a wrong URL or a Redis that is
 * down is a clear `BACKEND_UNAVAILABLE` at start, never a hang; the URL's password is never shown.
 */
import { Redis } from 'ioredis';
import { type Clock, settlesWithin, systemClock } from '../core/clock.js';
import { runtimeError } from '../core/errors.js';

export interface ConnectOptions {
  /** @default 3000 */
  readonly connectTimeoutMs?: number;
  /** What the connection is for, in the error message (e.g. "for MCP tasks"). */
  readonly purpose?: string;
}

export async function connectRedis(url: string, options: ConnectOptions = {}): Promise<Redis> {
  const redis = new Redis(url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: options.connectTimeoutMs ?? 3000,
    retryStrategy: (times) => Math.min(times * 100, 1000),
  });
  // Errors surface through commands and the reconnect loop; an unhandled 'error' event would crash.
  // The last one is kept: it says why (`connect ECONNREFUSED 127.0.0.1:6379`), where a failed
  // `connect()` only says "Connection is closed.".
  let cause: Error | undefined;
  redis.on('error', (error: Error) => {
    cause = error;
  });
  try {
    await redis.connect();
    await redis.ping();
  } catch (error) {
    redis.disconnect();
    const purpose = options.purpose === undefined ? '' : ` ${options.purpose}`;
    const why = cause?.message || (error as Error).message || 'no answer';
    throw runtimeError(
      'BACKEND_UNAVAILABLE',
      `Expected Redis at ${redactUrl(url)}${purpose}, got ${why}; start redis-server there or give the URL of a running one`,
      { cause: cause ?? error },
    );
  }
  return redis;
}

/** How long closing a connection waits for Redis to answer QUIT, in ms. */
export const QUIT_TIMEOUT_MS = 2_000;

/**
 * Closes `redis` with QUIT (the replies on their way arrive first), and drops it when QUIT fails
 * (Redis away) or gets no answer within `timeoutMs` (a Redis that stopped answering): a close never
 * waits longer. Resolves false only in that last case, for the caller to report.
 */
export async function quitWithin(
  redis: Redis,
  timeoutMs = QUIT_TIMEOUT_MS,
  clock: Clock = systemClock,
): Promise<boolean> {
  // A QUIT that fails (Redis away) has answered too: the connection is dropped below either way.
  const answered = await settlesWithin(clock, redis.quit(), timeoutMs);
  if (redis.status !== 'end') redis.disconnect();
  return answered;
}

/** What a store whose `close` gave up on QUIT reports. */
export function quitTimedOut(purpose: string, timeoutMs = QUIT_TIMEOUT_MS): Error {
  return new Error(
    `Expected Redis to answer QUIT within ${timeoutMs} ms on closing the connection ${purpose}, got no answer; dropped the connection`,
  );
}

export function redactUrl(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@');
}
