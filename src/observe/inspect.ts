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
 * Bounded, and connected again: `@statelyai/inspect` 0.7's `createWebSocketInspector` kept every
 * event for an inspector that read slowly or not at all (104 MB after 400 sessions of 64 KiB
 * prompts, measured; until 2026-12-07), held 200 events of any size while not connected, and never
 * connected again once the inspector closed the connection. Its public `createInspector` turns
 * XState's events into the inspector's; troupe's own sender (`inspector-sender.ts`) sends them, with
 * one bound in bytes over all it holds, connects again with a growing delay, pings to find a peer
 * that stopped answering, and tells each connection opened and lost.
 */
import type { InspectionEvent } from 'xstate';
import { describe } from '../core/errors.js';
import { broughtByInspect, firstLine } from './inspect-deps.js';
import { hideUserinfo, InspectorSender } from './inspector-sender.js';

export const DEFAULT_INSPECTOR_URL = 'ws://127.0.0.1:8080';

export interface InspectorOptions {
  /** The local inspector's WebSocket (a loopback host). @default 'ws://127.0.0.1:8080' */
  readonly url?: string;
  /**
   * Events held while the socket is not open (not yet, or between connections); past it, or past
   * `maxBacklogBytes` of them, the oldest are dropped and counted. @default 200
   */
  readonly maxDeferredEvents?: number;
  /**
   * Bytes held for the inspector: the events waiting for the socket to open, and what waits unsent
   * on the open socket (an inspector that stopped reading); while more wait there, each event is
   * dropped and counted. @default 41943040 (40 MiB, as the relay's own per-client bound,
   * `maxClientBacklogBytes`)
   */
  readonly maxBacklogBytes?: number;
  /** The first wait before connecting again after a connection closed or failed. @default 1000 */
  readonly minReconnectDelayMs?: number;
  /** The longest wait between attempts; each failed one doubles it up to this. @default 15000 */
  readonly maxReconnectDelayMs?: number;
  /** How long an attempt may wait for the WebSocket to open, then it counts as failed. @default 10000 */
  readonly connectTimeoutMs?: number;
  /**
   * How often an open connection is pinged: a pong not back `pongTimeoutMs` later closes it, and it
   * connects again (an inspector that stopped without closing its socket). @default 15000
   */
  readonly pingIntervalMs?: number;
  /** How long a ping may wait for its pong. @default 10000 */
  readonly pongTimeoutMs?: number;
  /** Told once, at the first event dropped because the inspector reads too slowly (one line for the log). */
  readonly onFirstDrop?: (message: string) => void;
  /**
   * Told once each time a connection opens (`connected` true: "connected to the Stately inspector at
   * ws://… again, after 3 failed attempts") and each time an open one is lost (false: why, what it
   * dropped, when it tries again); failed attempts in between are not told. One line for the log.
   */
  readonly onConnectionChange?: (message: string, connected: boolean) => void;
  /**
   * Where a throw of `onFirstDrop` or `onConnectionChange` goes; the inspector goes on (until
   * 2026-12-07 a throw there was an uncaught exception in a WebSocket handler, which ends a Node
   * process). What `onError` throws goes to the process's warnings. @default `process.emitWarning`,
   * as the runtime's `onError`
   */
  readonly onError?: (error: unknown) => void;
}

export interface ConnectedInspector {
  readonly url: string;
  /** Give this to `createRuntime({ inspect })`. */
  readonly observer: (event: InspectionEvent) => void;
  /**
   * Events dropped so far: past `maxBacklogBytes`, past `maxDeferredEvents` while not connected,
   * handed to a connection that closed before the system took them, or held at `stop()`.
   */
  readonly droppedEvents: number;
  /** Bytes held for the inspector now (events waiting for the socket, and unsent on it); at most `maxBacklogBytes` and one event. */
  readonly backlogBytes: number;
  /** Whether the WebSocket is open now. */
  readonly connected: boolean;
  /**
   * Closes the WebSocket and stops connecting again. The events it still held (waiting for the
   * socket, or handed to it and not yet written out) are dropped and counted in `droppedEvents`
   * (until 2026-12-07 they were lost uncounted). Events reported later are discarded, uncounted.
   */
  stop(): void;
}

