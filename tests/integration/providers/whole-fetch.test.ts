/**
 * `fetchWhole` (`src/providers/whole-fetch.ts`), the transport's fetch for calls answered whole,
 * over real HTTP: what it keeps of undici's `fetch` (compressed bodies asked for and decoded,
 * redirects followed, a failure after the headers met when the body is read, null-body statuses)
 * and of the pooled agent (the socket cap per origin, one socket reused by sequential calls, an
 * abort closing the connection). The cap itself is in transport-cap.test.ts, for both fetches.
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { brotliCompressSync, deflateRawSync, deflateSync, gzipSync } from 'node:zlib';
import { Agent, type Dispatcher } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CrossOriginRedirectError } from '../../../src/providers/response-cap.js';
import { acquireTransport, ResponseTooLargeError, type Transport } from '../../../src/providers/transport.js';
import { createWholeFetch } from '../../../src/providers/whole-fetch.js';

const TEXT = 'a whole answer, decoded';
const CAP = 64 * 1024;

interface Rig {
  base: string;
  transport: Transport;
  server: Server;
  sockets: Set<Socket>;
  /** Every socket the server accepted. */
  accepted: number;
  inFlight: number;
  maxInFlight: number;
  /** The last request's headers and body, for what the client sent. */
  last?: { method: string; url: string; headers: IncomingMessage['headers']; body: string };
  lastSocket?: Socket;
}

