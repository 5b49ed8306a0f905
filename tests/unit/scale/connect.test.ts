/**
 * A Redis that is not there is refused at start with why (the socket's own error, e.g.
 * `connect ECONNREFUSED 127.0.0.1:PORT`) and what to do, not ioredis's "Connection is closed.";
 * the URL's password never shows.
 */
import { once } from 'node:events';
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { TroupeError } from '../../../src/core/errors.js';
import { connectRedis } from '../../../src/scale/connect.js';

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
