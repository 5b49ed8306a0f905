/**
 * `troupe stdio`: the MCP server over stdio. stdout carries only the protocol; every log line
 * goes to stderr. When the client closes stdin, in-flight calls are cancelled and the process ends.
 */
import type { Readable } from 'node:stream';
import { StdioServerTransport, serveStdio } from '@modelcontextprotocol/server/stdio';
import { createMcpServer } from '../mcp/server.js';
import { gracefulStop, onceSignalled } from '../mcp/shutdown.js';
import { guardStdin } from '../mcp/stdio-guard.js';
import { createLogger } from '../observe/logger.js';
import type { Command } from './main.js';
import { bootstrap, exitSoon, SIMULATED_NOTICE } from './serve.js';

const USAGE = `Usage: troupe stdio [--drain-ms MS]

Serves MCP over stdin/stdout, for hosts that start the server themselves. Logs are JSON lines on
stderr; TROUPE_LOG_LEVEL sets the level (default info).
  --drain-ms MS   on SIGINT/SIGTERM, how long calls may finish before they are cancelled (default 10000)
`;

export const command: Command = {
  summary: 'Serve MCP over stdio (protocol on stdout, logs on stderr)',
  async run(argv) {
    if (argv.includes('--help') || argv.includes('-h')) {
      process.stdout.write(USAGE);
      return 0;
    }
    const drainAt = argv.indexOf('--drain-ms');
    const deadlineMs = drainAt >= 0 ? Number(argv[drainAt + 1]) : 10_000;
    const logger = createLogger({ base: { component: 'stdio' } });
    const { mcp, simulated, closeProviders } = await bootstrap(process.env, logger);
    if (simulated) logger.info({ simulated }, SIMULATED_NOTICE);
    // Bad lines get their JSON-RPC error (-32700, -32600) instead of being dropped unanswered.
    const input = guardStdin(process.stdin, (line) => process.stdout.write(line));
    const handle = serveStdio(() => createMcpServer(mcp), {
      transport: new StdioServerTransport(input as Readable, process.stdout),
      onerror: (error) => logger.error({ err: error }, error.message),
    });
    const stdinClosed = new Promise<'stdin closed'>((resolve) => {
      process.stdin.once('end', () => resolve('stdin closed'));
      process.stdin.once('close', () => resolve('stdin closed'));
    });
    const why = await Promise.race([onceSignalled(), stdinClosed]);
    // With stdin closed nobody can read results, so nothing is worth waiting for.
    await gracefulStop(mcp, {
      deadlineMs: why === 'stdin closed' ? 0 : deadlineMs,
      closeTransports: () => handle.close(),
    });
    await closeProviders();
    exitSoon(0);
    return 0;
  },
};