async function rig(
  handle: (req: IncomingMessage, res: ServerResponse, rig: Rig) => void,
  options: { maxSockets?: number } = {},
): Promise<Rig> {
  const state = { sockets: new Set<Socket>(), accepted: 0, inFlight: 0, maxInFlight: 0 } as unknown as Rig;
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => {
      body += chunk.toString();
    });
    req.on('end', () => {
      state.last = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body };
      state.lastSocket = req.socket;
      state.inFlight += 1;
      state.maxInFlight = Math.max(state.maxInFlight, state.inFlight);
      res.on('close', () => {
        state.inFlight -= 1;
      });
      handle(req, res, state);
    });
  });
  server.on('connection', (socket: Socket) => {
    state.accepted += 1;
    state.sockets.add(socket);
    socket.on('close', () => state.sockets.delete(socket));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  state.server = server;
  state.base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  state.transport = acquireTransport(state.base, { maxResponseBytes: CAP, ...options });
  return state;
}

/** The socket of the request for `path`, once the server has it. */
async function arrived(r: Rig, path: string): Promise<Socket> {
  while (r.last?.url !== path || r.lastSocket === undefined)
    await new Promise((resolve) => setTimeout(resolve, 5));
  return r.lastSocket;
}

async function stop(r: Rig): Promise<void> {
  await r.transport.release();
  for (const socket of r.sockets) socket.destroy();
  r.server.close();
}

const ENCODED: Record<string, (text: string) => Buffer> = {
  gzip: (text) => gzipSync(text),
  'x-gzip': (text) => gzipSync(text),
  deflate: (text) => deflateSync(text),
  br: (text) => brotliCompressSync(text),
  // Listed in the order applied: gzip first, then br; decoded br first.
  'gzip, br': (text) => brotliCompressSync(gzipSync(text)),
};

describe('fetchWhole over real HTTP', () => {
  let r: Rig;
  beforeAll(async () => {
    r = await rig((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      const coding = url.searchParams.get('coding');
      if (url.pathname === '/encoded' && coding !== null) {
        const encode = ENCODED[coding];
        const bytes = encode === undefined ? Buffer.from(TEXT) : encode(TEXT);
        res.writeHead(200, { 'content-encoding': coding, 'content-length': bytes.length });
        res.end(bytes);
      } else if (url.pathname === '/raw-deflate') {
        // `deflate` sent without its zlib wrapper, as some servers do.
        const bytes = deflateRawSync(TEXT);
        res.writeHead(200, { 'content-encoding': 'deflate', 'content-length': bytes.length });
        res.end(bytes);
      } else if (url.pathname === '/corrupt-gzip') {
        res.writeHead(200, { 'content-encoding': 'gzip' });
        res.end(Buffer.from('this is not gzip at all'));
      } else if (url.pathname === '/moved') {
        res.writeHead(307, { location: '/echo' }).end();
      } else if (url.pathname === '/moved-hanging') {
        // A redirect whose body never ends.
        res.writeHead(302, { location: '/echo', 'content-length': '100' });
        res.write('partial');
      } else if (url.pathname === '/echo') {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end(`${req.method} ${r.last?.body ?? ''}`);
      } else if (url.pathname === '/empty') {
        res.writeHead(204).end();
      } else if (url.pathname === '/too-large-chunked') {
        res.writeHead(200);
        res.write('x'.repeat(CAP));
        res.end('x'.repeat(CAP));
      } else if (url.pathname === '/half') {
        res.writeHead(200, { 'content-length': '100' });
        res.write('only part of it');
      } else {
        res.writeHead(200, { 'content-type': 'text/plain', 'x-request-id': 'req-1' });
        res.end(TEXT);
      }
    });
  });
  afterAll(() => stop(r));

  it.each(Object.keys(ENCODED))('decodes a %s body, as fetch does', async (coding) => {
    const response = await r.transport.fetchWhole(`${r.base}/encoded?coding=${encodeURIComponent(coding)}`);
    expect(await response.text()).toBe(TEXT);
    expect(response.headers.get('content-encoding')).toBe(coding);
  });

  it('decodes a raw (unwrapped) deflate body', async () => {
    expect(await (await r.transport.fetchWhole(`${r.base}/raw-deflate`)).text()).toBe(TEXT);
  });

  it('passes a body with an unknown coding undecoded', async () => {
    const response = await r.transport.fetchWhole(`${r.base}/encoded?coding=snappy`);
    expect(await response.text()).toBe(TEXT);
  });

  it('asks for compressed bodies as fetch does over plain HTTP, and sends the body and headers', async () => {
    const response = await r.transport.fetchWhole(`${r.base}/plain`, {
      method: 'post',
      headers: { 'content-type': 'application/json', authorization: 'Bearer k' },
      body: '{"a":1}',
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('x-request-id')).toBe('req-1');
    expect(await response.text()).toBe(TEXT);
    expect(r.last?.method).toBe('POST');
    expect(r.last?.body).toBe('{"a":1}');
    expect(r.last?.headers['accept-encoding']).toBe('gzip, deflate');
    expect(r.last?.headers.authorization).toBe('Bearer k');
    expect(r.last?.headers['content-type']).toBe('application/json');
  });

  it('follows a redirect, the method and body kept for a 307', async () => {
    const response = await r.transport.fetchWhole(`${r.base}/moved`, { method: 'POST', body: 'again' });
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('POST again');
  });

  it('sends nothing to another origin than its transport’s: refused as a cross-origin redirect is', async () => {
    const other = await rig((_req, res) => res.end('{}'));
    try {
      const failure = await r.transport.fetchWhole(`${other.base}/echo`, { method: 'POST', body: '{}' }).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(other.accepted).toBe(0);
      expect((failure as Error).cause).toBeInstanceOf(CrossOriginRedirectError);
    } finally {
      await stop(other);
    }
  });

  it('gives up draining a redirect body that never ends when the signal aborts', async () => {
    const controller = new AbortController();
    const outcome = r.transport.fetchWhole(`${r.base}/moved-hanging`, { signal: controller.signal });
    await arrived(r, '/moved-hanging');
    controller.abort();
    await expect(outcome).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('gives a null-body status a null body', async () => {
    const response = await r.transport.fetchWhole(`${r.base}/empty`);
    expect(response.status).toBe(204);
    expect(response.body).toBeNull();
  });

  it('meets a failure after the headers where fetch did: reading the body', async () => {
    const large = await r.transport.fetchWhole(`${r.base}/too-large-chunked`);
    expect(large.status).toBe(200);
    await expect(large.text()).rejects.toBeInstanceOf(ResponseTooLargeError);
    const corrupt = await r.transport.fetchWhole(`${r.base}/corrupt-gzip`);
    expect(corrupt.status).toBe(200);
    await expect(corrupt.text()).rejects.toMatchObject({
      name: 'BadEncodingError',
      cause: { code: 'Z_DATA_ERROR' },
    });
  });

  it('reuses one socket for sequential calls', async () => {
    const used = new Set<Socket | undefined>();
    for (let i = 0; i < 20; i++) {
      expect(await (await r.transport.fetchWhole(`${r.base}/plain`)).text()).toBe(TEXT);
      used.add(r.lastSocket);
    }
    expect(used.size).toBe(1);
  });

  it('aborts a call mid-body and closes its connection', async () => {
    const controller = new AbortController();
    const outcome = r.transport
      .fetchWhole(`${r.base}/half`, { signal: controller.signal })
      .then((response) => response.text());
    const socket = await arrived(r, '/half');
    // Not `once`: that rejects on the ECONNRESET the client's close may raise first.
    const closed = new Promise((resolve) => socket.on('close', resolve));
    controller.abort();
    await expect(outcome).rejects.toMatchObject({ name: 'AbortError' });
    await closed;
    expect(socket.destroyed).toBe(true);
  });
});

describe('fetchWhole and the socket cap per origin', () => {
  it('never opens more sockets than maxSockets, whatever the calls in flight', async () => {
    const r = await rig(
      (_req, res) => {
        setTimeout(() => res.end(TEXT), 50);
      },
      { maxSockets: 2 },
    );
    try {
      const texts = await Promise.all(
        Array.from({ length: 6 }, async () => (await r.transport.fetchWhole(`${r.base}/slow`)).text()),
      );
      expect(texts).toEqual(Array(6).fill(TEXT));
      expect(r.accepted).toBe(2);
      expect(r.maxInFlight).toBe(2);
    } finally {
      await stop(r);
    }
  });
});

describe('fetchWhole and a body that stops coming (`idleTimeoutMs` on the init)', () => {
  const bounded = { idleTimeoutMs: 300 } as RequestInit;

  it('headers, then silence: the body fails with StalledAnswerError once the bound passed, and the socket is closed', async () => {
    // The headers are the server's word that the answer is ready: a gap after them is a stall too.
    const r = await rig((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.flushHeaders();
    });
    try {
      const startedAt = Date.now();
      const answer = r.transport.fetchWhole(`${r.base}/silent`, bounded);
      const socket = await arrived(r, '/silent');
      const closed = new Promise((resolve) => socket.on('close', resolve));
      await expect((await answer).text()).rejects.toMatchObject({ name: 'StalledAnswerError', idleMs: 300 });
      expect(Date.now() - startedAt).toBeGreaterThanOrEqual(300);
      await closed;
    } finally {
      await stop(r);
    }
  });

  it('a byte every 100 ms for a second, each gap under the bound, is read whole', async () => {
    const r = await rig((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      let sent = 0;
      const timer = setInterval(() => {
        res.write('x');
        if (++sent === 10) {
          clearInterval(timer);
          res.end();
        }
      }, 100);
    });
    try {
      const response = await r.transport.fetchWhole(`${r.base}/trickle`, bounded);
      expect(await response.text()).toBe('x'.repeat(10));
    } finally {
      await stop(r);
    }
  });
});

describe('fetchWhole and undici’s own timeouts', () => {
  it('a call with a bound waits for its headers with no timer of undici’s (its run deadline ends it); one without keeps the agent’s', async () => {
    // undici's default `headersTimeout` is 300 s: a long answer, inside a longer run deadline, was cut
    // there as a NETWORK error, and retried into another 300 s.
    const r = await rig((_req, res) => {
      res.end(TEXT);
    });
    const agent = new Agent();
    const seen: Dispatcher.DispatchOptions[] = [];
    const spy = new (class extends Agent {
      override dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
        seen.push(options);
        return agent.dispatch(options, handler);
      }
    })();
    const unused = () => Promise.reject(new Error('Expected no fallback'));
    const whole = createWholeFetch(spy, r.base, CAP, unused);
    try {
      expect(await (await whole(`${r.base}/a`, { idleTimeoutMs: 300 } as RequestInit)).text()).toBe(TEXT);
      expect(await (await whole(`${r.base}/b`)).text()).toBe(TEXT);
      expect(seen.map((o) => [o.headersTimeout, o.bodyTimeout])).toEqual([
        [0, 300],
        [null, null],
      ]);
    } finally {
      await Promise.all([agent.close(), spy.close()]);
      await stop(r);
    }
  });
});
