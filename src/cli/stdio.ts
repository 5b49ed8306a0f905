/**
 * `troupe stdio`: the MCP server over stdio. stdout carries only the protocol; every log line
 * goes to stderr. When the client closes stdin, or the connection closes on its own, in-flight calls
 * are cancelled and the process ends.
 */
import { delimiter } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { parseArgs } from 'node:util';
import type { McpServer } from '@modelcontextprotocol/server';
import { serveStdio } from '@modelcontextprotocol/server/stdio';
import type { McpContext } from '../mcp/context.js';
import { InFlightIds } from '../mcp/in-flight-ids.js';
import { ListenInterest } from '../mcp/listen-interest.js';
import { createMcpServer } from '../mcp/server.js';
import { gracefulStop, onceSignalled } from '../mcp/shutdown.js';
import { DEFAULT_MAX_LINE_BYTES, guardStdin } from '../mcp/stdio-guard.js';
import { type BatchedOutputOptions, batchedOutput } from '../mcp/stdio-output.js';
import { AnsweringStdioTransport, type OnClosing } from '../mcp/stdio-request-ids.js';
import { createLogger, type Logger } from '../observe/logger.js';
import { preloadSdk } from '../providers/sdk-clients.js';
import { answeredBy, bootstrap, providersOrRefusal, rootsRefusal } from './bootstrap.js';
import { loadConfig, type ResolvedConfig, settingOptions, settingsUsage } from './config.js';
import { exitSoon } from './exit.js';
import type { Command } from './main.js';
import { usageMessage } from './usage-error.js';

const USAGE = `Usage: troupe stdio [limits...]

Serves MCP over stdin/stdout, for hosts that start the server themselves. Logs go to stderr.
Limits and deadlines:
${settingsUsage('stdio')}Environment: TROUPE_ROOTS (folders multi_file_chat may read, separated by "${delimiter}"; default the
working directory, none when that is "/", where a host may start it), TROUPE_LOG_LEVEL (default info), TROUPE_LOG_FORMAT (pretty or json; default pretty
on a terminal), TROUPE_PROVIDERS_FILE, provider keys (MOONSHOT_API_KEY, ZHIPUAI_API_KEY, ...; none: the
simulated provider answers). In a host's config they go in the server entry's "env".
`;

/** Builds the `McpServer` of one stdio connection, given its era and the listen interest it sees. */
export type StdioServerFactory = (era: 'legacy' | 'modern', listening: ListenInterest) => McpServer;

/**
 * troupe's MCP server on this process's stdin and stdout, as `troupe stdio` runs it: bad lines get
 * their JSON-RPC error, answers of one turn leave in one write, and a 2026-07-28 connection gets the
 * resource changes its listen streams named. `createServer` defaults to troupe's server
 * (`createMcpServer`); `bench stdio` gives its own to measure this layer without a session.
 */
