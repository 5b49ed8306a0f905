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
  /**
   * How long connecting, logging in and the first PING may take in all, in ms: `connectTimeoutMs`
   * bounds only the TCP connect, and a Redis (or a proxy, a firewall) that accepts the connection
   * but never answers left the start waiting forever. @default READY_TIMEOUT_MS
   */
  readonly readyTimeoutMs?: number;
  /** Times the deadline above. @default the system clock */
  readonly clock?: Clock;
  /**
   * Sends what one turn of the event loop issues as one pipeline (ioredis `enableAutoPipelining`),
   * for the backend's connection: many small commands from many sessions at once. Not for the
   * stores' (conversations, tasks, events): their calls are few and large, and a pipeline cost a
   * 16 KiB conversation's get and save twice the client CPU. @default false
   */
  readonly pipelined?: boolean;
}

/** The longest wait between two attempts to reconnect, in ms. */
export const RECONNECT_MAX_MS = 1000;

/**
 * How long a lost connection waits before its next attempt: 100 ms more each time, 1 s at most. Every
 * connection to Redis uses it, BullMQ's queues and workers included: theirs backed off to 20 s by
 * default, so after an outage of 40 s calls were refused for 18 s more while `/readyz` said ready.
 */
export const reconnectDelay = (times: number): number => Math.min(times * 100, RECONNECT_MAX_MS);

/** How long a connection may take to answer its first PING, connecting included, in ms. */
export const READY_TIMEOUT_MS = 5_000;

export async function connectRedis(url: string, options: ConnectOptions = {}): Promise<Redis> {
  const problem = redisUrlProblem(url);
  if (problem !== undefined) throw runtimeError('INVALID_REQUEST', problem);
  const redis = new Redis(url, {
    lazyConnect: true,
    // `pipelined`: at 64 sessions in flight on one instance, a write(2) per command was about a
    // quarter of the process's time. Order is kept but for commands ioredis never pipelines (MULTI
    // among them), sent at once: none is used on the backend's connection (`redis-store.ts` writes
    // its two atomic steps as scripts).
    enableAutoPipelining: options.pipelined ?? false,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: options.connectTimeoutMs ?? 3000,
    retryStrategy: reconnectDelay,
  });
  // Errors surface through commands and the reconnect loop; an unhandled 'error' event would crash.
  // The last one is kept: it says why (`connect ECONNREFUSED 127.0.0.1:6379`), where a failed
  // `connect()` only says "Connection is closed.".
  let cause: Error | undefined;
  redis.on('error', (error: Error) => {
    cause = error;
  });
  const readyMs = options.readyTimeoutMs ?? READY_TIMEOUT_MS;
  let timedOut = false;
  let failure: Error | undefined;
  try {
    const ready = (async () => {
      await redis.connect();
      await redis.ping();
      // ioredis selects the URL's database on connecting but only reports a refusal as an 'error'
      // event and goes on in database 0: a `/99` on a Redis with 16 databases was ignored unseen.
      const db = new URL(url).pathname.slice(1);
      if (db !== '' && Number(db) !== 0) await redis.select(Number(db));
    })();
    // settlesWithin handles a rejection that comes after the deadline; before it, `await` rethrows.
    timedOut = !(await settlesWithin(options.clock ?? systemClock, ready, readyMs));
    if (!timedOut) await ready;
  } catch (error) {
    failure = error as Error;
  }
  if (timedOut || failure !== undefined) {
    redis.disconnect();
    const purpose = options.purpose === undefined ? '' : ` ${options.purpose}`;
    const last = cause?.message ? ` (last error: ${cause.message})` : '';
    const why = timedOut
      ? `no answer within ${readyMs} ms${last}`
      : cause?.message || failure?.message || 'no answer';
    // A TLS handshake with a Redis that speaks plain text waits out the connect timeout and says
    // only ETIMEDOUT: name the likelier cause.
    const tls = url.startsWith('rediss:') && /ETIMEDOUT|timed? ?out|no answer/i.test(why) ? TLS_HINT : '';
    throw runtimeError(
      'BACKEND_UNAVAILABLE',
      `Expected Redis at ${redactUrl(url)}${purpose}, got ${why}${tls}; ${fixFor(why)}`,
      { cause: withoutCommand(cause ?? failure ?? new Error(why)) },
    );
  }
  return redis;
}

