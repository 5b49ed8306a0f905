/**
 * How the tool contract's client reaches your `register`: the SDK's in-memory transport, or
 * Streamable HTTP on 127.0.0.1 at a free port.
 *
 * Over `memory` one `McpServer` holds your tool, and each client gets a linked pair of transports.
 * Over `http` the suite serves your tool as troupe serves 2026-07-28 clients (`src/mcp/http.ts`):
 * the SDK's per-request handler (`createMcpHandler`, through `@modelcontextprotocol/node`'s
 * `toNodeHandler`) on `node:http`, a fresh `McpServer` for each request with `register` called on
 * it, and the SDK's `StreamableHTTPClientTransport` pinned to 2026-07-28. There a cancellation
 * is the client dropping that request's stream (no `notifications/cancelled`), and a dropped
 * connection aborts the handler's request: the SDK tears the request's server down. (A 2025-era
 * session, one `NodeStreamableHTTPServerTransport` a client, does not: the transport spec says a
 * disconnection is not a cancellation, and the SDK keeps the handler running.)
 */
import { createServer } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import {
  Client,
  InMemoryTransport,
  StreamableHTTPClientTransport,
  type Transport,
} from '@modelcontextprotocol/client';
import { toNodeHandler } from '@modelcontextprotocol/node';
import { createMcpHandler, McpServer } from '@modelcontextprotocol/server';
import { Agent, fetch as undiciFetch } from 'undici';
import type { Runtime } from '../../runtime/types.js';
import type { ToolContractOptions, ToolContractTransport } from './types.js';

/** A client of your tool, and a new one once it went away. */
export interface Link {
  readonly client: Client;
  /** The client's transport, to watch the wire. */
  readonly transport: Transport;
  /** The client goes away: it closes, with whatever call it has open. */
  drop(): Promise<void>;
  /** A new client, after `drop()`. */
  reconnect(): Promise<void>;
  /** Closes the client, the server and whatever `register` returned to close. */
  close(): Promise<void>;
  /** What `register` threw on the server side (over HTTP it runs for each request), if it threw. */
  registerError(): unknown;
}

const INFO = { name: 'troupe-tool-contract', version: '1' };

/** Calls `cleanup` if `register` returned a function, once. */
function cleanupOf(returned: unknown): () => Promise<void> {
  let done = false;
  return async () => {
    if (done || typeof returned !== 'function') return;
    done = true;
    await returned();
  };
}

export function openLink(
  transport: ToolContractTransport,
  register: ToolContractOptions['register'],
  runtime: Runtime,
): Promise<Link> {
  return transport === 'http' ? httpLink(register, runtime) : memoryLink(register, runtime);
}

/**
 * A link whose client `open` connects (anew after each drop); `closeServer` closes the rest once
 * the client is closed.
 */
function clientLink(
  open: () => Promise<{ readonly client: Client; readonly transport: Transport }>,
  closeServer: () => Promise<void>,
  registerError: () => unknown = () => undefined,
): Link {
  let opened: { readonly client: Client; readonly transport: Transport } | undefined;
  // In memory the client's linked server transport closes with it; over HTTP its transport aborts
  // every request stream it has open, and the connection drops. Either way the SDK aborts the
  // handler's request.
  const drop = async () => {
    await opened?.client.close().catch(() => {});
  };
  return {
    get client() {
      return opened?.client as Client;
    },
    get transport() {
      return opened?.transport as Transport;
    },
    drop,
    async reconnect() {
      opened = await open();
    },
    async close() {
      await drop();
      await closeServer();
    },
    registerError,
  };
}

async function memoryLink(register: ToolContractOptions['register'], runtime: Runtime): Promise<Link> {
  const server = new McpServer(INFO);
  let cleanup = cleanupOf(undefined);
  const link = clientLink(
    async () => {
      const [clientEnd, serverEnd] = InMemoryTransport.createLinkedPair();
      await server.connect(serverEnd);
      const client = new Client(INFO);
      await client.connect(clientEnd);
      return { client, transport: clientEnd };
    },
    async () => {
      await cleanup();
      await server.close().catch(() => {});
    },
  );
  try {
    cleanup = cleanupOf(await register(server, runtime));
    await link.reconnect();
  } catch (error) {
    await link.close();
    throw error;
  }
  return link;
}

async function httpLink(register: ToolContractOptions['register'], runtime: Runtime): Promise<Link> {
  const cleanups = new Set<() => Promise<void>>();
  let registerError: unknown;
  const handler = createMcpHandler(
    async () => {
      const server = new McpServer(INFO);
      try {
        const cleanup = cleanupOf(await register(server, runtime));
        cleanups.add(cleanup);
        // The request's exchange is over when the SDK closes its server: close what `register` made.
        const close = server.close.bind(server);
        server.close = async () => {
          cleanups.delete(cleanup);
          await close();
          await cleanup();
        };
      } catch (error) {
        registerError ??= error;
        throw error;
      }
      return server;
    },
    { legacy: 'reject' },
  );
  const http = createServer(toNodeHandler(handler));
  // Its sockets, so closing waits until each is gone: no handle outlives the check.
  const sockets = new Set<Socket>();
  http.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  // The client's own connection pool, closed with it (the global fetch's would outlive the check).
  const agent = new Agent();
  const fetch = ((input: string | URL, init?: RequestInit) =>
    undiciFetch(input, {
      ...(init as Parameters<typeof undiciFetch>[1]),
      dispatcher: agent,
    })) as unknown as typeof globalThis.fetch;
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(0, '127.0.0.1', () => resolve());
  });
  const url = new URL(`http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp`);
  const link = clientLink(
    async () => {
      const client = new Client(INFO, { versionNegotiation: { mode: { pin: '2026-07-28' } } });
      const transport = new StreamableHTTPClientTransport(url, { fetch });
      await client.connect(transport);
      return { client, transport };
    },
    async () => {
      await handler.close().catch(() => {});
      await agent.destroy().catch(() => {});
      const gone = [...sockets].map((socket) => new Promise((resolve) => socket.once('close', resolve)));
      await new Promise<void>((resolve) => {
        http.close(() => resolve());
        http.closeAllConnections();
      });
      await Promise.all(gone);
      await Promise.allSettled([...cleanups].map((cleanup) => cleanup()));
    },
    () => registerError,
  );
  try {
    await link.reconnect();
  } catch (error) {
    await link.close();
    throw registerError ?? error;
  }
  return link;
}
