/**
 * `troupe load --url` when the server cannot be reached: one line saying what went wrong and what
 * to do, from the MCP client's real errors. Before, a newcomer who forgot to start the server read
 * "cannot connect to ...: fetch failed", and one with the wrong path or no token read
 * "Error POSTing to endpoint: {...}".
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { command } from '../../../src/cli/load.js';
import { connectFailure } from '../../../src/cli/load-connect.js';

let server: Server | undefined;
afterEach(async () => {
  vi.restoreAllMocks();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

/** An HTTP server answering every request with `status`. */
async function answering(status: number): Promise<URL> {
  server = createServer((_req, res) => {
    res.writeHead(status, { 'content-type': 'application/json' }).end('{"error":"no"}');
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`);
}

/** A loopback port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

async function connectError(url: URL): Promise<unknown> {
  const client = new Client({ name: 't', version: '1' });
  try {
    await client.connect(new StreamableHTTPClientTransport(url));
  } catch (error) {
    return error;
  }
  await client.close();
  throw new Error(`Expected connecting to ${url.href} to fail`);
}

describe('troupe load: cannot connect', () => {
  it('a refused connection says to start troupe serve', async () => {
    const url = new URL(`http://127.0.0.1:${await closedPort()}/mcp`);
    expect(connectFailure(url, await connectError(url))).toBe(
      `troupe load: cannot connect to ${url.href}: connection refused (nothing listens on ${url.host}); start \`troupe serve\` there (npm start), or check --url`,
    );
  });

  it('a 401 says to set TROUPE_TOKEN', async () => {
    const url = await answering(401);
    expect(connectFailure(url, await connectError(url))).toBe(
      `troupe load: cannot connect to ${url.href}: HTTP 401, the server wants a token; set TROUPE_TOKEN to one it accepts`,
    );
  });

  it.each([404, 405])(
    'a %i (a path other than /mcp; the dashboard at / answers 405) names the endpoint path',
    async (status) => {
      const url = new URL('/wrong', await answering(status));
      expect(connectFailure(url, await connectError(url))).toBe(
        `troupe load: cannot connect to ${url.href}: HTTP ${status}, no MCP endpoint at /wrong; troupe serve's is /mcp (e.g. ${url.origin}/mcp)`,
      );
    },
  );

  it('a port fetch will not connect to (6000, a “bad port”) says so and to pick another', async () => {
    // Before: "cannot connect to http://127.0.0.1:6000/mcp: fetch failed", though troupe serve
    // listens there without a word (Node's http server takes any port; fetch and browsers do not).
    const url = new URL('http://127.0.0.1:6000/mcp');
    expect(connectFailure(url, await connectError(url))).toBe(
      `troupe load: cannot connect to ${url.href}: port 6000 is one that fetch, as browsers, refuses to connect to (a "bad port" of the Fetch standard); start troupe serve on another --port`,
    );
  });

  it('another status and an unknown failure keep their own message', () => {
    const url = new URL('http://127.0.0.1:1/mcp');
    expect(connectFailure(url, Object.assign(new Error('boom'), { data: { status: 500 } }))).toBe(
      `troupe load: cannot connect to ${url.href}: HTTP 500; boom`,
    );
    expect(connectFailure(url, new Error('odd', { cause: { code: 'EPIPE' } }))).toBe(
      `troupe load: cannot connect to ${url.href}: odd (EPIPE)`,
    );
    expect(connectFailure(url, 'text')).toBe(`troupe load: cannot connect to ${url.href}: text`);
  });

  it('the command prints that one line and exits 1', async () => {
    const url = `http://127.0.0.1:${await closedPort()}/mcp`;
    const written: string[] = [];
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
      written.push(String(chunk));
      return true;
    });
    vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    expect(await command.run(['--url', url, '--sessions', '1', '--plain'])).toBe(1);
    expect(written).toEqual([expect.stringMatching(/: connection refused .*start `troupe serve` there/)]);
    expect(written[0]).toMatch(/\n$/);
  });
});
