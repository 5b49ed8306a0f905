/**
 * `troupe inspector`: the local relay between `troupe serve --inspect` and Stately's inspector page,
 * as `@statelyai/inspect/server`'s `createInspectorServer` is, with two differences that keep
 * prompts on this machine. That server listens on every interface and takes any WebSocket: any host
 * on the network, or any web page open in the operator's browser (a WebSocket is not held to the
 * same-origin rule), could connect and read every inspected session's context, prompts and answers
 * included, the last 200 messages replayed at once (measured against 0.7.2). This relay listens on
 * loopback only and refuses a WebSocket whose `Origin` is not its own page's, or whose `Host` is not
 * a loopback name (DNS rebinding), and answers 400 to two Host fields (`core/host-fields.ts`). A
 * client that sends no `Origin` (troupe, any local program) is taken: it runs on this machine
 * already. Bounded as `/events` is: `maxClients` WebSockets at once, and a client that stops
 * reading is dropped once its backlog passes `maxClientBacklogBytes`.
 *
 * `ws` comes with `@statelyai/inspect` (an optional peer dependency), loaded only here.
 */
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostFieldsProblem } from '../core/host-fields.js';
import { loopbackUrl } from './inspect.js';
import { broughtByInspect, firstLine } from './inspect-deps.js';

export interface InspectorRelayOptions {
  /** @default 8080 (the port `--inspect` sends to); 0 for any free one */
  readonly port?: number;
  /** A loopback address. @default '127.0.0.1' */
  readonly host?: string;
  /** Messages kept for a page that connects later; the oldest go first. @default 200 */
  readonly maxBufferedMessages?: number;
  /** Bytes of those messages kept, at most; the oldest go first. @default 33554432 (32 MiB) */
  readonly maxBufferedBytes?: number;
  /** Largest message taken, in bytes; a larger one closes its socket (1009). @default 8388608 (8 MiB) */
  readonly maxMessageBytes?: number;
  /** WebSockets open at once (pages and senders alike); one more is refused with 503. @default 16 */
  readonly maxClients?: number;
  /**
   * Bytes a client may have waiting unsent (a page or program that stopped reading) when a message
   * is to be relayed to it; past it the client is dropped. @default maxBufferedBytes + maxMessageBytes
   */
  readonly maxClientBacklogBytes?: number;
  /** The inspector page the bridge embeds. @default 'https://stately.ai/inspect' */
  readonly inspectorUrl?: string;
}

export interface InspectorRelay {
  /** What `--inspect-url` takes, e.g. `ws://127.0.0.1:8080/`. */
  readonly url: string;
  /** The page to open in a browser: it embeds Stately's inspector and feeds it. */
  readonly page: string;
  /** WebSockets open now. */
  readonly clients: number;
  close(): Promise<void>;
}

const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '[::1]'];

