/**
 * Logs are JSON lines, keys never reach them (by field and by look), and the level comes from
 * TROUPE_LOG_LEVEL.
 */
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, logLevel, scrubSecrets } from '../../src/observe/logger.js';

function capture(level?: string) {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, done) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      done();
    },
  });
  return { logger: createLogger({ destination, ...(level ? { level } : {}) }), lines };
}

describe('logger', () => {
  it('writes one JSON object per line with a level name', () => {
    const { logger, lines } = capture();
    logger.info({ url: 'http://127.0.0.1:1/mcp' }, 'serving');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({
      level: 'info',
      msg: 'serving',
      url: 'http://127.0.0.1:1/mcp',
    });
  });

  it('redacts key fields and anything that looks like a key, in fields, messages and errors', () => {
    const { logger, lines } = capture();
    const key = 'sk-live0123456789abcdefghij';
    const glm = `${'a1b2c3d4'.repeat(4)}.Zx9Yw8Vu7Ts6`;
    logger.warn(
      {
        apiKey: 'plain-secret-value',
        provider: { apiKey: 'x', name: 'kimi' },
        headers: { authorization: 'Bearer abc' },
      },
      `call failed with ${key}`,
    );
    logger.error(
      { err: new Error(`401 for Authorization: Bearer ${glm}`) },
      'request to https://h/v1?api_key=%s',
      'q-secret',
    );
    const text = lines.join('\n');
    for (const secret of ['plain-secret-value', key, glm, 'Bearer abc', 'q-secret'])
      expect(text).not.toContain(secret);
    const first = JSON.parse(lines[0]!);
    expect(first.apiKey).toBe('[REDACTED]');
    expect(first.provider).toEqual({ apiKey: '[REDACTED]', name: 'kimi' });
    expect(first.msg).toBe('call failed with [REDACTED]');
  });

  it('redacts secret fields three levels down and scrubs strings deep in an object', () => {
    const { logger, lines } = capture();
    const deep = 'sk-deep0123456789abcdef';
    logger.warn({
      config: { provider: { apiKey: 'nested-secret-value', name: 'kimi' } },
      redis: { password: 'hunter2-value' },
      password: 'top-password-value',
      a: { b: { c: { d: `failed with ${deep}` } } },
    });
    const text = lines.join('\n');
    for (const secret of ['nested-secret-value', 'hunter2-value', 'top-password-value', deep])
      expect(text).not.toContain(secret);
    const line = JSON.parse(lines[0]!);
    expect(line.config.provider).toEqual({ apiKey: '[REDACTED]', name: 'kimi' });
    expect(line.a.b.c.d).toBe('failed with [REDACTED]');
  });

  it('scrubs a bare GLM key (32 hex, a dot, then its secret) from a message', () => {
    const glm = `${'a1b2c3d4'.repeat(4)}.Zx9Yw8Vu7Ts6`;
    expect(scrubSecrets(`401 for key ${glm} at glm`)).toBe('401 for key [REDACTED] at glm');
  });

  it('keeps a message on one line and at most 2,048 characters, whatever a client put in it', () => {
    const { logger, lines } = capture();
    logger.warn('method "x\n{"level":"error","msg":"forged"}" is not supported');
    logger.warn(`method ${'m'.repeat(60_000)}`);
    expect(lines).toHaveLength(2);
    expect(JSON.parse(lines[0]!).msg).toBe(
      'method "x\\u000a{"level":"error","msg":"forged"}" is not supported',
    );
    const long = JSON.parse(lines[1]!).msg as string;
    expect(long).toMatch(/^method m+… \(60007 characters\)$/);
    expect(long.length).toBeLessThan(2100);
    // At the bound a message is kept whole; one character more is cut.
    logger.warn('n'.repeat(2048));
    logger.warn('n'.repeat(2049));
    expect(JSON.parse(lines[2]!).msg).toBe('n'.repeat(2048));
    expect(JSON.parse(lines[3]!).msg).toBe(`${'n'.repeat(2048)}… (2049 characters)`);
  });

  it('scrubs strings but leaves ids, URLs and paths alone', () => {
    expect(scrubSecrets('session 3f2a1c9e-1b2c-4d5e-8f90-123456789abc at http://127.0.0.1:7801/mcp')).toBe(
      'session 3f2a1c9e-1b2c-4d5e-8f90-123456789abc at http://127.0.0.1:7801/mcp',
    );
    expect(scrubSecrets('Authorization: Bearer eyJhbGciOi.J9xyz')).toBe('Authorization: Bearer [REDACTED]');
  });

  it("scrubs a URL's user and password, whatever the scheme, and keeps the host", () => {
    // Before: `ws://user:pw@...`, `redis://:pw@...`, `https://user:pw@...` went into lines whole.
    expect(scrubSecrets('inspector at ws://u:Zq9pw@127.0.0.1:8080/ (held)')).toBe(
      'inspector at ws://[REDACTED]@127.0.0.1:8080/ (held)',
    );
    expect(scrubSecrets('"redis://:Zq9pw@10.0.0.5:6379/2"')).toBe('"redis://[REDACTED]@10.0.0.5:6379/2"');
    expect(scrubSecrets('GET https://user:Zq9pw@proxy.example/v1/models')).toBe(
      'GET https://[REDACTED]@proxy.example/v1/models',
    );
    expect(scrubSecrets('mail ops@example.com, see http://127.0.0.1/a@b')).toBe(
      'mail ops@example.com, see http://127.0.0.1/a@b',
    );
  });

  it('scrubs a password given as a URL’s query parameter, as ioredis reads one', () => {
    // Until 2026-12-07 `redis://host:6379/0?password=...` went into a line whole (`api_key=` did not).
    expect(scrubSecrets('Redis at redis://10.0.0.5:6379/0?password=Zq9pw&db=1')).toBe(
      'Redis at redis://10.0.0.5:6379/0?password=[REDACTED]&db=1',
    );
    expect(scrubSecrets('https://h/x?a=1&PASSWORD=Zq9pw')).toBe('https://h/x?a=1&PASSWORD=[REDACTED]');
  });

  it('takes its level from TROUPE_LOG_LEVEL, defaulting to info', () => {
    expect(logLevel(undefined)).toBe('info');
    expect(logLevel('DEBUG')).toBe('debug');
    expect(logLevel('nonsense')).toBe('info');
    const { logger, lines } = capture('warn');
    logger.info('hidden');
    logger.warn('shown');
    expect(lines.map((l) => JSON.parse(l).msg)).toEqual(['shown']);
  });
});
