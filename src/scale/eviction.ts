/**
 * Redis's `maxmemory-policy`, which BullMQ needs at `noeviction` (docs/scale-out.md): an evicted key
 * loses a queued session or a lock. BullMQ checks it on each of its connections and says so with a
 * bare `console.warn` line, outside troupe's log format, once per connection (two for each provider,
 * and more). troupe checks it once itself, on the backend's connection, and BullMQ's own lines go to
 * the same warning (once per policy) instead of stderr.
 *
 * Not through BullMQ's `skipVersionCheck`, which silences the line but also skips reading the Redis
 * version: BullMQ then takes the minimum (5.0.0) and drops what it does only on newer servers
 * (`capabilities.canDoubleTimeout`, `canBlockFor1Ms`, the 6.0.6 paths), and no longer refuses an
 * older Redis (bullmq `src/classes/redis-connection.ts`, `init` and `getRedisVersionAndType`).
 */
import type { Redis } from 'ioredis';

/** BullMQ's line (`getRedisVersionAndType`, bullmq 5 and 6): matched exactly, nothing else is taken. */
const BULLMQ_LINE = /^IMPORTANT! Eviction policy is (.*)\. It should be "noeviction"$/;

/** What troupe says of a policy other than `noeviction`. */
export function evictionWarning(policy: string): string {
  return `Redis maxmemory-policy is "${policy}"; BullMQ needs "noeviction": at maxmemory an evicted key loses a queued session or a lock (set it with CONFIG SET maxmemory-policy noeviction, or in redis.conf)`;
}

/** The server's `maxmemory_policy` (`INFO memory`), or undefined when it does not say. */
export async function evictionPolicy(redis: Pick<Redis, 'info'>): Promise<string | undefined> {
  const info = await redis.info('memory');
  const line = /^maxmemory_policy:(.*)$/m.exec(info);
  return line?.[1]?.trim();
}

const listeners = new Set<(policy: string) => void>();
let original: typeof console.warn | undefined;
let routed: typeof console.warn | undefined;

/**
 * Sends BullMQ's eviction line to `onPolicy` instead of stderr until the returned function is
 * called; any other `console.warn` goes through as before.
 */
export function routeBullmqEvictionLines(onPolicy: (policy: string) => void): () => void {
  listeners.add(onPolicy);
  if (original === undefined) {
    const previous = console.warn;
    original = previous;
    routed = (...args: unknown[]) => {
      const match = args.length === 1 && typeof args[0] === 'string' ? BULLMQ_LINE.exec(args[0]) : null;
      if (match === null || listeners.size === 0) previous.apply(console, args);
      else for (const listener of listeners) listener(match[1] as string);
    };
    console.warn = routed;
  }
  return () => {
    listeners.delete(onPolicy);
    if (listeners.size > 0 || original === undefined) return;
    // Put back only what troupe put there: another wrapper installed since stays.
    if (console.warn === routed) console.warn = original;
    original = undefined;
    routed = undefined;
  };
}

/**
 * Checks the policy now and routes BullMQ's lines: `warn` hears each policy other than
 * `noeviction` once. Returns what stops the routing (the backend's close).
 */
export async function watchEvictionPolicy(
  redis: Pick<Redis, 'info'>,
  warn: (message: string, fields: { readonly maxmemoryPolicy: string }) => void,
): Promise<() => void> {
  const told = new Set<string>();
  const tell = (policy: string) => {
    if (policy === 'noeviction' || told.has(policy)) return;
    told.add(policy);
    warn(evictionWarning(policy), { maxmemoryPolicy: policy });
  };
  const stop = routeBullmqEvictionLines(tell);
  // A Redis that refuses INFO (renamed on some managed services) is said, and leaves the check to
  // BullMQ's lines; the start goes on.
  const policy = await evictionPolicy(redis).catch((error: unknown) => {
    warn(
      `could not read Redis's maxmemory-policy (INFO memory: ${(error as Error).message}); BullMQ needs "noeviction"`,
      { maxmemoryPolicy: 'unknown' },
    );
    return undefined;
  });
  if (policy !== undefined) tell(policy);
  return stop;
}
