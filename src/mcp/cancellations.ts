/**
 * `withCancellations`: a client's cancellation of a 2025-era call reaches the call on the SDK's
 * stateless HTTP handler (`createMcpHandler`'s legacy fallback).
 *
 * On that path every POST is served by a server of its own. A 2025-era client cancels a call with a
 * `notifications/cancelled` POST naming the call's request id; it reaches a new server that has no
 * such request, so the call ran on to its end or its deadline (the SDK client keeps the call's POST
 * open, so no disconnection tells the server either). Measured on 2026-12-06: the SDK client's
 * `callTool(..., { signal })` aborted, the `withSession` tool's session ended `done` 800 ms later.
 *
 * Here each legacy request's POST is served with a signal of ours; a cancellation from the same
 * client that names the id of exactly one of its requests in flight aborts that signal, which the
 * SDK's fallback answers by closing that request's server, and so aborting its handler. Without
 * sessions, request ids are the client's own counter (every SDK client starts at 0), so only a client
 * told apart from the others can be matched: by default a named caller (`authInfo.extra.troupeCaller`,
 * the key troupe scopes the `sessions` tool by, `caller.ts`), or whatever `clientOf` names. A request
 * of a client not told apart, and a cancellation naming an id its client has more than once in
 * flight, are left as the SDK leaves them. A cancellation that arrives while a POST of its client is
 * still being read is kept for that POST (`MAX_EARLY`) and matched once it is read. 2026-07-28 requests pass through: there a cancellation is
 * the request's stream closing, which the SDK already turns into an abort.
 */
import {
  type AuthInfo,
  DEFAULT_MAX_REQUEST_BODY_SIZE,
  isJsonContentType,
  isLegacyRequest,
  type McpHandlerRequestOptions,
  readRequestBody,
} from '@modelcontextprotocol/server';
import { callerOf, namedCallerKey, userCallerKey } from './caller.js';
import { requestKey } from './request-ids.js';

/** The face of `createMcpHandler`'s result (and of anything shaped like it) that is wrapped. */
export interface FetchHandler {
  fetch(request: Request, options?: McpHandlerRequestOptions): Promise<Response>;
}

export interface CancellationsOptions {
  /**
   * Who sent a request: requests with the same answer are one client's, whose request ids do not
   * repeat while in flight. `undefined` leaves the request unmatched. The default names a named caller
   * (`user:<authInfo.extra.troupeCaller>`) and nobody else. Return a key only for what tells one
   * client apart from another that may be yours too (a connection id your front gives, say): two
   * clients under one key can cancel each other's calls that share an id.
   */
  readonly clientOf?: (request: Request, authInfo: AuthInfo | undefined) => string | undefined;
  /**
   * Largest body read to find the requests a POST carries; a larger one gets the SDK's 413 from here.
   * Set it to your handler's `maxRequestBodySize` if you changed that. @default the SDK's 4 MiB
   */
  readonly maxRequestBodySize?: number;
}

const CANCELLED = 'notifications/cancelled';
const cancelled = () => new Error(`cancelled by the client (${CANCELLED})`);

/**
 * Most ids a POST still being read keeps as cancelled meanwhile: a client's calls of one POST
 * (a batch) that it cancels before the body is in; more are not matched.
 */
const MAX_EARLY = 64;

/** A POST of a matched client whose body is being read: ids its client cancelled meanwhile. */
interface Reading {
  readonly early: Set<string>;
}

/** A named caller's key (`caller.ts`), or `undefined` for a client that shares its scope. */
function namedCaller(_request: Request, authInfo: AuthInfo | undefined): string | undefined {
  if (authInfo === undefined) return undefined;
  const { key } = callerOf({ http: { authInfo } });
  return userCallerKey(key) || namedCallerKey(key) ? key : undefined;
}

interface Message {
  readonly id?: unknown;
  readonly method?: unknown;
  readonly params?: { readonly requestId?: unknown };
}

/** A revision past the 2025 era in the request's header: the SDK serves it per request, read nothing. */
const modern = (version: string | null) =>
  version !== null && !version.startsWith('2025-') && !version.startsWith('2024-');

const isId = (id: unknown): id is string | number => typeof id === 'string' || typeof id === 'number';

/**
 * Wraps `handler` (the result of `createMcpHandler`) so that a 2025-era client's
 * `notifications/cancelled` aborts the call it names. Everything else of the handler is kept.
 */
