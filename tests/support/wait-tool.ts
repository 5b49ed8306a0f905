/**
 * `wait`: a `withSession` tool that runs until its session ends (a model that never answers), for
 * the tests of each caller's share (tests/integration/mcp/http-caller-shares.test.ts,
 * caller-share-warning.test.ts).
 */
import type { McpServer } from '@modelcontextprotocol/server';
import * as z from 'zod';
import { withSession } from '../../src/mcp/with-session.js';
import type { Runtime } from '../../src/runtime/types.js';

export function registerWait(server: McpServer, runtime: Runtime): void {
  server.registerTool(
    'wait',
    { description: 'Waits for its end.', inputSchema: z.object({}) },
    withSession(
      runtime,
      (_args, session) =>
        new Promise((_resolve, reject) =>
          session.signal.addEventListener('abort', () => reject(session.signal.reason)),
        ),
      { timeoutMs: 60_000 },
    ),
  );
}