export async function startInspectorRelay(options: InspectorRelayOptions = {}): Promise<InspectorRelay> {
  const host = options.host ?? '127.0.0.1';
  const wsUrl = loopbackUrl(`ws://${host.includes(':') && !host.startsWith('[') ? `[${host}]` : host}/`);
  const bind = new URL(wsUrl).hostname.replace(/^\[|\]$/g, '');
  const inspectorUrl = options.inspectorUrl ?? 'https://stately.ai/inspect';
  const keep = options.maxBufferedMessages ?? 200;
  // Each message is a session's snapshot, prompts included: 200 of them were held whatever their size.
  const keepBytes = options.maxBufferedBytes ?? 32 * 1024 * 1024;
  const maxMessageBytes = options.maxMessageBytes ?? 8 * 1024 * 1024;
  const maxClients = options.maxClients ?? 16;
  // A client that reads nothing had every message queued for it, without end (until 2026-12-07).
  const maxBacklog = options.maxClientBacklogBytes ?? keepBytes + maxMessageBytes;
  let ws: typeof import('ws');
  try {
    ws = broughtByInspect<typeof import('ws')>('ws');
  } catch (error) {
    throw new Error(
      `Expected the optional package @statelyai/inspect (and the ws it brings) to be installed for the inspector relay, got ${firstLine(error)}: run \`npm install @statelyai/inspect\``,
    );
  }
  let port = 0;
  const http = createServer((req, res) => {
    const malformed = hostFieldsProblem(req.rawHeaders, req.url);
    if (malformed !== undefined) {
      res.writeHead(400, { 'Content-Type': 'text/plain' }).end(`${malformed}\n`);
      return;
    }
    if (!hostAllowed(req, port)) {
      res.writeHead(403, { 'Content-Type': 'text/plain' }).end('Expected a loopback Host\n');
      return;
    }
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
    res.end(bridgeHtml(inspectorUrl));
  });
  const wss = new ws.WebSocketServer({
    server: http,
    maxPayload: maxMessageBytes,
    // Answered at once, so the count cannot be passed by upgrades that arrive together.
    verifyClient: (
      { origin, req }: { origin: string | undefined; req: IncomingMessage },
      done: (verified: boolean, code?: number, message?: string, headers?: Record<string, string>) => void,
    ) => {
      const malformed = hostFieldsProblem(req.rawHeaders, req.url);
      // Plain text: ws answers its refusals as text/html, and the reason quotes the client's Hosts.
      if (malformed !== undefined) done(false, 400, malformed, { 'Content-Type': 'text/plain' });
      else if (!hostAllowed(req, port) || (origin !== undefined && !originAllowed(origin, port)))
        done(false, 401);
      else if (wss.clients.size >= maxClients)
        done(false, 503, `Expected at most ${maxClients} WebSockets open at once, got one more`);
      else done(true);
    },
  });
  // The WebSocketServer re-emits the http server's 'error' (a busy port): unheard, that emit threw
  // a stack trace before the listen below could refuse with it.
  wss.on('error', () => {});
  const buffer: string[] = [];
  let bufferedBytes = 0;
  wss.on('connection', (socket) => {
    for (const message of buffer) socket.send(message);
    // A bad frame (a message past `maxMessageBytes`, a broken one) closes that socket with its code;
    // unheard, its 'error' event would end the relay for everyone.
    socket.on('error', () => {});
    socket.on('message', (data) => {
      const message = String(data);
      buffer.push(message);
      bufferedBytes += Buffer.byteLength(message);
      while (buffer.length > keep || (bufferedBytes > keepBytes && buffer.length > 0)) {
        bufferedBytes -= Buffer.byteLength(buffer.shift() as string);
      }
      for (const client of wss.clients) {
        if (client === socket || client.readyState !== ws.WebSocket.OPEN) continue;
        if (client.bufferedAmount > maxBacklog) client.terminate();
        else client.send(message);
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(options.port ?? 8080, bind, () => {
      http.off('error', reject);
      resolve();
    });
  });
  port = (http.address() as AddressInfo).port;
  const shown = new URL(wsUrl).host;
  return {
    url: `ws://${shown}:${port}/`,
    page: `http://${shown}:${port}/`,
    get clients() {
      return wss.clients.size;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const client of wss.clients) client.terminate();
        wss.close(() => http.close(() => resolve()));
        http.closeAllConnections();
      }),
  };
}

function hostAllowed(req: IncomingMessage, port: number): boolean {
  const host = req.headers.host;
  return host !== undefined && LOOPBACK_NAMES.some((name) => host === `${name}:${port}`);
}

function originAllowed(origin: string, port: number): boolean {
  return LOOPBACK_NAMES.some((name) => origin === `http://${name}:${port}`);
}

/** The page that embeds Stately's inspector and posts it what the relay receives (as Stately's bridge does). */
function bridgeHtml(inspectorUrl: string): string {
  const target = new URL(inspectorUrl).origin;
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>Stately inspector (troupe)</title>
<style>*{margin:0;padding:0}html,body{height:100%}iframe{width:100%;height:100%;border:none}</style></head>
<body><iframe id="inspector" src="${encodeURI(inspectorUrl)}"></iframe>
<script>
  const iframe = document.getElementById('inspector');
  const target = ${JSON.stringify(target)};
  const buffer = [];
  let connected = false;
  window.addEventListener('message', (e) => {
    if (e.origin !== target || !e.data || e.data.type !== '@statelyai.connected') return;
    connected = true;
    for (const event of buffer.splice(0)) iframe.contentWindow.postMessage(event, target);
  });
  const ws = new WebSocket('ws://' + location.host + '/');
  ws.onmessage = (m) => {
    const data = JSON.parse(m.data);
    if (connected) iframe.contentWindow.postMessage(data, target);
    else buffer.push(data);
  };
</script></body></html>
`;
}
