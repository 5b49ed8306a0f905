/**
 * A runtime's dashboard served as `troupe serve` serves it (the MCP app with the observe routes, on
 * a free port), and a headless Chromium to read it: what the dashboard tests share.
 */
import type { Browser } from 'playwright-core';
import { createMcpContext } from '../../src/mcp/context.js';
import { createHttpApp } from '../../src/mcp/http.js';
import {
  createObservability,
  type Observability,
  type ObservabilityOptions,
} from '../../src/observe/routes.js';
import type { Runtime } from '../../src/runtime/types.js';
import { launchChromium } from './chromium.js';

export interface ServedDashboard {
  /** `http://127.0.0.1:<port>`: the page at `/`. */
  readonly base: string;
  readonly browser: Browser;
  readonly observe: Observability;
  /** Closes the browser, the observe routes, the runtime (at once) and the app. */
  close(): Promise<void>;
}

export async function serveDashboard(
  runtime: Runtime,
  options?: ObservabilityOptions,
): Promise<ServedDashboard> {
  const mcp = createMcpContext({ runtime, log: () => {} });
  const observe = createObservability(runtime, options);
  const app = createHttpApp({ mcp, routes: observe.routes, port: 0 });
  const base = (await app.listen()).url.replace(/\/mcp$/, '');
  const browser = await launchChromium();
  return {
    base,
    browser,
    observe,
    close: async () => {
      await browser.close();
      observe.close();
      await runtime.shutdown({ deadlineMs: 0 });
      await app.close();
    },
  };
}
