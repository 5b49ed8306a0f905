/**
 * The dashboard's chart layouts, computed off the main thread. ELK runs synchronously for seconds
 * the first time (loading elkjs included); on the server's own thread that stalled every MCP call
 * and stream for as long. Started from `dashboard.ts` as a `worker_threads` Worker: lays out every
 * machine in `MACHINES` and posts the layouts back (plain data), then exits.
 */
import { parentPort } from 'node:worker_threads';
import { type ChartLayout, layoutMachines } from './chart-layout.js';

/** What the worker posts: each machine's layout by name, or why it failed. */
export type LayoutMessage =
  | { readonly ok: true; readonly layouts: Readonly<Record<string, ChartLayout>> }
  | { readonly ok: false; readonly error: string };

if (parentPort !== null) {
  const port = parentPort;
  layoutMachines().then(
    (layouts) => port.postMessage({ ok: true, layouts } satisfies LayoutMessage),
    (error: unknown) =>
      port.postMessage({
        ok: false,
        error: error instanceof Error ? error.message : String(error),
      } satisfies LayoutMessage),
  );
}
