/**
 * Stately's inspector for troupe's sessions: connects to the local WebSocket inspector of
 * `@statelyai/inspect` (`createWebSocketInspector`) and hands back the XState inspection observer to
 * give `createRuntime({ inspect })`. Sessions on either engine report their actor, events and
 * snapshots (src/runtime/session-inspection.ts).
 *
 * `@statelyai/inspect` is an optional peer dependency, loaded only here and only when inspection is
 * asked for: without `--inspect` it is never imported. Events go to a WebSocket on this machine
 * only (a loopback address); nothing is sent to a public service. See docs/observability.md.
 */
import type { InspectionEvent } from 'xstate';

export const DEFAULT_INSPECTOR_URL = 'ws://127.0.0.1:8080';

export interface InspectorOptions {
  /** The local inspector's WebSocket (a loopback host). @default 'ws://127.0.0.1:8080' */
  readonly url?: string;
  /** Events held while the socket is not open; the oldest go first. @default 200 */
  readonly maxDeferredEvents?: number;
}

export interface ConnectedInspector {
  readonly url: string;
  /** Give this to `createRuntime({ inspect })`. */
  readonly observer: (event: InspectionEvent) => void;
  /** Closes the WebSocket. */
  stop(): void;
}

/** Loads `@statelyai/inspect` and connects to the local inspector at `url`. */
export async function connectInspector(options: InspectorOptions = {}): Promise<ConnectedInspector> {
  const url = loopbackUrl(options.url ?? DEFAULT_INSPECTOR_URL);
  let stately: typeof import('@statelyai/inspect');
  try {
    stately = await import('@statelyai/inspect');
  } catch (error) {
    throw new Error(
      `Expected the optional package @statelyai/inspect to be installed for inspection, got ${(error as Error).message}: run \`npm install @statelyai/inspect\``,
    );
  }
  const inspector = stately.createWebSocketInspector({
    url,
    maxDeferredEvents: options.maxDeferredEvents ?? 200,
  });
  const { inspect } = inspector;
  return {
    url,
    observer: (event) => inspect.next?.(event),
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
