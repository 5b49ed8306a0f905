/**
 * `troupe load --url URL`: the demo's mixed load against a running server's MCP endpoint, through
 * the official MCP client (`chat` tool calls; cancellations are the client's own aborts), with the
 * same live display and summary. Exits 1 if any call did not end exactly once.
 */
import type { Client } from '@modelcontextprotocol/client';
import { LiveDisplay } from '../observe/live-display.js';
import { formatInjected, type LoadItem, planLoad } from '../observe/load-plan.js';
import { formatReport, LoadRecorder, type Outcome } from '../observe/load-report.js';
import type { FinalState } from '../runtime/types.js';
import { parseFlags } from './args.js';
import { endOnClosedOutput } from './closed-output.js';
import { onceInterrupted } from './interrupt.js';
import { connectFailure } from './load-connect.js';
import type { Command } from './main.js';

const USAGE = `Usage: troupe load --url URL [--sessions N] [--concurrency C] [--seed S] [--plain]

Runs the demo's mixed load against a running troupe server on the simulated provider (chat tool
calls over MCP; a server with a provider key is refused, exit 2: the calls would be paid for). Like
the demo, it injects faults on purpose (listed at the start, counted per kind at the end); Ctrl-C
prints the summary so far.
  --url URL         the server's MCP endpoint, e.g. http://127.0.0.1:7801/mcp (required)
  --sessions N      calls in all (default 200)
  --concurrency C   calls in flight at once (default 16)
  --seed S          seed for the load (default 1)
  --plain           plain progress lines even on a terminal
Environment: TROUPE_TOKEN (sent as a bearer token).
`;

const FINAL: readonly string[] = ['done', 'failed', 'timedOut', 'cancelled'];

export const command: Command = {
  summary: 'Run the mixed load against a running server on the simulated provider, over MCP',
  async run(argv) {
    const flags = parseFlags(
      'load',
      argv,
      {
        ints: {
          sessions: { fallback: 200, min: 1, max: 1_000_000 },
          concurrency: { fallback: 16, min: 1, max: 10_000 },
          seed: { fallback: 1, min: 0, max: 2 ** 32 - 1 },
        },
        strings: ['url'],
        booleans: ['plain'],
      },
      USAGE,
    );
    if (!flags.ok) return flags.exitCode;
    const values = { url: flags.strings.url };
    let url: URL;
    try {
      url = new URL(String(values.url ?? ''));
    } catch {
      process.stderr.write(
        values.url === undefined
          ? 'troupe load: Expected `--url` with the MCP endpoint of a running troupe server (e.g. http://127.0.0.1:7801/mcp), got none\n'
          : `troupe load: Expected \`--url\` to be a URL such as http://127.0.0.1:7801/mcp, got ${JSON.stringify(values.url)}\n`,
      );
      return 2;
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      // fetch failed it after the start line, as "cannot connect ...: fetch failed".
      process.stderr.write(
        `troupe load: Expected \`--url\` to be an http or https URL such as http://127.0.0.1:7801/mcp, got ${url.protocol.slice(0, -1)}\n`,
      );
      return 2;
    }
    if (url.username !== '' || url.password !== '') {
      // fetch refuses such a URL, and its message showed it whole, password included.
      const shown = `${url.protocol}//***@${url.host}${url.pathname}`;
      process.stderr.write(
        `troupe load: Expected \`--url\` without a user or password (the server takes a bearer token: set TROUPE_TOKEN), got ${shown}\n`,
      );
      return 2;
    }
    const { sessions, concurrency, seed } = flags.ints as Record<'sessions' | 'concurrency' | 'seed', number>;
    let sdk: typeof import('@modelcontextprotocol/client');
    try {
      sdk = await import('@modelcontextprotocol/client');
    } catch {
      process.stderr.write(
        'troupe load: needs the @modelcontextprotocol/client package; install it next to troupe\n',
      );
      return 1;
    }
    const token = process.env.TROUPE_TOKEN?.trim();
    const client = new sdk.Client({ name: 'troupe-load', version: '0.1.0' });
    try {
      await client.connect(
        new sdk.StreamableHTTPClientTransport(url, {
          ...(token ? { requestInit: { headers: { Authorization: `Bearer ${token}` } } } : {}),
        }),
      );
    } catch (error) {
      process.stderr.write(`${connectFailure(url, error)}\n`);
      return 1;
    }
    const real = await realProviders(client, url);
    if (real !== undefined) {
      process.stderr.write(`${real}\n`);
      await client.close().catch(() => {});
      return 2;
    }
    endOnClosedOutput();
    process.stdout.write(
      `troupe load: ${sessions} calls to ${url.href}, ${concurrency} at once, seed ${seed}\n${formatInjected()}`,
    );
    const plan = planLoad({ sessions: sessions, seed: seed });
    const recorder = new LoadRecorder(plan.length);
    const display = new LiveDisplay(process.stdout, flags.booleans.plain ? { tty: false } : {});
    let inFlight = 0;
    const frame = () => {
      const c = recorder.counts();
      return {
        ended: recorder.finished,
        total: plan.length,
        counts: [
          ['in flight', inFlight],
          ['done', c.done],
          ['failed', c.failed],
          ['timedOut', c.timedOut],
          ['cancelled', c.cancelled],
        ] as const,
      };
    };
    const timer = setInterval(() => display.update(frame()), display.tty ? 100 : 250);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < plan.length) {
        const item = plan[next++]!;
        inFlight++;
        recorder.record(await callOnce(client, item));
        inFlight--;
      }
    };
    const interrupted = onceInterrupted();
    const how = await Promise.race([
      Promise.all(Array.from({ length: Math.min(concurrency, plan.length) }, worker)).then(
        () => 'finished' as const,
      ),
      interrupted.signalled,
    ]);
    interrupted.dispose();
    next = plan.length; // an interrupted run starts no more calls
    clearInterval(timer);
    display.finish(frame());
    await client.close().catch(() => {});
    const report = recorder.report(false, performance.now(), how === 'interrupted');
    if (how === 'interrupted') {
      process.stdout.write(formatReport(report));
      // Calls still in flight were abandoned with the connection; nothing is worth waiting for.
      setTimeout(() => process.exit(130), 200).unref();
      return 130;
    }
    process.stdout.write(formatReport(report));
    return report.problems.length === 0 ? 0 : 1;
  },
};

