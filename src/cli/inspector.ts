/**
 * `troupe inspector [--port N] [--host H]`: the local relay for Stately's inspector, loopback only
 * and refusing other sites' pages (src/observe/inspector-relay.ts), until Ctrl-C or SIGTERM.
 */
import { parseArgs } from 'node:util';
import { loopbackUrl } from '../observe/inspect.js';
import { startInspectorRelay } from '../observe/inspector-relay.js';
import { parseIntFlag } from './config-values.js';
import type { Command } from './main.js';
import { usageMessage } from './usage-error.js';

const USAGE = `Usage: troupe inspector [--port N] [--host H]

Relays what \`troupe serve --inspect\` sends to Stately's inspector page: open the page it prints.
Listens on loopback only, and refuses a WebSocket from any other site's page (needs
@statelyai/inspect; docs/observability.md).
  --port N   port (default 8080, where --inspect sends; 0 for any free one)
  --host H   the address the relay listens on: a loopback one, 127.0.0.1, ::1 or localhost (default 127.0.0.1)
`;

export const command: Command = {
  summary: "Relay sessions to Stately's inspector page, on this machine only (with serve --inspect)",
  async run(argv) {
    let values: { port?: string; host?: string; help?: boolean };
    try {
      ({ values } = parseArgs({
        args: [...argv],
        options: {
          port: { type: 'string' },
          host: { type: 'string' },
          help: { type: 'boolean', short: 'h' },
        },
      }));
    } catch (error) {
      process.stderr.write(`troupe inspector: ${usageMessage('inspector', error)}\n`);
      return 2;
    }
    if (values.help) {
      process.stdout.write(USAGE);
      return 0;
    }
    let port: number;
    try {
      // As `serve` reads its own: plain digits only (`Number` took `0x1f`, `1e3` and ` 80`).
      port = values.port === undefined ? 8080 : parseIntFlag('port', values.port, 0, 65535);
    } catch (error) {
      process.stderr.write(`troupe inspector: ${(error as Error).message}\n`);
      return 2;
    }
    const hostRefusal = values.host === undefined ? undefined : notLoopback(values.host);
    if (hostRefusal !== undefined) {
      process.stderr.write(`troupe inspector: ${hostRefusal}\n`);
      return 2;
    }
    let relay: Awaited<ReturnType<typeof startInspectorRelay>>;
    try {
      relay = await startInspectorRelay({
        port,
        ...(values.host === undefined ? {} : { host: values.host }),
      });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      // A busy port, say, in the words `serve` uses (loaded only then: serve.ts brings the MCP side): exit 1.
      if (/^E[A-Z]+$/.test(code ?? '')) {
        const { listenFailure } = await import('./serve.js');
        process.stderr.write(
          `troupe inspector: ${listenFailure(error, values.host ?? '127.0.0.1', port, {})}\n`,
        );
        return 1;
      }
      // What the command was given or lacks (a host off this machine, the optional package not
      // installed): exit 2, as `serve --inspect` does for the same.
      process.stderr.write(`troupe inspector: ${(error as Error).message}\n`);
      return 2;
    }
    process.stderr.write(
      `troupe inspector: relaying at ${relay.url} (loopback only; other sites' pages refused); open ${relay.page} in a browser, then run troupe serve --inspect-url ${relay.url}\n`,
    );
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    await relay.close();
    return 0;
  },
};

/**
 * Why `host` cannot be the relay's listening address, or undefined. The relay keeps to loopback on
 * purpose (inspector-relay.ts: what it passes on carries prompts and answers, and Stately's own
 * server, open to the network, gave them to any host), so another address is refused, not taken.
 * Until 2026-12-07 the refusal was the inspector URL's ("Expected the inspector on this machine"),
 * which did not say that `--host` is the relay's own address.
 */
export function notLoopback(host: string): string | undefined {
  try {
    loopbackUrl(`ws://${host.includes(':') && !host.startsWith('[') ? `[${host}]` : host}/`);
    return undefined;
  } catch {
    return `Expected \`--host\`, the address the relay listens on, to be a loopback one (127.0.0.1, ::1 or localhost), got ${JSON.stringify(host)}: the relay passes on every inspected session's prompts and answers, so it listens on this machine only; to watch from another machine, forward the port (e.g. \`ssh -L 8080:127.0.0.1:8080 this-host\`)`;
  }
}
