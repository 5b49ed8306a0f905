/**
 * Probes for process managers and load balancers. `/healthz`: the process answers (liveness).
 * `/readyz`: it accepts new calls (not draining) and, in cluster mode, Redis takes a write within
 * `timeoutMs` (readiness): a PING alone answered while Redis, at its `maxmemory` or a read-only
 * replica, refused every session. Bodies are small JSON; nothing in them is secret, which is why the HTTP
 * server serves them before its Host, Origin and token checks (probes send none of those).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { settlesWithin, steadyClock, systemClock } from '../core/clock.js';
import type { Runtime } from '../runtime/types.js';

export type HealthRoute = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

export interface HealthOptions {
  readonly runtime: Runtime;
  /** Cluster mode: writes to Redis; rejects when Redis is unreachable or refuses, or hangs. */
  readonly ping?: () => Promise<unknown>;
  /** How long a PING may take before the instance counts as not ready, in ms. @default 1000 */
  readonly timeoutMs?: number;
}

export interface Readiness {
  readonly ready: boolean;
  readonly state: 'accepting' | 'draining' | 'stopped';
  /** Only in cluster mode. */
  readonly redis?: 'ok' | 'unreachable' | 'refusing writes';
  readonly reason?: string;
}

export async function readiness(options: HealthOptions): Promise<Readiness> {
  const state = options.runtime.status({ recent: 0 }).state;
  const probe =
    options.ping === undefined ? undefined : await pingWithin(options.ping, options.timeoutMs ?? 1000);
  const redis = probe?.redis;
  const reasons = [
    ...(state === 'accepting' ? [] : [`the runtime is ${state}`]),
    ...(redis === 'unreachable' ? ['Redis does not answer'] : []),
    ...(redis === 'refusing writes' ? [`Redis refuses writes: ${probe?.refusal}`] : []),
  ];
  return {
    ready: reasons.length === 0,
    state,
    ...(redis === undefined ? {} : { redis }),
    ...(reasons.length === 0 ? {} : { reason: reasons.join('; ') }),
  };
}

interface Probe {
  readonly redis: NonNullable<Readiness['redis']>;
  /** Redis's own refusal, its first line: `OOM command not allowed ...`, `READONLY ...`. */
  readonly refusal?: string;
}

async function pingWithin(ping: () => Promise<unknown>, timeoutMs: number): Promise<Probe> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<Probe>((resolve) => {
    timer = setTimeout(() => resolve({ redis: 'unreachable' }), timeoutMs);
  });
  try {
    return await Promise.race([ping().then((): Probe => ({ redis: 'ok' })), late]);
  } catch (error) {
    // An answer that is an error (ioredis's ReplyError): Redis is up and refuses; anything else is a cut.
    if ((error as Error)?.name !== 'ReplyError') return { redis: 'unreachable' };
    const refusal = String((error as Error).message)
      .split('\n')[0]
      ?.slice(0, 200);
    return { redis: 'refusing writes', refusal };
  } finally {
    clearTimeout(timer);
  }
}

export function healthRoutes(options: HealthOptions): ReadonlyMap<string, HealthRoute> {
  const send = (req: IncomingMessage, res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
    res.end(req.method === 'HEAD' ? undefined : JSON.stringify(body));
  };
  return new Map<string, HealthRoute>([
    [
      '/healthz',
      (req, res) => {
        if (req.method !== 'GET' && req.method !== 'HEAD')
          return void res.writeHead(405, { Allow: 'GET, HEAD' }).end();
        send(req, res, 200, { alive: true });
      },
    ],
    [
      '/readyz',
      async (req, res) => {
        if (req.method !== 'GET' && req.method !== 'HEAD')
          return void res.writeHead(405, { Allow: 'GET, HEAD' }).end();
        const r = await readiness(options);
        send(req, res, r.ready ? 200 : 503, r);
      },
    ],
  ]);
}

/**
 * A write for `/readyz` in cluster mode (one small key, `<prefix>:readyz`, expiring in 10 s), on a
 * connection of its own so a probe never queues behind the backend's blocking commands. Commands
 * fail at once while disconnected (no offline queue), so an outage reads as "unreachable" rather
 * than a hung probe; a Redis that answers but takes no write (`maxmemory` reached with
 * `noeviction`, a read-only replica) reads as "refusing writes", with its reason. One write answers
 * every probe for `PING_REUSE_MS`.
 */
const CONNECT_WAIT_MS = 2_000;

export async function redisPinger(
  url: string,
  prefix = 'troupe',
  /** How long one write answers every probe, in ms (0: a write a probe). */
  reuseMs = PING_REUSE_MS,
): Promise<{ ping: () => Promise<unknown>; close: () => void }> {
  const { Redis } = await import('ioredis');
  const client = new Redis(url, { enableOfflineQueue: false, maxRetriesPerRequest: 0, lazyConnect: true });
  client.on('error', () => {}); // reconnects on its own; readiness reports the outage
  // Connected before the server listens: with no offline queue, a /readyz in the first
  // milliseconds after the start line answered "unreachable" while the connection was still
  // being made. Redis is known to answer here (the backend has just connected); 2 s at most.
  await settlesWithin(
    systemClock,
    client.connect().catch(() => {}),
    CONNECT_WAIT_MS,
  );
  const key = `${prefix}:readyz`;
  // Probes need no token: one write a second at most, whoever asks (each probe was a SET, so a
  // client flooding /readyz wrote to Redis as fast as it asked; an audit).
  let last: { readonly at: number; readonly answer: Promise<unknown> } | undefined;
  // On the steady clock: a wall-clock step forward made a write at once, and one back needed a guard.
  const ping = () => {
    const now = steadyClock.now();
    if (last === undefined || now - last.at >= reuseMs)
      last = { at: now, answer: client.set(key, '1', 'PX', 10_000) };
    return last.answer;
  };
  return { ping, close: () => client.disconnect() };
}

/** How long one readiness write answers for every probe, in ms. */
export const PING_REUSE_MS = 1_000;
