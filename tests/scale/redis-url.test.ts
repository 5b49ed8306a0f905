/**
 * The database a Redis URL names is the one used, or the start fails saying why: ioredis selects it
 * on connecting but reports a refusal only as an 'error' event and goes on in database 0, so
 * `redis://host:port/99` on a Redis with 16 databases put every key in database 0 unseen.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TroupeError } from '../../src/core/errors.js';
import { connectRedis } from '../../src/scale/connect.js';
import { type RedisServer, startRedis } from '../support/redis.js';

let server: RedisServer;
beforeAll(async () => {
  server = await startRedis();
});
afterAll(async () => {
  await server.stop();
});

describe('the database of a Redis URL', () => {
  it('a database Redis does not have is refused at connect, naming it', async () => {
    const error = await connectRedis(`${server.url}/99`).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(TroupeError);
    expect((error as TroupeError).code).toBe('BACKEND_UNAVAILABLE');
    expect((error as TroupeError).message).toMatch(/\/99, got ERR DB index is out of range/);
  });

  it('a database it has is the one written to', async () => {
    const redis = await connectRedis(`${server.url}/3`);
    try {
      await redis.set('troupe-test:db', '1');
      const { Redis } = await import('ioredis');
      const zero = new Redis(server.url, { lazyConnect: true });
      await zero.connect();
      expect(await zero.exists('troupe-test:db')).toBe(0);
      await zero.select(3);
      expect(await zero.exists('troupe-test:db')).toBe(1);
      zero.disconnect();
    } finally {
      redis.disconnect();
    }
  });
});
