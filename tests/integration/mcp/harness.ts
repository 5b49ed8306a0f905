/**
 * An in-process troupe MCP server for tests: a real runtime with fast and slow simulated
 * providers (and optionally the local OpenAI-compatible test server), served over real HTTP on
 * 127.0.0.1 port 0, and SDK clients for both protocol eras.
 */
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { catalogFromRegistry } from '../../../src/mcp/catalog.js';
import { createMcpContext, type McpContext, type McpContextOptions } from '../../../src/mcp/context.js';
import { createHttpApp, type HttpApp, type HttpAppOptions } from '../../../src/mcp/http.js';
import { chartMermaid, MACHINES } from '../../../src/observe/chart.js';
import type { ChatProvider } from '../../../src/providers/port.js';
import { createModelRegistry } from '../../../src/providers/registry.js';
import { createSimulatedProvider, SIMULATED_MODELS } from '../../../src/providers/simulated.js';
import { createRuntime } from '../../../src/runtime/runtime.js';
import type { Limits, RuntimeOptions } from '../../../src/runtime/types.js';

export interface Harness {
  readonly mcp: McpContext;
  readonly app: HttpApp;
  readonly url: URL;
  /** A connected client; `modern` negotiates 2026-07-28, otherwise the 2025 handshake. */
  client(era?: 'legacy' | 'modern', headers?: Record<string, string>): Promise<Client>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  readonly providers?: readonly ChatProvider[];
  readonly limits?: Limits;
  readonly context?: Partial<McpContextOptions>;
  readonly http?: Partial<HttpAppOptions>;
  /** More runtime options (prices, budgets, breakers). */
  readonly runtime?: Partial<RuntimeOptions>;
}

/** `fast` answers in a few ms; `slow` takes 1.5 s; both simulated. */
export function defaultProviders(): ChatProvider[] {
  return [
    createSimulatedProvider({ name: 'fast', latencyMs: { min: 1, max: 5 } }),
    createSimulatedProvider({ name: 'slow', latencyMs: { min: 1500, max: 1500 } }),
  ];
}

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const providers = [...(options.providers ?? defaultProviders())];
  const models = SIMULATED_MODELS.map((m) => ({ id: m.id, contextWindow: m.contextWindow }));
  // Simulated providers list the simulated models; any other provider passes model ids through.
  const registry = createModelRegistry(
    providers.map((p) => ({
      name: p.name,
      configured: true,
      models: p.name === 'fast' || p.name === 'slow' ? models : [],
    })),
    { defaultProvider: providers[0]?.name },
  );
  const runtime = createRuntime({
    providers,
    router: registry.router,
    ...(options.limits === undefined ? {} : { limits: options.limits }),
    ...options.runtime,
  });
  const mcp = createMcpContext({
    runtime,
    catalog: catalogFromRegistry(registry, { defaults: { provider: providers[0]?.name } }),
    log: () => {},
    charts: Object.fromEntries(
      Object.entries(MACHINES).map(([name, machine]) => [name, chartMermaid(machine)]),
    ),
    // With tokens, as `troupe serve`: each caller sees its own sessions in the resources
    // (createHttpApp with named tokens refuses a context without a filter).
    ...(options.http?.tokens === undefined ? {} : { sessionFilter: 'owner' as const }),
    ...options.context,
  });
  // Each test sets the callers' shares it needs (running-share.test.ts); createHttpApp's refusal of
  // a runtime without them, for several named tokens, is http-caller-shares.test.ts's.
  const app = createHttpApp({ mcp, port: 0, allowNoCallerShare: true, ...options.http });
  const { url } = await app.listen();
  const clients: Client[] = [];
  return {
    mcp,
    app,
    url: new URL(url),
    async client(era = 'legacy', headers = {}) {
      const client = new Client(
        { name: 'troupe-test', version: '1.0.0' },
        era === 'modern' ? { versionNegotiation: { mode: { pin: '2026-07-28' } } } : {},
      );
      await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } }));
      clients.push(client);
      return client;
    },
    async close() {
      await Promise.allSettled(clients.map((c) => c.close()));
      await runtime.shutdown({ deadlineMs: 0 });
      await app.close();
      mcp.close();
    },
  };
}

/** The structured content of a tool result, typed loosely for assertions. */
// biome-ignore lint/suspicious/noExplicitAny: assertions read arbitrary tool JSON
export function structured(result: unknown): Record<string, any> {
  // biome-ignore lint/suspicious/noExplicitAny: assertions read arbitrary tool JSON
  return (result as { structuredContent: Record<string, any> }).structuredContent;
}

export function text(result: unknown): string {
  const content = (result as { content: { type: string; text?: string }[] }).content;
  return content.map((c) => c.text ?? '').join('\n');
}

/** An SDK client over Streamable HTTP that sends `token` as its bearer token. */
export async function clientWith(h: Harness, token: string): Promise<Client> {
  const client = new Client({ name: 'token-client', version: '1' });
  await client.connect(
    new StreamableHTTPClientTransport(h.url, {
      requestInit: { headers: { authorization: `Bearer ${token}` } },
    }),
  );
  return client;
}