/**
 * Why the load must not run against this server, or `undefined`: one whose `list_models` does not
 * say the simulated provider answers. The plan asks for `sim-*` models and injects its faults in
 * `extra`; a real provider with an open model list took every call to the vendor, paid for, and the
 * summary put its failures down to injected faults and an open breaker (newcomer audit).
 */
async function realProviders(client: Client, url: URL): Promise<string | undefined> {
  let simulated: unknown;
  try {
    const listed = await client.callTool({ name: 'list_models', arguments: {} });
    simulated = (listed.structuredContent as { simulated?: unknown } | undefined)?.simulated;
  } catch {
    simulated = undefined;
  }
  if (simulated === true) return undefined;
  return `troupe load: Expected a server on the simulated provider (list_models says \`simulated: true\` when no provider key is set), got one at ${url.href} that ${simulated === false ? 'answers with real providers' : 'does not say'}: the load's calls (models sim-*, injected faults) would go to its providers and be paid for; run it against a server started with no provider key`;
}

/** One `chat` call for a plan item, as an outcome; never throws. */
export async function callOnce(client: Client, item: LoadItem): Promise<Outcome> {
  const abort = new AbortController();
  const timer =
    item.cancelAfterMs === undefined
      ? undefined
      : setTimeout(() => abort.abort('cancelled by the load driver'), item.cancelAfterMs);
  try {
    const result = await client.callTool(
      {
        name: 'chat',
        arguments: {
          prompt: `${item.kind} request #${item.index}`,
          model: item.model,
          priority: item.priority,
          extra: item.extra,
          ...(item.timeoutMs === undefined ? {} : { timeout_ms: item.timeoutMs }),
        },
      },
      { signal: abort.signal, timeout: 600_000, resetTimeoutOnProgress: true },
    );
    const s = result.structuredContent as
      | { ok?: boolean; session?: Record<string, unknown>; error?: { code?: string; message?: string } }
      | undefined;
    const session = s?.session;
    const state =
      typeof session?.state === 'string' && FINAL.includes(session.state)
        ? (session.state as FinalState)
        : null;
    const code = s?.error?.code;
    return {
      index: item.index,
      kind: item.kind,
      expected: item.expected,
      state: state ?? (s?.ok === true ? 'done' : 'failed'),
      ...(typeof session?.sessionId === 'string' ? { sessionId: session.sessionId } : {}),
      ...(typeof session?.queuedMs === 'number' ? { queuedMs: session.queuedMs } : {}),
      ...(typeof session?.runMs === 'number' ? { runMs: session.runMs } : {}),
      ...(typeof code === 'string' ? { code } : {}),
      ...(code === 'PROVIDER_UNAVAILABLE' && /circuit breaker/.test(s?.error?.message ?? '')
        ? { breakerOpen: true }
        : {}),
    };
  } catch (error) {
    // Our own abort: the client sent notifications/cancelled and the server cancels the session.
    const planned = { kind: item.kind, expected: item.expected };
    if (abort.signal.aborted) return { index: item.index, ...planned, state: 'cancelled', code: 'CANCELLED' };
    return {
      index: item.index,
      ...planned,
      state: 'failed',
      code: `CLIENT_ERROR: ${(error as Error).message.slice(0, 80)}`,
    };
  } finally {
    if (timer !== undefined) clearTimeout(timer);
  }
}
