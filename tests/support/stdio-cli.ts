/**
 * The BUILT `troupe stdio` (`npm run build` first), connected to the MCP SDK's own client over its
 * stdio transport, as a host starts it: a clean environment but PATH, stderr piped.
 */
import { existsSync } from 'node:fs';
import { Client, type ClientOptions } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { expect } from 'vitest';

export const CLI = 'dist/src/cli/main.js';

export async function connectStdioCli(
  name: string,
  drainMs: number,
  clientOptions: ClientOptions = {},
): Promise<Client> {
  expect(existsSync(CLI), `build first: ${CLI} is missing`).toBe(true);
  const client = new Client({ name, version: '1' }, clientOptions);
  await client.connect(
    new StdioClientTransport({
      command: process.execPath,
      args: [CLI, 'stdio', '--drain-ms', String(drainMs)],
      env: { PATH: process.env.PATH ?? '' },
      stderr: 'pipe',
    }),
  );
  return client;
}
