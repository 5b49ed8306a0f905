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

describe('a Redis that refuses the password', () => {
  it("the start's error holds the password nowhere, its cause included", async () => {
    const { inspect } = await import('node:util');
    const { Redis } = await import('ioredis');
    const admin = new Redis(server.url, { lazyConnect: true });
    await admin.connect();
    await admin.config('SET', 'requirepass', 'Right-Pw-0');
    try {
      for (const url of [
        server.url.replace('//', '//:Wr0ngPwZq@'),
        server.url.replace('//', '//someone:Wr0ngPwZq@'),
      ]) {
        const error = await connectRedis(url).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect((error as TroupeError).code).toBe('BACKEND_UNAVAILABLE');
        // ioredis' ReplyError for AUTH carries `command: { name: 'auth', args: [..., password] }`.
        expect((error as Error).cause).toMatchObject({ message: expect.stringMatching(/WRONGPASS/) });
        expect(inspect(error, { depth: 10, showHidden: true })).not.toContain('Wr0ngPwZq');
      }
    } finally {
      await admin.config('SET', 'requirepass', '');
      admin.disconnect();
    }
  });
});

describe('a Redis that is running but refuses the login', () => {
  it('says what to fix in the URL, not to start redis-server', async () => {
    const { Redis } = await import('ioredis');
    const admin = new Redis(server.url, { lazyConnect: true });
    await admin.connect();
    await admin.config('SET', 'requirepass', 'Right-Pw-1');
    try {
      const messageOf = async (url: string) =>
        (await connectRedis(url).then(
          () => undefined,
          (e: unknown) => e,
        )) as TroupeError;
      const none = await messageOf(server.url);
      expect(none.code).toBe('BACKEND_UNAVAILABLE');
      expect(none.message).toMatch(
        /got NOAUTH .*; Redis there asks for a password: put it in the URL, redis:\/\/:password@host:port$/,
      );
      const wrong = await messageOf(server.url.replace('//', '//:Wr0ngPwZq@'));
      expect(wrong.message).toMatch(
        /got WRONGPASS .*; Redis there refused the login: check the user and password in the URL$/,
      );
      expect(wrong.message).not.toContain('Wr0ngPwZq');
    } finally {
      await admin.config('SET', 'requirepass', '');
      admin.disconnect();
    }
  });

  it('a Redis that is not there is still told to be started', async () => {
    const error = (await connectRedis('redis://127.0.0.1:1').then(
      () => undefined,
      (e: unknown) => e,
    )) as TroupeError;
    expect(error.message).toMatch(
      /got connect ECONNREFUSED .*; start redis-server there or give the URL of a running one$/,
    );
  });
});

describe('a rediss:// URL for a Redis without TLS', () => {
  it('says TLS is the likely cause, not only that the connection timed out', async () => {
    const url = server.url.replace(/^redis:/, 'rediss:');
    const error = await connectRedis(url, { connectTimeoutMs: 500 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(TroupeError);
    expect((error as TroupeError).code).toBe('BACKEND_UNAVAILABLE');
    expect((error as TroupeError).message).toContain(
      '(rediss:// speaks TLS: a Redis without TLS on that port never answers the handshake; use redis:// for it)',
    );
  });
});
