/**
 * A Redis that is not there is refused at start with why (the socket's own error, e.g.
 * `connect ECONNREFUSED 127.0.0.1:PORT`) and what to do, not ioredis's "Connection is closed.";
 * the URL's password never shows.
 */
import { once } from 'node:events';
import { createServer, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { TroupeError } from '../../../src/core/errors.js';
import { connectRedis, redactUrl, redisUrlProblem } from '../../../src/scale/connect.js';

async function closedPort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

describe('connectRedis', () => {
  it('names the refused connection and the fix, never the password', async () => {
    const port = await closedPort();
    const error = await connectRedis(`redis://:hunter2secret@127.0.0.1:${port}`, {
      purpose: 'for MCP tasks',
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(TroupeError);
    expect((error as TroupeError).code).toBe('BACKEND_UNAVAILABLE');
    expect((error as TroupeError).message).toBe(
      `Expected Redis at redis://***@127.0.0.1:${port} for MCP tasks, got connect ECONNREFUSED 127.0.0.1:${port}; start redis-server there or give the URL of a running one`,
    );
  });
});

describe('Redis URLs: refused before connecting, the password never shown', () => {
  // A password holding `/` (base64 ones do) ends the host. ioredis before 5.11 (Node's legacy
  // parser) then connected to 127.0.0.1:6379 without the password, and the message (and a Node
  // deprecation warning) showed the whole URL; `redactUrl` kept up to the first `@` only. ioredis
  // 5.11 throws `Invalid URL` instead, the whole URL in the error's `input`: a TypeError, not
  // troupe's INVALID_REQUEST, so the checks below still fail if the URL reaches ioredis first.
  const cases: ReadonlyArray<readonly [string, RegExp]> = [
    ['redis://:pw/Zx9+Qk==@127.0.0.1:6390', /does not parse \(percent-encode/],
    ['redis://user:a?Zx9Qk@127.0.0.1:6390', /does not parse/],
    ['', /got an empty string/],
    ['http://:Zx9Qk@127.0.0.1:6390', /got the scheme `http:`/],
    ['redis://:Zx9Qk@127.0.0.1:6390/abc', /database that is not a number/],
    ['redis://:Zx9%zz@127.0.0.1:6390', /with a `%` not followed by two hex digits/],
  ];
  it.each(cases)('%j', async (url, why) => {
    const error = await connectRedis(url, { connectTimeoutMs: 200 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(TroupeError);
    expect((error as TroupeError).code).toBe('INVALID_REQUEST');
    expect((error as TroupeError).message).toMatch(/^Expected a Redis URL such as redis:\/\//);
    expect((error as TroupeError).message).toMatch(why);
    expect((error as TroupeError).message).not.toContain('Zx9');
    expect(redisUrlProblem(url)).toBe((error as TroupeError).message);
  });

  it('takes what ioredis takes: a percent-encoded password, a TLS scheme, a database number', () => {
    for (const url of [
      'redis://:pw%2FZx9%2BQk%3D%3D@127.0.0.1:6390',
      'rediss://user:Zx9@redis.example.com:6380/2',
      'redis://127.0.0.1:6379',
      'redis://localhost/',
    ])
      expect(redisUrlProblem(url), url).toBeUndefined();
  });

  it('hides every credential: after a second `@`, in a `password` parameter', () => {
    expect(redactUrl('redis://:p@ss@127.0.0.1:6390')).toBe('redis://***@127.0.0.1:6390');
    expect(redactUrl('redis://us:p/w@127.0.0.1:6390/0')).toBe('redis://***@127.0.0.1:6390/0');
    expect(redactUrl('redis://127.0.0.1:6390/0?db=1&password=Zx9Qk&family=4')).toBe(
      'redis://127.0.0.1:6390/0?db=1&password=***&family=4',
    );
    expect(redactUrl('redis://127.0.0.1:6390')).toBe('redis://127.0.0.1:6390');
  });
});

describe('connectRedis against a server that accepts and never answers', () => {
  it('gives up within its deadline with one clear line, never the password', async () => {
    const sockets = new Set<Socket>();
    const server = createServer((socket) => {
      sockets.add(socket); // holds the connection open and never writes a byte
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as { port: number };
    try {
      const started = Date.now();
      const error = await Promise.race([
        connectRedis(`redis://:hunter2secret@127.0.0.1:${port}`, {
          purpose: 'for MCP tasks',
          readyTimeoutMs: 300,
        }).then(
          () => undefined,
          (e: unknown) => e,
        ),
        new Promise((resolve) => setTimeout(() => resolve('still waiting'), 3000)),
      ]);
      expect(error).toBeInstanceOf(TroupeError);
      expect((error as TroupeError).code).toBe('BACKEND_UNAVAILABLE');
      expect((error as TroupeError).message).toBe(
        `Expected Redis at redis://***@127.0.0.1:${port} for MCP tasks, got no answer within 300 ms; start redis-server there or give the URL of a running one`,
      );
      expect(Date.now() - started).toBeLessThan(2000);
    } finally {
      for (const socket of sockets) socket.destroy();
      server.close();
    }
  });
});
