/**
 * A provider's two `openai` SDK clients, made on its first call rather than at start: importing the
 * SDK took a few hundred ms of a start with a key set (with undici, `undici-fetch.ts`), and a server
 * that never calls the provider never pays it. Both share the settings and the pooled sockets:
 * streams and uploads over undici's `fetch`; calls answered whole over `fetchWhole`, which reads the
 * body in one go at about half the SDK's CPU per call (docs/performance-log.md, "Issue 19, fourth pass").
 */
import type OpenAI from 'openai';
import { loadUndici, type Transport } from './transport.js';

export interface SdkClients {
  readonly client: OpenAI;
  readonly wholeClient: OpenAI;
}

export interface SdkSettings {
  readonly apiKey: string;
  readonly baseURL: string;
  readonly defaultHeaders?: Readonly<Record<string, string>>;
}

/**
 * The SDK's timeout, in ms: effectively none, because deadlines belong to the session. It must
 * stay below 2^31 - 1, past which Node fires timers at once.
 */
const NO_SDK_TIMEOUT_MS = 24 * 60 * 60 * 1000;

let sdk: Promise<typeof import('openai')> | undefined;

function loadSdk(): Promise<typeof import('openai')> {
  sdk ??= import('openai');
  return sdk;
}

/**
 * Loads the SDK and undici ahead of the first call: `troupe serve` and `troupe stdio` call it once
 * they answer, so neither the start nor, usually, the first call waits for them.
 */
export async function preloadSdk(): Promise<void> {
  await Promise.all([loadSdk(), loadUndici()]);
}

/**
 * The clients, made once, by the provider's first call (the SDK imported once for all providers).
 * Once made they come back as they are; until then a call waits for the load, or for its signal's
 * abort if that comes first: a call aborted while the SDK loads (a few hundred ms on a busy machine)
 * ends at once, as one aborted in flight does (until 2026-12-07 it waited for the load).
 */
export function lazySdkClients(
  settings: SdkSettings,
  transport: Transport,
): (signal: AbortSignal) => SdkClients | Promise<SdkClients> {
  let made: Promise<SdkClients> | undefined;
  let ready: SdkClients | undefined;
  const make = () =>
    loadSdk().then(({ default: SDK }) => {
      const client = (fetch: Transport['fetch']) =>
        new SDK({
          apiKey: settings.apiKey,
          baseURL: settings.baseURL,
          // Explicit nulls: otherwise the SDK reads OPENAI_ORG_ID / OPENAI_PROJECT_ID from the
          // environment and would send OpenAI account headers to other vendors.
          organization: null,
          project: null,
          adminAPIKey: null,
          maxRetries: 0,
          timeout: NO_SDK_TIMEOUT_MS,
          defaultHeaders: { ...(settings.defaultHeaders ?? {}) },
          fetch,
          logLevel: 'off', // troupe reports what the SDK would log (unparseable chunks) as errors
        });
      ready = { client: client(transport.fetch), wholeClient: client(transport.fetchWhole) };
      return ready;
    });
  return (signal) => {
    if (ready !== undefined) return ready;
    made ??= make();
    return untilAborted(made, signal);
  };
}

/** `loading`, or a rejection with the signal's reason once it aborts, whichever comes first. */
function untilAborted<T>(loading: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    loading.finally(() => signal.removeEventListener('abort', onAbort)).then(resolve, reject);
  });
}
