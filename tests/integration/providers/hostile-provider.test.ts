/**
 * A hostile or broken provider, over real HTTP (a `node:http` server per case), through the
 * provider's calls answered whole (`fetchWhole`) and streamed (`streamTo`, `sse.ts`): each ends with
 * a clear error code, nothing read past the cap, and the API key nowhere: not in the error, its
 * cause chain, nor sent to another origin a redirect points at.
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { TroupeError } from '../../../src/core/errors.js';
import { createOpenAICompatibleProvider } from '../../../src/providers/openai-compatible.js';
import { createRuntime } from '../../../src/runtime/runtime.js';

const KEY = 'sk-hostile-test-key-never-print-0123456789';
const CAP = 64 * 1024;
const CAPPED = `at most ${CAP} bytes`;
type Handle = (req: IncomingMessage, res: ServerResponse) => void;

interface Host {
  base: string;
  server: Server;
  seen: IncomingMessage['headers'][];
}
const hosts: Host[] = [];

async function host(handle: Handle): Promise<Host> {
  const seen: IncomingMessage['headers'][] = [];
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    seen.push(req.headers);
    req.resume();
    req.on('end', () => handle(req, res));
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.on('close', () => {
    for (const s of sockets) s.destroy();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const h = { base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server, seen };
  hosts.push(h);
  return h;
}

afterEach(() => {
  for (const h of hosts.splice(0)) {
    h.server.closeAllConnections();
    h.server.close();
  }
});

function everyText(error: unknown): string {
  const parts: string[] = [];
  let cause: unknown = error;
  for (let depth = 0; cause !== undefined && cause !== null && depth < 10; depth += 1) {
    parts.push(String(cause), JSON.stringify(cause) ?? '', (cause as Error).stack ?? '');
    if (cause instanceof TroupeError) parts.push(JSON.stringify(cause.toData()));
    cause = (cause as { cause?: unknown }).cause;
  }
  return parts.join('\n');
}

async function call(base: string, stream = false, timeoutMs = 10_000): Promise<unknown> {
  const p = createOpenAICompatibleProvider({
    name: 'hostile',
    baseURL: base,
    apiKey: KEY,
    maxResponseBytes: CAP,
  });
  const signal = AbortSignal.timeout(timeoutMs);
  const request = { model: 'm', messages: [{ role: 'user' as const, content: 'x' }] };
  try {
    if (stream) await p.streamTo(request, { signal }, () => {});
    else await p.complete(request, { signal });
    return undefined;
  } catch (error) {
    return error;
  } finally {
    await p.close();
  }
}

const completion = JSON.stringify({
  id: 'c',
  object: 'chat.completion',
  created: 1,
  model: 'm',
  choices: [{ index: 0, message: { role: 'assistant', content: 'hi' }, finish_reason: 'stop' }],
});

describe('a hostile provider: calls answered whole', () => {
  it('a redirect to another origin is not followed: nothing is sent there, BAD_RESPONSE names it, no retry', async () => {
    const other = await host((_req, res) =>
      res.writeHead(200, { 'content-type': 'application/json' }).end(completion),
    );
    const first = await host((_req, res) =>
      res.writeHead(307, { location: `${other.base}/v1/chat/completions` }).end(),
    );
    const error = await call(`${first.base}/v1`);
    expect(first.seen[0]?.authorization).toBe(`Bearer ${KEY}`);
    expect(other.seen).toEqual([]);
    expect(error).toBeInstanceOf(TroupeError);
    expect((error as TroupeError).code).toBe('BAD_RESPONSE');
    expect((error as TroupeError).retryable).toBe(false);
    expect((error as Error).message).toContain(
      `got a redirect to ${other.base}, which troupe does not follow`,
    );
    expect(everyText(error).toLowerCase()).not.toContain(KEY.toLowerCase());
  });

  it('a redirect on the same origin is followed', async () => {
    const h = await host((req, res) => {
      if (req.url === '/v1/chat/completions') res.writeHead(308, { location: '/v2/chat/completions' }).end();
      else res.writeHead(200, { 'content-type': 'application/json' }).end(completion);
    });
    expect(await call(`${h.base}/v1`)).toBeUndefined();
    // The redirect's first leg is sent again through `fetch`, which follows it (whole-fetch.ts).
    expect(h.seen).toHaveLength(3);
    expect(h.seen[2]?.authorization).toBe(`Bearer ${KEY}`);
  });

  const cases: Record<string, Handle> = {
    'a corrupt gzip body': (_req, res) => {
      res
        .writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' })
        .end('not gzip at all');
    },
    'six content codings': (_req, res) => {
      res.writeHead(200, {
        'content-type': 'application/json',
        'content-encoding': 'gzip, gzip, gzip, gzip, gzip, gzip',
      });
      res.end(completion);
    },
    'a redirect loop': (req, res) => res.writeHead(307, { location: req.url ?? '/' }).end(),
    'a redirect to a file: URL': (_req, res) => res.writeHead(307, { location: 'file:///etc/passwd' }).end(),
    'a huge body without a length': (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      const chunk = Buffer.alloc(16 * 1024, 0x20);
      let sent = 0;
      const pump = () => {
        while (sent < 50 * 1024 * 1024 && !res.destroyed) {
          sent += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end();
      };
      pump();
    },
    'a declared length over the cap': (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(CAP * 100) });
      res.write('{');
    },
    'a declared length shorter than the body': (req, res) => {
      req.socket.write(
        `HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 5\r\n\r\n${completion}`,
      );
      req.socket.end();
      void res;
    },
    'a declared length longer than the body, then the socket closed': (req, res) => {
      req.socket.write(
        `HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 9000\r\n\r\n${completion}`,
      );
      req.socket.destroy();
      void res;
    },
    'a gzip bomb': (_req, res) => {
      const bomb = gzipSync(Buffer.alloc(CAP * 64, 0x20));
      res.writeHead(200, {
        'content-type': 'application/json',
        'content-encoding': 'gzip',
        'content-length': String(bomb.length),
      });
      res.end(bomb);
    },
    'a socket closed mid-body': (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write(completion.slice(0, 20));
      setTimeout(() => res.socket?.destroy(), 20);
    },
    'a body that is not JSON': (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' }).end(`<html>${KEY}</html>`);
    },
    'an HTML page': (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' }).end('<html>oops</html>');
    },
    // The media type is read lowercased: the key came out lowercased, past a scrub that matched its case.
    'a content type that echoes the key': (req, res) => {
      res.writeHead(200, { 'content-type': `text/x-${req.headers.authorization?.slice(7)}` }).end('x');
    },
    'a slow-loris body (one byte now and then) ended by the deadline': (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      const t = setInterval(() => (res.destroyed ? clearInterval(t) : res.write(' ')), 50);
    },
  };
  const EXPECTED: Record<string, [string, string]> = {
    'a corrupt gzip body': [
      'BAD_RESPONSE',
      'Expected a body that decodes as gzip (its Content-Encoding), got bytes that do not (incorrect header check)',
    ],
    'six content codings': ['BAD_RESPONSE', 'Expected at most 5 content codings, got 6'],
    'a redirect loop': ['BAD_RESPONSE', 'redirect count exceeded'],
    'a redirect to a file: URL': ['BAD_RESPONSE', 'URL scheme must be a HTTP(S) scheme'],
    'a huge body without a length': ['BAD_RESPONSE', CAPPED],
    'a declared length over the cap': ['BAD_RESPONSE', CAPPED],
    'a declared length shorter than the body': ['BAD_RESPONSE', 'Expected a JSON body'],
    'a declared length longer than the body, then the socket closed': ['NETWORK', 'connection failed'],
    'a gzip bomb': ['BAD_RESPONSE', CAPPED],
    'a socket closed mid-body': ['NETWORK', 'connection failed'],
    'a body that is not JSON': ['BAD_RESPONSE', 'Expected a JSON body'],
    'an HTML page': ['BAD_RESPONSE', 'Expected content type'],
    'a content type that echoes the key': ['BAD_RESPONSE', 'got `text/x-[redacted]`'],
    'a slow-loris body (one byte now and then) ended by the deadline': ['CANCELLED', 'got an abort'],
  };
  for (const [name, handle] of Object.entries(cases)) {
    it(`${name}: a clear error, the key nowhere`, async () => {
      const h = await host(handle);
      const error = await call(`${h.base}/v1`, false, 1500);
      expect(error).toBeInstanceOf(TroupeError);
      const [code, message] = EXPECTED[name] as [string, string];
      expect((error as TroupeError).code).toBe(code);
      expect((error as Error).message).toContain(message);
      // A redirect that fails once fails again: only network failures are retried.
      expect((error as TroupeError).retryable).toBe(code === 'NETWORK');
      expect(everyText(error).toLowerCase()).not.toContain(KEY.toLowerCase());
    });
  }
});

const chunk = (content: string) =>
  `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta: { content }, finish_reason: null }] })}\n\n`;
const last = `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] })}\n\n`;

/** Writes `piece` until the client goes or `total` bytes are sent. */
function flood(res: ServerResponse, head: string, piece: string, total = 50 * 1024 * 1024): void {
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  res.write(head);
  let sent = 0;
  const pump = () => {
    while (sent < total && !res.destroyed) {
      sent += piece.length;
      if (!res.write(piece)) return void res.once('drain', pump);
    }
    res.end();
  };
  pump();
}

