/**
 * Probes for process managers and load balancers. `/healthz`: the process answers (liveness).
 * `/readyz`: it accepts new calls (not draining) and, in cluster mode, Redis answers a PING within
 * `timeoutMs` (readiness). Bodies are small JSON; nothing in them is secret, which is why the HTTP
 * server serves them before its Host, Origin and token checks (probes send none of those).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Runtime } from '../runtime/types.js';

export type HealthRoute = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

export interface HealthOptions {
  readonly runtime: Runtime;
  /** Cluster mode: pings Redis; rejects or hangs when Redis is unreachable. */
  readonly ping?: () => Promise<unknown>;
  /** How long a PING may take before the instance counts as not ready, in ms. @default 1000 */
  readonly timeoutMs?: number;
}

export interface Readiness {
  readonly ready: boolean;
  readonly state: 'accepting' | 'draining' | 'stopped';
  /** Only in cluster mode. */
  readonly redis?: 'ok' | 'unreachable';
  readonly reason?: string;
}

export async function readiness(options: HealthOptions): Promise<Readiness> {
  const state = options.runtime.status({ recent: 0 }).state;
  const redis =
    options.ping === undefined ? undefined : await pingWithin(options.ping, options.timeoutMs ?? 1000);
  const reasons = [
    ...(state === 'accepting' ? [] : [`the runtime is ${state}`]),
    ...(redis === 'unreachable' ? ['Redis does not answer'] : []),
  ];
  return {
    ready: reasons.length === 0,
    state,
    ...(redis === undefined ? {} : { redis }),
    ...(reasons.length === 0 ? {} : { reason: reasons.join('; ') }),
  };
}

async function pingWithin(ping: () => Promise<unknown>, timeoutMs: number): Promise<'ok' | 'unreachable'> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'unreachable'>((resolve) => {
    timer = setTimeout(() => resolve('unreachable'), timeoutMs);
  });
  try {
    return await Promise.race([ping().then(() => 'ok' as const), late]);
  } catch {
    return 'unreachable';
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
 * A PING for `/readyz` in cluster mode, on a connection of its own so a probe never queues behind
 * the backend's blocking commands. Commands fail at once while disconnected (no offline queue), so
 * an outage reads as "unreachable" rather than a hung probe.
 */
export async function redisPinger(url: string): Promise<{ ping: () => Promise<unknown>; close: () => void }> {
  const { Redis } = await import('ioredis');
  const client = new Redis(url, { enableOfflineQueue: false, maxRetriesPerRequest: 0, lazyConnect: true });
  client.on('error', () => {}); // reconnects on its own; readiness reports the outage
  client.connect().catch(() => {});
  return { ping: () => client.ping(), close: () => client.disconnect() };
}