export function serveOverStdio(
  mcp: McpContext,
  logger: Logger,
  createServer: StdioServerFactory = (era, listening) =>
    createMcpServer(mcp, { resourceUpdates: era === 'modern' ? listening : 'subscribed' }),
  /** Longest line a client may send, in bytes (`--max-request-bytes`). @default 4 MiB */
  maxLineBytes?: number,
  /**
   * How long the host may leave stdout unread (`--stalled-output-ms`), and how much may wait; what
   * to tell of a close other than by `close()`: `onClosed`, the connection closed (with the error it
   * closed on); `onServerClosing`, a server of it is closing, before its calls are aborted (the
   * connection's, or a probe the SDK replaces: a 2026-07-28 `server/discover` then a 2025 `initialize`).
   */
  options: Pick<BatchedOutputOptions, 'stalledMs' | 'maxUnsentBytes'> & {
    readonly onClosed?: OnClosing;
    readonly onServerClosing?: () => void;
  } = {},
): { readonly output: Writable; close(): Promise<void> } {
  const { onClosed, onServerClosing, ...bounds } = options;
  // Answers that complete in the same turn leave in one write; a host that stops reading them ends
  // the output, which stops the server (see stdio-output.ts).
  const output = batchedOutput(process.stdout, bounds);
  // Bad lines get their JSON-RPC error (-32700, -32600) instead of being dropped unanswered.
  // Good ones show which resources a 2026-07-28 client's listen streams name.
  // A request reusing the id of one in flight is refused (`in-flight-ids.ts`).
  const listening = new ListenInterest();
  const ids = new InFlightIds();
  const input = guardStdin(process.stdin, (line) => output.write(line), {
    onMessage: (message) => {
      const refused = ids.admit(message);
      if (refused === undefined) listening.observe(message);
      return refused;
    },
    ...(maxLineBytes === undefined ? {} : { maxLineBytes }),
  });
  // The guard bounds a line; the SDK's reader has a bound of its own (10 MiB), past which it closed
  // the connection and the server answered nothing more, the process left running (until
  // 2026-12-07, with `--max-request-bytes` over 10 MiB). Set above anything the guard passes at
  // once: a line, with the other lines of its chunk of stdin (64 KiB).
  const lineBytes = maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
  const transport = new AnsweringStdioTransport(input as Readable, output, ids, {
    maxBufferSize: lineBytes + 1024 * 1024,
    onClosing: (error) => {
      if (!closing) onClosed?.(error);
    },
  });
  const handle = serveStdio(
    ({ era }) => {
      const server = createServer(era, listening);
      // The SDK's server tells its `onclose` before it aborts its calls, and before the connection
      // closes when it was closed by code: that close is on no error reported before it.
      const low = server.server;
      const previous = low.onclose;
      low.onclose = () => {
        transport.forgetError();
        if (!closing) onServerClosing?.();
        previous?.();
      };
      return server;
    },
    { transport, onerror: (error) => logger.error({ err: error }, error.message) },
  );
  let closing = false;
  return {
    output,
    close: () => {
      closing = true;
      return handle.close();
    },
  };
}

/** How long a server's close is taken for the connection's, before the connection closes too, in ms. */
const SERVER_CLOSE_HEARD_MS = 1000;