/**
 * What to do about a failed connect. A Redis that answered but refused the login is running: telling
 * its operator to start redis-server there sent them after the wrong thing.
 */
function fixFor(why: string): string {
  if (/\bNOAUTH\b/.test(why))
    return 'Redis there asks for a password: put it in the URL, redis://:password@host:port';
  if (/\bWRONGPASS\b/.test(why))
    return 'Redis there refused the login: check the user and password in the URL';
  return 'start redis-server there or give the URL of a running one';
}

/** Added to a timed-out `rediss://` connection's error. */
const TLS_HINT =
  ' (rediss:// speaks TLS: a Redis without TLS on that port never answers the handshake; use redis:// for it)';

/**
 * The error as a cause may carry it: its name, message and code, without the rest. ioredis' reply
 * errors carry the command that failed, and for a refused login that is `AUTH` with the password
 * (`command: { name: 'auth', args: ['user', 'password'] }`): kept as the cause, it showed wherever
 * an embedder logged the start's error whole (`console.error`, `util.inspect`).
 */
function withoutCommand(error: unknown): Error {
  if (!(error instanceof Error)) return new Error(String(error));
  const copy = new Error(error.message);
  copy.name = error.name;
  const code = (error as NodeJS.ErrnoException).code;
  if (code !== undefined) Object.assign(copy, { code });
  return copy;
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

/**
 * `url` with its credentials hidden: everything between `//` and the last `@` (a host holds no
 * `@`, so all before it is the user and password, whatever they contain, `/` and `@` included) and
 * the value of a `password` query parameter, which ioredis reads too.
 */
export function redactUrl(url: string): string {
  const start = url.indexOf('//');
  const at = url.lastIndexOf('@');
  const hidden = start >= 0 && at > start ? `${url.slice(0, start + 2)}***${url.slice(at)}` : url;
  return hidden.replace(/([?&]password=)[^&#]*/gi, '$1***');
}

/**
 * Why `url` is not a Redis URL troupe can connect to as written, or undefined. ioredis reads URLs
 * with Node's legacy parser, which takes a password holding `/`, `?` or `#` (a base64 password,
 * say) for the end of the host: it then connected to 127.0.0.1:6379 without the password and
 * printed the whole URL in a deprecation warning. Such a password must be percent-encoded, and an
 * empty URL, another scheme or a database that is not a number is refused here before any
 * connection, without showing the password.
 */
export function redisUrlProblem(url: string): string | undefined {
  const expected = 'Expected a Redis URL such as redis://[user:password@]host:port[/db] (rediss:// for TLS)';
  if (url.trim() === '') return `${expected}, got an empty string`;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return `${expected}, got \`${redactUrl(url)}\`, which does not parse (percent-encode a password's \`/\`, \`?\` and \`#\`, e.g. \`/\` as %2F)`;
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    return `${expected}, got the scheme \`${parsed.protocol}\` in \`${redactUrl(url)}\``;
  }
  if (parsed.hostname === '') return `${expected}, got no host in \`${redactUrl(url)}\``;
  try {
    // ioredis decodes them; a stray `%` threw "URI malformed", which named nothing.
    decodeURIComponent(parsed.username + parsed.password);
  } catch {
    return `${expected}, got a user or password in \`${redactUrl(url)}\` with a \`%\` not followed by two hex digits (write \`%\` as %25)`;
  }
  if (!/^(?:\/\d*)?$/.test(parsed.pathname)) {
    return `${expected}, got a database that is not a number in \`${redactUrl(url)}\``;
  }
  return undefined;
}

/**
 * Drops a connection at once. One waiting to reconnect emits no `end` when dropped
 * (redis/ioredis#1830), and a Worker's close waits for that `end` (then stops its lock renewal
 * timer): one last attempt, already marked as closed by `disconnect()`, ends it either way.
 */
export function drop(redis: { readonly status: string; connect(): Promise<void>; disconnect(): void }): void {
  const waiting = redis.status === 'reconnecting';
  redis.disconnect();
  if (waiting) redis.connect().then(() => redis.disconnect(), endedAnyway);
}

/** A dropped connection's last attempt failed to connect: that is its end (`drop`). */
function endedAnyway(): void {}
