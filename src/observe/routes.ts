/**
 * Mounts observability on the HTTP server through its routes hook: the dashboard at `/`, its event
 * stream at `/events`, a JSON snapshot at `/api/status`, Prometheus text at `/metrics`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Runtime } from '../runtime/types.js';
import { dashboardHtml } from './dashboard.js';
import { type EventStreamOptions, eventStreamRoute } from './event-stream-route.js';
import { createMetricsExporter, type RuntimeMetricsExporter } from './metrics.js';
import { type MonitorOptions, type ObserveScope, RuntimeMonitor } from './monitor.js';

/**
 * Model ids, labels and codes from clients reach `/api/status` and `/metrics`: read as what they are
 * labelled (JSON, text), never sniffed into a page, and refused as a script or style of another page.
 */
export const NOSNIFF = { 'X-Content-Type-Options': 'nosniff' } as const;

export type Route = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

/**
 * The routes that show every caller's work (session ids, model ids, states): `troupe serve` mounts
 * them as `operatorRoutes`, refused to a named token that is not the admin and, beside named
 * tokens, to the shared one. `/metrics` joined them on 2026-12-08: its counts are aggregates, but
 * its `model` labels are the model ids every caller called (a fine-tuned id can name a customer).
 */
export const OPERATOR_PATHS: ReadonlySet<string> = new Set(['/', '/events', '/api/status', '/metrics']);

export interface Observability {
  readonly routes: ReadonlyMap<string, Route>;
  readonly monitor: RuntimeMonitor;
  readonly metrics: RuntimeMetricsExporter;
  /** Browsers (or other clients) connected to `/events` now; each holds one runtime subscription. */
  readonly eventClients: number;
  /** Ends event streams and stops listening to the runtime. */
  close(): void;
}

export interface ObservabilityOptions {
  readonly monitor?: MonitorOptions;
  readonly events?: EventStreamOptions;
  /** What `/`, `/api/status` and `/metrics` cover; `cluster` with the Redis backend. @default { kind: 'instance' } */
  readonly scope?: ObserveScope;
  /** The HTTP front's live 2025-era MCP sessions, for `troupe_mcp_sessions` (`HttpApp.sessionCount`). */
  readonly mcpSessions?: () => number;
  /** Events `--inspect` dropped, for `troupe_inspector_dropped_events` (`ConnectedInspector.droppedEvents`). */
  readonly inspectorDroppedEvents?: () => number;
  /** The HTTP front's bytes waiting for clients, for `troupe_http_unsent_bytes` (`HttpApp.unsentBytes`). */
  readonly httpUnsentBytes?: () => number;
  /** The HTTP front's answers held, for `troupe_http_held_bytes` (`HttpApp.heldBytes`). */
  readonly httpHeldBytes?: () => number;
}

export function createObservability(runtime: Runtime, options: ObservabilityOptions = {}): Observability {
  const scope = options.scope ?? { kind: 'instance' };
  const monitor = new RuntimeMonitor(runtime, { scope, ...options.monitor });
  const metrics = createMetricsExporter(runtime, scope, options);
  const events = eventStreamRoute(runtime, monitor, options.events);
  const routes = new Map<string, Route>([
    [
      '/',
      async (req, res) => {
        if (!isRead(req, res)) return;
        // Laid out once per process, on the first request (a rejection becomes the server's 500).
        const html = await dashboardHtml();
        res.writeHead(200, {
          'Content-Type': 'text/html; charset=utf-8',
          'Cache-Control': 'no-store',
          'Content-Security-Policy':
            "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
          'X-Frame-Options': 'DENY',
        });
        res.end(req.method === 'HEAD' ? undefined : html);
      },
    ],
    ['/events', events.handler],
    [
      '/api/status',
      (req, res) => {
        if (!isRead(req, res)) return;
        res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store', ...NOSNIFF });
        res.end(JSON.stringify(monitor.snapshot()));
      },
    ],
    [
      '/metrics',
      async (req, res) => {
        if (!isRead(req, res)) return;
        const text = await metrics.scrape();
        res.writeHead(200, { 'Content-Type': metrics.contentType, ...NOSNIFF });
        res.end(text);
      },
    ],
  ]);
  return {
    routes,
    monitor,
    metrics,
    get eventClients() {
      return events.clients;
    },
    close() {
      events.close();
      monitor.close();
      metrics.close();
    },
  };
}

function isRead(req: IncomingMessage, res: ServerResponse): boolean {
  if (req.method === 'GET' || req.method === 'HEAD') return true;
  res.writeHead(405, { Allow: 'GET, HEAD' }).end();
  return false;
}