describe('a hostile provider: streams', () => {
  it('a redirect to another origin is not followed: nothing is sent there, BAD_RESPONSE names it', async () => {
    const other = await host((_req, res) =>
      res
        .writeHead(200, { 'content-type': 'text/event-stream' })
        .end(chunk('hi') + last + 'data: [DONE]\n\n'),
    );
    const first = await host((_req, res) =>
      res.writeHead(307, { location: `${other.base}/v1/chat/completions` }).end(),
    );
    const error = await call(`${first.base}/v1`, true);
    expect(first.seen[0]?.authorization).toBe(`Bearer ${KEY}`);
    expect(other.seen).toEqual([]);
    expect((error as TroupeError).code).toBe('BAD_RESPONSE');
    expect((error as Error).message).toContain(`got a redirect to ${other.base}`);
  });

  it('a redirect on the same origin is followed', async () => {
    const h = await host((req, res) => {
      if (req.url === '/v1/chat/completions') res.writeHead(307, { location: '/v2/chat/completions' }).end();
      else
        res
          .writeHead(200, { 'content-type': 'text/event-stream' })
          .end(chunk('hi') + last + 'data: [DONE]\n\n');
    });
    expect(await call(`${h.base}/v1`, true)).toBeUndefined();
    expect(h.seen).toHaveLength(2);
  });

  const cases: Record<string, [Handle, string, string]> = {
    'a corrupt gzip stream': [
      (_req, res) =>
        res
          .writeHead(200, { 'content-type': 'text/event-stream', 'content-encoding': 'gzip' })
          .end('not gzip'),
      'BAD_RESPONSE',
      'Expected a body that decodes as its Content-Encoding, got bytes that do not (incorrect header check)',
    ],
    'an error event quoting the Authorization header': [
      (req, res) =>
        res
          .writeHead(200, { 'content-type': 'text/event-stream' })
          .end(
            `${chunk('a')}data: ${JSON.stringify({ error: { message: `bad: ${req.headers.authorization}` } })}\n\n`,
          ),
      'PROVIDER_UNAVAILABLE',
      'bad: Bearer [redacted]',
    ],
    'a 401 quoting the Authorization header': [
      (req, res) =>
        res
          .writeHead(401, { 'content-type': 'application/json' })
          .end(JSON.stringify({ error: { message: `bad key ${req.headers.authorization}` } })),
      'AUTH_FAILED',
      '[redacted]',
    ],
    'a giant line without a line end': [
      (_req, res) => flood(res, chunk('a'), 'x'.repeat(16 * 1024)),
      'BAD_RESPONSE',
      CAPPED,
    ],
    'endless comments': [
      (_req, res) => flood(res, chunk('a'), ': keep-alive\n'.repeat(1000)),
      'BAD_RESPONSE',
      CAPPED,
    ],
    'a flood of data lines never ending an event': [
      (_req, res) => flood(res, chunk('a'), 'data: x\n'.repeat(1000)),
      'BAD_RESPONSE',
      CAPPED,
    ],
    'an event that is not JSON': [
      (_req, res) =>
        res.writeHead(200, { 'content-type': 'text/event-stream' }).end(`${chunk('a')}data: {${KEY}\n\n`),
      'BAD_RESPONSE',
      'Expected a JSON body',
    ],
    'a content type that echoes the key': [
      (req, res) =>
        res
          .writeHead(200, { 'content-type': `text/x-${req.headers.authorization?.slice(7)}` })
          .end(chunk('a')),
      'BAD_RESPONSE',
      'got `text/x-[redacted]`',
    ],
  };
  for (const [name, [handle, code, message]] of Object.entries(cases)) {
    it(`${name}: a clear error, the key nowhere`, async () => {
      const h = await host(handle);
      const error = await call(`${h.base}/v1`, true, 5000);
      expect(error).toBeInstanceOf(TroupeError);
      expect((error as TroupeError).code).toBe(code);
      expect((error as Error).message).toContain(message);
      expect(everyText(error).toLowerCase()).not.toContain(KEY.toLowerCase());
    });
  }

  it('a body kept open after [DONE] keeps the answer: the session ends done well inside its idle timeout', async () => {
    const h = await host((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(`${chunk('the whole answer')}${last}data: [DONE]\n\n`); // and never an end
    });
    const provider = createOpenAICompatibleProvider({
      name: 'hostile',
      baseURL: `${h.base}/v1`,
      apiKey: KEY,
    });
    const runtime = createRuntime({
      providers: [provider],
      defaults: { provider: 'hostile', model: 'm', maxAttempts: 1, idleTimeoutMs: 2000, timeoutMs: 10_000 },
    });
    try {
      const result = await runtime.submit({ messages: [{ role: 'user', content: 'x' }], stream: true })
        .result;
      expect(result.ok ? result.content : result.error.message).toBe('the whole answer');
      expect(result.metadata.state).toBe('done');
      expect(result.metadata.runMs).toBeLessThan(2000);
    } finally {
      await runtime.shutdown({ deadlineMs: 0 });
      await provider.close();
    }
  });

  it('an event after [DONE] is ignored, not parsed (it is not JSON here)', async () => {
    const h = await host((_req, res) =>
      res
        .writeHead(200, { 'content-type': 'text/event-stream' })
        .end(`${chunk('hi')}${last}data: [DONE]\n\ndata: {after\n\n`),
    );
    expect(await call(`${h.base}/v1`, true)).toBeUndefined();
  });
});
