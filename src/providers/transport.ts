/**
 * The HTTP transport under the OpenAI SDK: one pooled keep-alive undici `Agent` per origin, shared
 * by every provider that talks to that origin, and two `fetch`es on it that cap response bodies:
 * `fetch` (undici's, for streams and uploads) and `fetchWhole` (undici's `request()`, the body read
 * in full, for calls answered whole; `whole-fetch.ts`).
 *
 * Why undici's own `fetch`: Node 20's global `fetch` bundles an older undici whose dispatcher
 * interface differs from undici 7's `Agent`; mixing them fails at runtime (the SDK warns about it).
 *
 * Where the cap is counted: an uncompressed body's bytes are counted as undici hands them to
 * `fetch` (`CappedDispatcher`, a plain function call per chunk), so a stream costs no extra web
 * stream; a compressed body is counted after decoding, by a `TransformStream` (`capBody`). Both,
 * and undici itself, are in `undici-fetch.ts`, imported by the first request of any provider, and
 * each origin's agent is made then: a start with a key set does not load undici.
 */
import type OpenAI from 'openai';
import type { Agent } from 'undici';
import { ResponseTooLargeError } from './response-cap.js';
import type { FetchLike, WholeInit } from './whole-fetch.js';

export interface TransportOptions {
  /** Sockets per origin. @default 16 */
  readonly maxSockets?: number;
  /** How long an idle socket stays open for reuse, in ms (the server's `Keep-Alive` hint wins when shorter). @default 30000 */
  readonly keepAliveMs?: number;
  /** Largest response body accepted, in bytes; more is a `BAD_RESPONSE`. @default 67108864 (64 MiB) */
  readonly maxResponseBytes?: number;
}

export interface Transport {
  /** undici's `fetch` on the pooled agent, the body capped: streams, uploads, anything. */
  readonly fetch: FetchLike;
  /**
   * For calls answered whole: the body read in full on the pooled agent (undici's `request()`),
   * capped, before the `Response` resolves; its socket is free by then (`whole-fetch.ts`).
   */
  readonly fetchWhole: FetchLike;
  /** Releases this user's share of the pooled agent; the last release destroys it. */
  release(): Promise<void>;
}

export { ResponseTooLargeError };

interface PooledAgent {
  readonly maxSockets: number;
  readonly keepAliveMs: number;
  /** Made on the first request through any of its users (undici is loaded then, not at start). */
  agent?: Agent;
  refs: number;
  closed: boolean;
}

const pool = new Map<string, PooledAgent>();

/** Number of live pooled agents; for tests that check `close()` released them. */
export function pooledAgentCount(): number {
  return pool.size;
}

type UndiciFetch = typeof import('./undici-fetch.js');
let undici: Promise<UndiciFetch> | undefined;

/** undici and the code on it, imported once, by the first request of any provider (or `preloadSdk`). */
export function loadUndici(): Promise<UndiciFetch> {
  undici ??= import('./undici-fetch.js');
  return undici;
}

export function acquireTransport(baseURL: string, options: TransportOptions = {}): Transport {
  const origin = new URL(baseURL).origin;
  let entry = pool.get(origin);
  if (entry === undefined) {
    // The first provider for an origin sets its pool size; later ones share it (documented).
    entry = {
      maxSockets: options.maxSockets ?? 16,
      keepAliveMs: options.keepAliveMs ?? 30_000,
      refs: 0,
      closed: false,
    };
    pool.set(origin, entry);
  }
  entry.refs += 1;
  const held = entry;
  const maxResponseBytes = options.maxResponseBytes ?? 64 * 1024 * 1024;
  let released = false;
  let fetches: ReturnType<UndiciFetch['agentFetches']> | undefined;

  const ready = async (): Promise<ReturnType<UndiciFetch['agentFetches']>> => {
    if (fetches !== undefined) return fetches;
    const loaded = await loadUndici();
    if (held.closed) throw new Error(`The transport to ${origin} is closed`);
    held.agent ??= loaded.createAgent(held.maxSockets, held.keepAliveMs);
    fetches ??= loaded.agentFetches(held.agent, origin, maxResponseBytes);
    return fetches;
  };
  const fetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> =>
    (await ready()).fetch(input, init);
  const fetchWhole = async (input: string | URL | Request, init?: RequestInit): Promise<Response> =>
    (await ready()).fetchWhole(input, init);
  // The SDK probes `fetch.Response` to decide whether multipart uploads work; the global class
  // encodes global `FormData` correctly, and `fetch` converts it for undici.
  Object.assign(fetch, { Response: globalThis.Response });
  Object.assign(fetchWhole, { Response: globalThis.Response });

  return {
    fetch,
    fetchWhole,
    async release() {
      if (released) return;
      released = true;
      held.refs -= 1;
      if (held.refs === 0 && pool.get(origin) === held) {
        pool.delete(origin);
        held.closed = true;
        await held.agent?.destroy();
      }
    },
  };
}

/**
 * Resolves one macrotask later. undici frees a socket a tick after a body's last byte: a caller that
 * read a whole response and sends its next request at once should wait for this first, or the
 * request finds no idle socket and opens another. Bodies `capBody` counts wait in the stream's
 * `flush`; a body it passes untouched (not compressed) is read by the SDK, so the provider waits.
 */
export function socketReleased(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * The init fields that carry `idleTimeoutMs` to `fetchWhole` through the SDK (its per-request
 * `fetchOptions`, spread into the init it hands to `fetch`); nothing without one.
 */
export function wholeInit(idleTimeoutMs: number | undefined): OpenAI.RequestOptions['fetchOptions'] {
  if (idleTimeoutMs === undefined) return undefined;
  const init: WholeInit = { idleTimeoutMs };
  return init as OpenAI.RequestOptions['fetchOptions'];
}
