/**
 * The response-size cap of the provider transport (`src/providers/transport.ts`) over real HTTP,
 * for both of its fetches (`fetch` for streams, `fetchWhole` for calls answered whole): a body
 * with a declared length within the cap passes; a declared length over it is refused before the
 * response resolves; everything else is counted as it is read, compressed bodies by their decoded
 * size.
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acquireTransport, ResponseTooLargeError, type Transport } from '../../../src/providers/transport.js';

const CAP = 64 * 1024;
const big = 'x'.repeat(CAP * 4);
let server: Server;
let transport: Transport;
let base: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    switch (req.url) {
      case '/small':
        res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '5' });
        res.end('hello');
        return;
      case '/declared-too-large':
        res.writeHead(200, { 'content-type': 'text/plain', 'content-length': String(big.length) });
        res.end(big);
        return;
      case '/chunked-too-large':
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write(big.slice(0, CAP));
        res.end(big.slice(CAP));
        return;
      case '/chunked-at-cap':
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write(big.slice(0, CAP / 2));
        res.end(big.slice(CAP / 2, CAP));
        return;
      case '/chunked-over-by-one':
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write(big.slice(0, CAP / 2));
        res.end(big.slice(CAP / 2, CAP + 1));
        return;
      case '/gzip-at-cap':
      case '/gzip-over-by-one': {
        const packed = gzipSync(big.slice(0, req.url === '/gzip-at-cap' ? CAP : CAP + 1));
        res.writeHead(200, { 'content-type': 'text/plain', 'content-encoding': 'gzip' });
        res.end(packed);
        return;
      }
      case '/gzip-bomb': {
        // Small on the wire, with a length within the cap; four times the cap once decoded.
        const packed = gzipSync(big);
        res.writeHead(200, {
          'content-type': 'text/plain',
          'content-encoding': 'gzip',
          'content-length': String(packed.length),
        });
        res.end(packed);
        return;
      }
      default:
        res.writeHead(404).end();
    }
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  transport = acquireTransport(base, { maxResponseBytes: CAP });
});

afterAll(async () => {
  await transport.release();
  server.close();
});

const fetches = ['fetch', 'fetchWhole'] as const;

async function read(kind: (typeof fetches)[number], path: string): Promise<string | Error> {
  try {
    const response = await transport[kind](`${base}${path}`);
    return await response.text();
  } catch (error) {
    return error as Error;
  }
}

describe.each(fetches)('response cap (%s)', (kind) => {
  it('passes a declared, uncompressed body within the cap', async () => {
    expect(await read(kind, '/small')).toBe('hello');
  });

  it('refuses a declared length over the cap before reading it: the response itself fails', async () => {
    await expect(transport[kind](`${base}/declared-too-large`)).rejects.toBeInstanceOf(ResponseTooLargeError);
  });

  it('stops a body without a length at the cap', async () => {
    const outcome = await read(kind, '/chunked-too-large');
    expect(outcome).toBeInstanceOf(Error);
    expect(String((outcome as Error).cause ?? outcome)).toMatch(/at most 65536 bytes/);
  });

  it('accepts a body of exactly the cap and refuses one byte more, counted as read', async () => {
    expect(await read(kind, '/chunked-at-cap')).toBe(big.slice(0, CAP));
    const outcome = await read(kind, '/chunked-over-by-one');
    expect(outcome).toBeInstanceOf(Error);
    expect(String((outcome as Error).cause ?? outcome)).toMatch(/at most 65536 bytes/);
  });

  it('accepts a compressed body that decodes to exactly the cap and refuses one byte more', async () => {
    expect(await read(kind, '/gzip-at-cap')).toBe(big.slice(0, CAP));
    const outcome = await read(kind, '/gzip-over-by-one');
    expect(outcome).toBeInstanceOf(Error);
    expect(String((outcome as Error).cause ?? outcome)).toMatch(/at most 65536 bytes/);
  });

  it('counts a compressed body by its decoded size, whatever its declared length', async () => {
    const outcome = await read(kind, '/gzip-bomb');
    expect(outcome).toBeInstanceOf(Error);
    expect(String((outcome as Error).cause ?? outcome)).toMatch(/at most 65536 bytes/);
  });
});