export const command: Command = {
  summary: 'Serve MCP over stdio (protocol on stdout, logs on stderr)',
  async run(argv) {
    let config: ResolvedConfig;
    try {
      const { values } = parseArgs({
        args: [...argv],
        options: { help: { type: 'boolean', short: 'h' }, ...settingOptions('stdio') },
      });
      if (values.help === true) {
        process.stdout.write(USAGE);
        return 0;
      }
      config = await loadConfig(values, process.env);
    } catch (error) {
      process.stderr.write(`troupe stdio: ${usageMessage('stdio', error)}\n`);
      return 2;
    }
    const deadlineMs = config.values.drainMs;
    const badRoots = await rootsRefusal('stdio', process.env);
    if (badRoots !== undefined) {
      process.stderr.write(`${badRoots}\n`);
      return 2;
    }
    const providers = await providersOrRefusal('stdio', process.env);
    if ('refusal' in providers) {
      process.stderr.write(`${providers.refusal}\n`);
      return 2;
    }
    const logger = createLogger({ base: { component: 'stdio' } });
    const { mcp, simulated, closeProviders } = await bootstrap(
      process.env,
      logger,
      undefined,
      undefined,
      config,
      undefined,
      false,
      {},
      providers,
    );
    // The SDK aborts a closed transport's calls itself, before the stop below begins: heard from the
    // moment the host goes (listeners put first), their sessions count in the stop line's cancelled
    // and `ended`, as those the stop itself ends do.
    const endedOnGoing = new Map<string, string>();
    let unsubscribe = (): void => {};
    const listen = (): void => {
      unsubscribe();
      unsubscribe = mcp.runtime.subscribe((event) => {
        // The calls its going cut; one that finished in that moment is not the stop's to count.
        if (event.type === 'session.ended' && event.result.metadata.state === 'cancelled')
          endedOnGoing.set(event.sessionId, 'cancelled');
      });
    };
    // The connection closing on its own (the transport's reader failed, or the MCP server was
    // closed): nothing is answered again, and the process stayed up holding the host's pipes (until
    // 2026-12-07). stdin's end and stdout's failure close it too, and say so themselves (below).
    const hostWent = () => process.stdin.readableEnded || process.stdin.destroyed || served.output.destroyed;
    let closeError: Error | undefined;
    let closed = false;
    let closedOnItsOwn = (): void => {};
    const connectionClosed = new Promise<'connection closed'>((resolve) => {
      closedOnItsOwn = () => resolve('connection closed');
    });
    const served = serveOverStdio(mcp, logger, undefined, config.values.maxRequestBytes, {
      stalledMs: config.values.stalledOutputMs,
      // A server closed by code aborts its calls before the connection closes: heard from then, and
      // let go after a second if the connection stays (the SDK replaced a probe server).
      onServerClosing: () => {
        if (closed || hostWent()) return;
        listen();
        setTimeout(() => {
          if (!closed && !hostWent()) {
            unsubscribe();
            endedOnGoing.clear();
          }
        }, SERVER_CLOSE_HEARD_MS).unref();
      },
      onClosed: (error) => {
        if (hostWent()) return;
        closed = true;
        closeError = error;
        listen();
        closedOnItsOwn();
      },
    });
    // One start line and one stop line, as `serve` has: a host's MCP log shows where to look.
    const names = providers.providers.map((p) => p.name);
    logger.info({ providers: names, simulated }, `serving MCP on stdio; ${answeredBy(simulated, names)}`);
    // The SDK and undici load now, off the start's path (`sdk-clients.ts`); a failure shows at the first call.
    if (!simulated) setImmediate(() => void preloadSdk().catch(() => {}));
    const stdinClosed = new Promise<'stdin closed'>((resolve) => {
      process.stdin.once('end', () => resolve('stdin closed'));
      process.stdin.once('close', () => resolve('stdin closed'));
    });
    // A host that stops reading (EPIPE on stdout, or stdout left unread: `--stalled-output-ms`, or
    // 64 Mi characters waiting) is gone as surely as one that closes stdin: its calls went on
    // running, and being paid for, with no one to read them.
    const stdoutGone = new Promise<'stdout closed'>((resolve) => {
      served.output.once('close', () => resolve('stdout closed'));
    });
    process.stdin.prependOnceListener('end', listen).prependOnceListener('close', listen);
    // An output that failed (EPIPE, or left unread) errors before it closes, and the transport
    // aborts its calls on the error: heard from there.
    served.output.prependOnceListener('error', listen).prependOnceListener('close', listen);
    const why = await Promise.race([onceSignalled(), stdinClosed, stdoutGone, connectionClosed]);
    // A host that goes while a signal's drain runs (Ctrl-C in its terminal reaches troupe too, then
    // the host exits) leaves nobody to read what the drain waits for: its tasks, which no request
    // holds, ran on at the provider for all of `--drain-ms` (until 2026-12-07). They end now.
    const nobodyReads = why === 'stdin closed' || why === 'stdout closed' || why === 'connection closed';
    const hostLeft = new AbortController();
    if (!nobodyReads)
      void Promise.race([stdinClosed, stdoutGone, connectionClosed]).then((gone) =>
        hostLeft.abort(
          gone === 'connection closed'
            ? 'the MCP connection closed while the server was draining'
            : 'the host went away while the server was draining',
        ),
      );
    // With stdin, stdout or the connection closed nobody can read results: nothing is worth waiting for.
    const report = await gracefulStop(mcp, {
      deadlineMs: nobodyReads ? 0 : deadlineMs,
      closeTransports: () => served.close(),
      endedBefore: endedOnGoing,
      signal: hostLeft.signal,
    });
    unsubscribe();
    await closeProviders();
    const cancelledOnGoing = [...endedOnGoing].filter(([, state]) => state === 'cancelled').map(([id]) => id);
    const cancelled = new Set([...cancelledOnGoing, ...report.cancelled]).size;
    // Finished: ended on their own while draining. The runtime counts every session that ended
    // before the deadline, so calls cut by the host's going counted twice (until 2026-12-07: "3
    // session(s) finished while draining, 4 cancelled" of 4 calls, none of which finished).
    const finished = Object.entries(report.endedByState)
      .filter(([state]) => state !== 'cancelled')
      .reduce((sum, [, count]) => sum + count, 0);
    // Closed on an error in a signal's drain, it only cut the drain short (`hostLeft`).
    const failed = why === 'connection closed' ? closeError : undefined;
    const fields = { why, finished, cancelled, ended: report.endedByState };
    const stopped = `stopped; ${finished} session(s) finished while draining, ${cancelled} cancelled`;
    // A connection closed on an error ends the process with 1: the host sees a server that failed.
    if (failed === undefined) logger.info(fields, `${why}: ${stopped}`);
    else logger.error({ ...fields, err: failed }, `${why} on an error (${failed.message}): ${stopped}`);
    served.output.end();
    const code = failed === undefined ? 0 : 1;
    exitSoon(code);
    return code;
  },
};
