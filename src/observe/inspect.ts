/**
 * Stately's inspector for troupe's sessions: connects to the local WebSocket inspector of
 * `@statelyai/inspect` (`createWebSocketInspector`) and hands back the XState inspection observer to
 * give `createRuntime({ inspect })`. Sessions on either engine report their actor, events and
 * snapshots (src/runtime/session-inspection.ts).
 *
 * `@statelyai/inspect` is an optional peer dependency, loaded only here and only when inspection is
 * asked for: without `--inspect` it is never imported. Events go to a WebSocket on this machine
 * only (a loopback address); nothing is sent to a public service. See docs/observability.md.
 *
 * Bounded: `@statelyai/inspect` 0.7 sends each event on its `ws` WebSocket as it comes and never
 * looks at what waits unsent, so an inspector that read slowly or not at all had every later event
 * kept in memory for it, without end (104 MB after 400 sessions of 64 KiB prompts, measured; until
 * 2026-12-07). Its `filter` option, called just before each send, drops an event while more than
 * `maxBacklogBytes` wait on the socket, and counts it; events are sent in order otherwise.
 */
import type { InspectionEvent } from 'xstate';
import { describe } from '../core/errors.js';

export const DEFAULT_INSPECTOR_URL = 'ws://127.0.0.1:8080';

export interface InspectorOptions {
  /** The local inspector's WebSocket (a loopback host). @default 'ws://127.0.0.1:8080' */
  readonly url?: string;
  /** Events held while the socket is not open; the oldest go first. @default 200 */
  readonly maxDeferredEvents?: number;
  /**
   * Bytes that may wait unsent on the open WebSocket (an inspector that stopped reading); while
   * more wait, each event is dropped and counted. @default 41943040 (40 MiB, as the relay's own
   * per-client bound, `maxClientBacklogBytes`)
   */
  readonly maxBacklogBytes?: number;
  /** Told once, at the first event dropped, why (one line for the log). */
  readonly onFirstDrop?: (message: string) => void;
}

export interface ConnectedInspector {
  readonly url: string;
  /** Give this to `createRuntime({ inspect })`. */
  readonly observer: (event: InspectionEvent) => void;
  /** Events dropped so far because more than `maxBacklogBytes` waited unsent. */
  readonly droppedEvents: number;
  /** Bytes waiting unsent on the WebSocket now (0 while it is not open). */
  readonly backlogBytes: number;
  /** Closes the WebSocket. */
  stop(): void;
}

/** 40 MiB: the relay's default per-client backlog (its 32 MiB replay and one 8 MiB message). */
export const DEFAULT_INSPECTOR_BACKLOG_BYTES = 40 * 1024 * 1024;

/**
 * The parts of 0.7's `WebSocketAdapter` read here (private in its types): its socket (a new one at
 * each reconnect) and whether it is open. tests/integration/inspect-backlog.test.ts holds them.
 */
interface AdapterInternals {
  readonly ws?: { readonly bufferedAmount: number };
  readonly status?: string;
}

/** Loads `@statelyai/inspect` and connects to the local inspector at `url`. */
export async function connectInspector(options: InspectorOptions = {}): Promise<ConnectedInspector> {
  const url = loopbackUrl(options.url ?? DEFAULT_INSPECTOR_URL);
  const maxBacklog = options.maxBacklogBytes ?? DEFAULT_INSPECTOR_BACKLOG_BYTES;
  if (!Number.isSafeInteger(maxBacklog) || maxBacklog < 0)
    throw new Error(
      `Expected \`maxBacklogBytes\` to be an integer from 0 to ${Number.MAX_SAFE_INTEGER}, got ${describe(maxBacklog)}`,
    );
  let stately: typeof import('@statelyai/inspect');
  try {
    stately = await import('@statelyai/inspect');
  } catch (error) {
    throw new Error(
      `Expected the optional package @statelyai/inspect to be installed for inspection, got ${(error as Error).message}: run \`npm install @statelyai/inspect\``,
    );
  }
  let dropped = 0;
  const backlog = (): number => {
    const adapter = inspector.adapter as unknown as AdapterInternals;
    return adapter.status === 'open' ? (adapter.ws?.bufferedAmount ?? 0) : 0;
  };
  const inspector = stately.createWebSocketInspector({
    url,
    maxDeferredEvents: options.maxDeferredEvents ?? 200,
    filter: () => {
      if (backlog() <= maxBacklog) return true;
      dropped += 1;
      if (dropped === 1)
        options.onFirstDrop?.(
          `the Stately inspector at ${url} reads too slowly: more than ${maxBacklog} bytes wait unsent, so events are dropped while they do (counted in troupe_inspector_dropped_events)`,
        );
      return false;
    },
  });
  if (typeof (inspector.adapter as unknown as AdapterInternals).ws?.bufferedAmount !== 'number') {
    inspector.stop();
    throw new Error(
      'Expected @statelyai/inspect 0.7 (its WebSocket adapter holds `ws`), got another shape: troupe bounds what waits unsent through it',
    );
  }
  const { inspect } = inspector;
  return {
    url,
    observer: (event) => inspect.next?.(event),
    get droppedEvents() {
      return dropped;
    },
    get backlogBytes() {
      return backlog();
    },
    stop: () => inspector.stop(),
  };
}

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * The inspector URL, checked: `ws:` or `wss:` to a loopback host, with no user or password (the
 * local inspector takes none, and the URL goes into the start line of the log); messages never show
 * a user or password (before 2026-12-03 the start line logged `ws://user:password@...` whole).
 */
export function loopbackUrl(text: string): string {
  const shown = hideUserinfo(text);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new Error(
      `Expected the inspector URL to be a WebSocket URL such as ${DEFAULT_INSPECTOR_URL}, got "${shown}"`,
    );
  }
  if (url.protocol !== 'ws:' && url.protocol !== 'wss:')
    throw new Error(`Expected the inspector URL to start with ws:// or wss://, got "${shown}"`);
  if (url.username !== '' || url.password !== '')
    throw new Error(
      `Expected the inspector URL without a user or password (the local inspector takes none), got "${shown}"`,
    );
  // `127.` alone let `ws://127.0.0.1.attacker.example/` through: only an IPv4 literal in 127/8 counts.
  if (!LOOPBACK.has(url.hostname) && !/^127(?:\.\d{1,3}){3}$/.test(url.hostname))
    throw new Error(
      `Expected the inspector on this machine (localhost, 127.0.0.1 or [::1]), got "${url.hostname}": session contexts carry prompts, so troupe sends them to no other host`,
    );
  return url.href;
}

/** `text` with everything between `//` and the last `@` (a user and password) shown as `***`. */
function hideUserinfo(text: string): string {
  const start = text.indexOf('//');
  const at = text.lastIndexOf('@');
  return start >= 0 && at > start ? `${text.slice(0, start + 2)}***${text.slice(at)}` : text;
}
