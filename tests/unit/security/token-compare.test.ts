/**
 * Every configured token is compared with the one a request carries, whatever its length: they are
 * compared as SHA-256 digests. Before, only tokens of the given length were compared at all, so
 * the time an answer took told a client how long each configured token is.
 */
import type { IncomingMessage } from 'node:http';
import { describe, expect, it, vi } from 'vitest';

const compared = vi.hoisted(() => ({ count: 0 }));
vi.mock('node:crypto', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:crypto')>();
  return {
    ...actual,
    timingSafeEqual: (a: NodeJS.ArrayBufferView, b: NodeJS.ArrayBufferView) => {
      compared.count += 1;
      return actual.timingSafeEqual(a, b);
    },
  };
});

const { authenticate } = await import('../../../src/mcp/http-auth.js');

const tokens = [
  { name: 'alice', token: 'alice-token-1' },
  { name: 'bob', token: 'a-much-longer-token-for-bob-22' },
  { name: 'admin', token: 'admin-token-333', admin: true },
];
const req = (authorization: string) =>
  ({
    headers: { authorization },
    rawHeaders: ['Host', 'x', 'Authorization', authorization],
  }) as unknown as IncomingMessage;

describe('token comparison', () => {
  it('compares the given token with every configured one, of any length, and finds the right one', () => {
    for (const given of [
      'x',
      'alice-token-',
      'alice-token-1',
      'a-much-longer-token-for-bob-22',
      'y'.repeat(500),
    ]) {
      compared.count = 0;
      authenticate(req(`Bearer ${given}`), tokens);
      expect(compared.count, given).toBe(tokens.length);
    }
    expect(authenticate(req('Bearer alice-token-1'), tokens)?.name).toBe('alice');
    expect(authenticate(req('Bearer a-much-longer-token-for-bob-22'), tokens)?.name).toBe('bob');
    expect(authenticate(req('Bearer admin-token-333'), tokens)?.admin).toBe(true);
    expect(authenticate(req('Bearer alice-token-'), tokens)).toBeUndefined();
    expect(authenticate(req('Bearer alice-token-11'), tokens)).toBeUndefined();
  });

  it('takes a token it found out of both copies of the headers, and leaves a header with none of its tokens', () => {
    const found = req('Bearer alice-token-1');
    expect(authenticate(found, tokens)?.name).toBe('alice');
    expect(found.headers.authorization).toBeUndefined();
    expect(found.rawHeaders).toEqual(['Host', 'x']);
    const other = req('Bearer another-service-credential');
    expect(authenticate(other, tokens)).toBeUndefined();
    expect(other.headers.authorization).toBe('Bearer another-service-credential');
    expect(other.rawHeaders).toHaveLength(4);
  });
});
