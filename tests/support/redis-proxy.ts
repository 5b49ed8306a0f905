/**
 * A TCP proxy in front of a test's `redis-server`, for one instance: `cut()` drops every connection
 * made through it and refuses new ones (nothing listens on its port any more), as a network
 * partition does to that one instance, while the server keeps its data and answers the others.
 * `rewrite`, when given, changes each chunk the instance sends before the server gets it (e.g. one
 * script swapped for one of the same length that fails: Redis refuses that write alone). `holdMs`,
 * when given, says how long to hold each chunk back (e.g. one write made late): what its connection
 * sends after it waits behind it, in order; the instance's other connections go on.
 */
import { once } from 'node:events';
import { connect, createServer, type Socket } from 'node:net';

export interface RedisProxy {
  readonly url: string;
  /** Drops every connection through the proxy and stops listening: the instance behind it is cut off. */
  cut(): Promise<void>;
  /** Listens again on the same port after a `cut()`: the instance's reconnects get through. */
  restore(): Promise<void>;
}

export async function proxyRedis(
  redisPort: number,
  rewrite?: (chunk: Buffer) => Buffer,
  holdMs?: (chunk: Buffer) => number,
): Promise<RedisProxy> {
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(redisPort, '127.0.0.1');
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    if (rewrite === undefined && holdMs === undefined) client.pipe(upstream);
    else if (holdMs === undefined) {
      client.on('data', (chunk: Buffer) => upstream.write((rewrite as (c: Buffer) => Buffer)(chunk)));
      client.on('end', () => upstream.end());
    } else {
      let behind = Promise.resolve();
      const after = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
      client.on('data', (chunk: Buffer) => {
        const ms = holdMs(chunk);
        const out = rewrite === undefined ? chunk : rewrite(chunk);
        behind = behind.then(() => (ms > 0 ? after(ms) : undefined)).then(() => void upstream.write(out));
      });
      client.on('end', () => void behind.then(() => upstream.end()));
    }
    upstream.pipe(client);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  return {
    url: `redis://127.0.0.1:${port}`,
    cut: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await closed;
    },
    restore: async () => {
      server.listen(port, '127.0.0.1');
      await once(server, 'listening');
    },
  };
}