/** 40 MiB: the relay's default per-client backlog (its 32 MiB replay and one 8 MiB message). */
export const DEFAULT_INSPECTOR_BACKLOG_BYTES = 40 * 1024 * 1024;

/**
 * Connects to the local inspector at `url` (loading `@statelyai/inspect`), and again whenever the
 * connection closes, until `stop()`: nothing needs to listen there yet.
 */
export async function connectInspector(options: InspectorOptions = {}): Promise<ConnectedInspector> {
  const url = loopbackUrl(options.url ?? DEFAULT_INSPECTOR_URL);
  const maxBacklogBytes = whole(
    'maxBacklogBytes',
    options.maxBacklogBytes ?? DEFAULT_INSPECTOR_BACKLOG_BYTES,
  );
  const maxDeferredEvents = whole('maxDeferredEvents', options.maxDeferredEvents ?? 200);
  const minReconnectDelayMs = whole('minReconnectDelayMs', options.minReconnectDelayMs ?? 1000, 1);
  const maxReconnectDelayMs = whole('maxReconnectDelayMs', options.maxReconnectDelayMs ?? 15_000, 1);
  const connectTimeoutMs = whole('connectTimeoutMs', options.connectTimeoutMs ?? 10_000, 1);
  const pingIntervalMs = whole('pingIntervalMs', options.pingIntervalMs ?? 15_000, 1);
  const pongTimeoutMs = whole('pongTimeoutMs', options.pongTimeoutMs ?? 10_000, 1);
  let modules: [
    typeof import('@statelyai/inspect'),
    typeof import('ws'),
    typeof import('safe-stable-stringify'),
  ];
  try {
    // `ws` and `safe-stable-stringify` come with `@statelyai/inspect`, which sends with them too.
    modules = [
      await import('@statelyai/inspect'),
      broughtByInspect<typeof import('ws')>('ws'),
      broughtByInspect<typeof import('safe-stable-stringify')>('safe-stable-stringify'),
    ];
  } catch (error) {
    throw new Error(
      `Expected the optional package @statelyai/inspect to be installed for inspection, got ${firstLine(error)}: run \`npm install @statelyai/inspect\``,
    );
  }
  const [stately, ws, stable] = modules;
  // As `@statelyai/inspect`'s own sender writes them: its default depth, keys in a stable order.
  const stringify = stable.configure({ maximumDepth: 10 });
  const sender = new InspectorSender(
    {
      url,
      maxBacklogBytes,
      maxDeferredEvents,
      minReconnectDelayMs,
      maxReconnectDelayMs,
      connectTimeoutMs,
      pingIntervalMs,
      pongTimeoutMs,
      onFirstDrop: options.onFirstDrop,
      onConnectionChange: options.onConnectionChange,
      onError: options.onError,
    },
    { WebSocket: ws.WebSocket, stringify: (event) => stringify(event) },
  );
  const { inspect } = stately.createInspector(sender);
  sender.start();
  return {
    url,
    observer: (event) => inspect.next?.(event),
    get droppedEvents() {
      return sender.droppedEvents;
    },
    get backlogBytes() {
      return sender.backlogBytes;
    },
    get connected() {
      return sender.connected;
    },
    stop: () => sender.stop(),
  };
}

/** `value`, checked to be an integer from `min`. */
function whole(name: string, value: number, min = 0): number {
  if (!Number.isSafeInteger(value) || value < min)
    throw new Error(
      `Expected \`${name}\` to be an integer from ${min} to ${Number.MAX_SAFE_INTEGER}, got ${describe(value)}`,
    );
  return value;
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