export function withCancellations<H extends FetchHandler>(handler: H, options: CancellationsOptions = {}): H {
  const clientOf = options.clientOf ?? namedCaller;
  const maxBytes = options.maxRequestBodySize ?? DEFAULT_MAX_REQUEST_BODY_SIZE;
  /** Each client's requests in flight, by id: more than one under a key is an id it repeated. */
  const inFlight = new Map<string, AbortController[]>();

  const untrack = (keys: readonly string[], controller: AbortController) => {
    for (const key of keys) {
      const held = inFlight.get(key)?.filter((c) => c !== controller) ?? [];
      if (held.length === 0) inFlight.delete(key);
      else inFlight.set(key, held);
    }
  };

  /** Each client's POSTs not yet in flight (their body being read), with the ids cancelled meanwhile. */
  const reading = new Map<string, Set<Reading>>();

  const cancel = (client: string, id: unknown) => {
    if (!isId(id)) return;
    const key = requestKey(client, id);
    const held = inFlight.get(key);
    if (held !== undefined) {
      if (held.length === 1) held[0]?.abort(cancelled());
      return;
    }
    // Not in flight: perhaps in a POST of this client not yet read (a large body, or the
    // cancellation's POST overtook it). Only POSTs that arrived before it can hold that call.
    for (const pending of reading.get(client) ?? []) {
      if (pending.early.size < MAX_EARLY) pending.early.add(key);
    }
  };

  /** `client`'s POST arrived: cancellations of its calls are kept until `done()` (it is in flight, or passed on). */
  const arrived = (client: string) => {
    const pending: Reading = { early: new Set() };
    const held = reading.get(client) ?? new Set<Reading>();
    reading.set(client, held);
    held.add(pending);
    const done = () => {
      held.delete(pending);
      if (held.size === 0 && reading.get(client) === held) reading.delete(client);
    };
    return { early: pending.early, done };
  };

  async function fetch(request: Request, requestOptions?: McpHandlerRequestOptions): Promise<Response> {
    const client =
      request.method.toUpperCase() === 'POST' &&
      isJsonContentType(request.headers.get('content-type')) &&
      !modern(request.headers.get('mcp-protocol-version'))
        ? clientOf(request, requestOptions?.authInfo)
        : undefined;
    if (client === undefined) return handler.fetch(request, requestOptions);
    const pending = arrived(client);
    try {
      return await served(client, request, requestOptions, pending);
    } finally {
      pending.done();
    }
  }

  async function served(
    client: string,
    request: Request,
    requestOptions: McpHandlerRequestOptions | undefined,
    pending: { readonly early: ReadonlySet<string>; readonly done: () => void },
  ): Promise<Response> {
    const pass = (r: Request) => {
      pending.done();
      return handler.fetch(r, requestOptions);
    };
    // The body is read here once and handed on as text, which the SDK reads again with its own size
    // bound (a copy read instead, through the stream's tee, cost about 300 µs a call more: `npm run
    // bench -- cancellations`). A body parsed by the caller goes on as it came.
    let parsedBody = requestOptions?.parsedBody;
    let text: string | undefined;
    if (parsedBody === undefined) {
      const read = await readRequestBody(request, maxBytes).catch(() => undefined);
      // Unreadable (a stream that failed): the SDK answers it, as it would have.
      if (read === undefined) return pass(request);
      if (read.tooLarge) return tooLarge(maxBytes);
      text = read.text;
      try {
        parsedBody = JSON.parse(text);
      } catch {
        parsedBody = undefined;
      }
    }
    /** The request as the SDK gets it, with `signal`, which its fallback answers by closing the request's server. */
    const again = (signal: AbortSignal) =>
      text === undefined && signal === request.signal
        ? request
        : new Request(request.url, { method: request.method, headers: request.headers, body: text, signal });
    if (
      parsedBody === null ||
      typeof parsedBody !== 'object' ||
      !(await isLegacyRequest(request, parsedBody))
    ) {
      return pass(again(request.signal));
    }
    // Its own cancellations are not kept for it: it is read.
    pending.done();
    const messages = (Array.isArray(parsedBody) ? parsedBody : [parsedBody]) as Message[];
    const keys: string[] = [];
    for (const message of messages) {
      if (message === null || typeof message !== 'object') continue;
      if (message.method === CANCELLED) cancel(client, message.params?.requestId);
      else if (typeof message.method === 'string' && isId(message.id))
        keys.push(requestKey(client, message.id));
    }
    if (keys.length === 0) return handler.fetch(again(request.signal), requestOptions);

    const controller = new AbortController();
    for (const key of keys) {
      const held = inFlight.get(key);
      if (held === undefined) inFlight.set(key, [controller]);
      else held.push(controller);
    }
    // A call cancelled before its POST was read, and now its client's only call with that id.
    const early = keys.some((key) => pending.early.has(key) && inFlight.get(key)?.length === 1);
    let response: Response;
    try {
      response = await handler.fetch(
        again(AbortSignal.any([request.signal, controller.signal])),
        requestOptions,
      );
    } catch (error) {
      untrack(keys, controller);
      throw error;
    }
    // Aborted once the SDK listens: its fallback watches the signal for an abort, not an aborted one.
    if (early) controller.abort(cancelled());
    return untilAnswered(response, () => untrack(keys, controller));
  }

  return { ...handler, fetch };
}

/** The SDK's answer to a body over the bound (its `jsonrpc` error, 413). */
function tooLarge(maxBytes: number): Response {
  const message = `Payload Too Large: Request body must not exceed ${maxBytes} bytes`;
  return Response.json({ jsonrpc: '2.0', error: { code: -32000, message }, id: null }, { status: 413 });
}

/** `response` with `done` called once its body is read to its end, fails or is cancelled. */
function untilAnswered(response: Response, done: () => void): Response {
  const body = response.body;
  if (body === null) {
    done();
    return response;
  }
  const reader = body.getReader();
  let ended = false;
  const end = () => {
    if (!ended) {
      ended = true;
      done();
    }
  };
  const watched = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { done: finished, value } = await reader.read();
        if (finished) {
          end();
          controller.close();
        } else controller.enqueue(value);
      } catch (error) {
        end();
        controller.error(error);
      }
    },
    cancel(reason) {
      end();
      return reader.cancel(reason);
    },
  });
  return new Response(watched, {
    status: response.status,
    statusText: response.statusText,
    headers: response.headers,
  });
}
