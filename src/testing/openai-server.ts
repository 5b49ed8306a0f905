/**
 * A local OpenAI-compatible server on 127.0.0.1 for tests, the demo and `troupe/testing`: chat
 * completions (whole and SSE), `/v1/models`, and Moonshot-style files. Faults are chosen per
 * request by the model name (see `faults.ts`). It records every request, when each one's
 * response closed and whether it finished, requests in flight, and distinct sockets.
 *
 * Node built-ins only, no test framework: it must be able to ship.
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { type Fault, NO_FAULT, parseFault } from './faults.js';
import { sendKimiEmptyContentRule } from './kimi-message-rules.js';
import { type KimiModelFields, kimiModelCard } from './kimi-models.js';
import { FilesRoutes, type StoredFile } from './openai-files.js';
import { type Reply, sendCompletion, sendError, sendStream } from './replies.js';
import { type EnforcedLimits, TierLimits } from './tier-limits.js';
import {
  sendKimiThinkingRule,
  sendKimiToolSchemaRule,
  sendUnknownModel,
  sendVendorCompletion,
  sendVendorError,
  sendVendorStream,
  type VendorMode,
  type VendorReply,
} from './vendor-modes.js';

export type { StoredFile } from './openai-files.js';
export type { Reply } from './replies.js';
export type { VendorErrorCase, VendorMode, VendorReply } from './vendor-modes.js';

export interface RecordedRequest {
  readonly id: number;
  readonly method: string;
  readonly path: string;
  /** Lower-cased; `authorization` is left out. */
  readonly headers: Readonly<Record<string, string>>;
  /** Whether a `Bearer` credential came. */
  readonly authorized: boolean;
  /** Parsed JSON, or `undefined` for other bodies. */
  readonly body: unknown;
  readonly receivedAt: number;
  readonly socketId: number;
  /** When the response closed (finished or cut), ms since the epoch. */
  closedAt?: number;
  /** `true` when the response was sent whole; `false` when the connection closed first. */
  completed?: boolean;
  /** When a stream's chunk with `finish_reason` was written, ms since the epoch. */
  finishSentAt?: number;
}

export interface OpenAIServerOptions {
  /** When set, requests must carry `Authorization: Bearer <apiKey>` or get 401. @default unset */
  readonly apiKey?: string;
  /** When set, other non-fault models get 404 `model_not_found`. @default any model is served */
  readonly models?: readonly string[];
  /**
   * What `GET /v1/models` says of each model in Kimi mode, by id: Moonshot's `context_length`,
   * `supports_reasoning`, `supports_image_in`, `supports_video_in` (`vendor-modes.ts`, `kimiModelCard`).
   * @default 262144 tokens and no reasoning, image or video input (*chosen*)
   */
  readonly modelInfo?: Readonly<Record<string, Partial<KimiModelFields>>>;
  /** Builds the answer for an `ok` request. @default echoes the last user message */
  readonly respond?: (body: Record<string, unknown>) => Reply | VendorReply;
  /**
   * Answer as Moonshot (`kimi`) or Zhipu/Z.ai (`glm`) document: their error bodies (`vendor-error:<case>`
   * models), stream shapes and rules (see `vendor-modes.ts`). `fault:` models still work.
   * @default plain OpenAI-compatible
   */
  readonly vendor?: VendorMode;
  /** Larger request bodies get 413. @default 10485760 (10 MiB) */
  readonly maxRequestBytes?: number;
  /** Store each `POST /v1/files` upload, then never answer it (see `openai-files.ts`). @default false */
  readonly hangUploadsAfterStore?: boolean;
  /** Never answer an upload, and store it only after the next file list (or the next N) was answered (see `openai-files.ts`). @default false */
  readonly storeUploadsAfterList?: boolean | number;
  /** Enforce a provider's limits on chat requests, answering 429 past them (see `tier-limits.ts`; per model as GLM). @default none */
  readonly enforce?: EnforcedLimits;
}

export interface OpenAIServer {
  /** `http://127.0.0.1:<port>/v1`, once started. */
  readonly baseURL: string;
  readonly requests: readonly RecordedRequest[];
  readonly files: ReadonlyMap<string, StoredFile>;
  readonly inFlight: number;
  readonly maxInFlight: number;
  /** Distinct TCP connections accepted since start (or the last `reset()`). */
  readonly socketCount: number;
  /** 429s answered by the `enforce` limits. */
  readonly rateLimited: number;
  start(): Promise<string>;
  /** Closes every connection at once, hanging ones included. */
  close(): Promise<void>;
  /** Forgets recorded requests, counters and `first=` budgets. */
  reset(): void;
  setResponder(respond: ((body: Record<string, unknown>) => Reply | VendorReply) | undefined): void;
  /** Resolves with the first recorded request (past or future) that matches. */
  waitForRequest(match: (request: RecordedRequest) => boolean): Promise<RecordedRequest>;
  /** Resolves with the request's `closedAt` once its response closed. */
  waitForClose(request: RecordedRequest): Promise<number>;
}

export function createOpenAIServer(options: OpenAIServerOptions = {}): OpenAIServer {
  const maxRequestBytes = options.maxRequestBytes ?? 10 * 1024 * 1024;
  const enforced =
    options.enforce === undefined ? undefined : new TierLimits(options.enforce, options.vendor);
  let respond = options.respond;
  const requests: RecordedRequest[] = [];
  const fileRoutes = new FilesRoutes({
    hangUploadsAfterStore: options.hangUploadsAfterStore,
    storeUploadsAfterList: options.storeUploadsAfterList,
  });
  const files: ReadonlyMap<string, StoredFile> = fileRoutes.files;
  const sockets = new Map<Socket, number>();
  const budgets = new Map<string, number>();
  const waiters = new Set<() => void>();
  const timers = new Set<ReturnType<typeof setTimeout>>();
  let inFlight = 0;
  let maxInFlight = 0;
  let socketCount = 0;
  let nextSocketId = 0;
  let baseURL = '';
  let server: Server | undefined;

  const notify = () => {
    for (const wake of waiters) wake();
  };
  const delay = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        timers.delete(timer);
        resolve();
      }, ms);
      timers.add(timer);
    });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size <= maxRequestBytes) chunks.push(chunk);
    }
    const raw = Buffer.concat(chunks);
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (name !== 'authorization' && value !== undefined) headers[name] = String(value);
    }
    const auth = req.headers.authorization ?? '';
    let body: unknown;
    if ((headers['content-type'] ?? '').includes('json')) {
      try {
        body = JSON.parse(raw.toString('utf8'));
      } catch {
        body = undefined;
      }
    }
    const record: RecordedRequest = {
      id: requests.length + 1,
      method: req.method ?? 'GET',
      path: (req.url ?? '/').split('?')[0] ?? '/',
      headers,
      authorized: auth.startsWith('Bearer '),
      body,
      receivedAt: Date.now(),
      socketId: sockets.get(req.socket) ?? 0,
    };
    requests.push(record);
    inFlight += 1;
    maxInFlight = Math.max(maxInFlight, inFlight);
    res.on('close', () => {
      inFlight -= 1;
      record.closedAt = Date.now();
      record.completed = res.writableFinished;
      notify();
    });
    notify();

    if (size > maxRequestBytes) return sendError(res, 413, 'Request body too large', NO_FAULT, auth);
    if (options.apiKey !== undefined && auth !== `Bearer ${options.apiKey}`) {
      return sendError(res, 401, 'Invalid API key', NO_FAULT, auth);
    }
    const route = `${record.method} ${record.path}`;
    if (route === 'POST /v1/chat/completions') {
      const model = (body as { model?: unknown } | undefined)?.model;
      if (enforced !== undefined && !enforced.admit(res, model)) return;
      return chat(res, record, auth);
    }
    if (route === 'GET /v1/models') {
      const ids = options.models ?? ['echo-1'];
      res.writeHead(200, { 'content-type': 'application/json' });
      return void res.end(
        JSON.stringify({
          object: 'list',
          data: ids.map((id) =>
            options.vendor === 'kimi' ? kimiModelCard(id, options.modelInfo?.[id]) : { id, object: 'model' },
          ),
        }),
      );
    }
    const contentType = headers['content-type'] ?? '';
    if (await fileRoutes.handle(res, record.method, record.path, raw, contentType)) return;
    return sendError(res, 404, `No route for ${route}`, NO_FAULT, auth);
  }

  async function chat(res: ServerResponse, record: RecordedRequest, auth: string): Promise<void> {
    const body = (record.body ?? {}) as Record<string, unknown>;
    let fault: Fault;
    try {
      fault = parseFault(body.model);
    } catch (error) {
      return sendError(res, 400, (error as Error).message, NO_FAULT, auth);
    }
    if (fault.first !== undefined) {
      const used = budgets.get(String(body.model)) ?? 0;
      budgets.set(String(body.model), used + 1);
      if (used >= fault.first) fault = { ...NO_FAULT, latencyMs: fault.latencyMs };
    }
    if (fault.latencyMs > 0) await delay(fault.latencyMs);
    if (res.destroyed) return;
    const model = String(body.model ?? '');
    const vendor = options.vendor;
    if (vendor !== undefined && fault.mode === 'ok') {
      if (sendVendorError(res, vendor, body)) return;
      if (options.models !== undefined && !options.models.includes(model))
        return sendUnknownModel(res, vendor, model);
      if (vendor === 'kimi' && sendKimiThinkingRule(res, body)) return;
      if (vendor === 'kimi' && sendKimiToolSchemaRule(res, body)) return;
      if (vendor === 'kimi' && sendKimiEmptyContentRule(res, body)) return;
      const reply = (respond ?? echo)(body);
      if (body.stream === true)
        return sendVendorStream(res, vendor, body, reply, {
          chunkDelayMs: fault.chunkDelayMs,
          splitBytes: fault.splitBytes,
          delay,
          endDelayMs: fault.endDelayMs,
          oneWrite: fault.oneWrite,
          lastInFinish: fault.lastInFinish,
          noFinish: fault.noFinish,
          sse: fault.sse,
          finishSent: () => (record.finishSentAt = Date.now()),
        });
      return sendVendorCompletion(res, vendor, body, reply, fault.noFinish);
    }
    if (
      fault.mode === 'ok' &&
      options.models !== undefined &&
      !model.startsWith('fault:') &&
      !options.models.includes(model)
    ) {
      return sendError(res, 404, `The model \`${model}\` does not exist`, NO_FAULT, auth, 'model_not_found');
    }
    const reply = (respond ?? echo)(body);
    // What an echoing error body quotes: the Authorization header, or every header received.
    const echoed = fault.echoHeaders ? JSON.stringify({ ...record.headers, authorization: auth }) : auth;
    const context = { fault, delay, auth: echoed, finishSent: () => (record.finishSentAt = Date.now()) };
    if (body.stream === true && !fault.noSse) return sendStream(res, body, reply, context);
    return sendCompletion(res, body, reply, context);
  }

  return {
    get baseURL() {
      return baseURL;
    },
    requests,
    files,
    get inFlight() {
      return inFlight;
    },
    get maxInFlight() {
      return maxInFlight;
    },
    get socketCount() {
      return socketCount;
    },
    get rateLimited() {
      return enforced?.rejected ?? 0;
    },
    async start() {
      // Idle kept-alive sockets stay open 65 s, as behind the vendors' load balancers (Node's 5 s
      // default raced a loaded client reusing a socket the server was closing: "other side closed"
      // at 256 in flight in `bench http`).
      server = createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
        handle(req, res).catch(() => res.destroy());
      });
      server.on('connection', (socket) => {
        socketCount += 1;
        nextSocketId += 1;
        sockets.set(socket, nextSocketId);
        socket.on('close', () => sockets.delete(socket));
      });
      // A backlog for a thousand clients connecting at once (Node's default, 511, made some of
      // 1,000 concurrent streams wait seconds for SYN retries before their first byte).
      server.listen({ port: 0, host: '127.0.0.1', backlog: 2048 });
      await once(server, 'listening');
      baseURL = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
      return baseURL;
    },
    async close() {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      if (server === undefined) return;
      const closing = new Promise<void>((resolve) => server?.close(() => resolve()));
      server.closeAllConnections();
      for (const socket of sockets.keys()) socket.destroy();
      await closing;
      server = undefined;
    },
    reset() {
      requests.length = 0;
      budgets.clear();
      maxInFlight = inFlight;
      socketCount = 0;
    },
    setResponder(next) {
      respond = next;
    },
    waitForRequest(match) {
      return waitUntil(() => requests.find(match));
    },
    waitForClose(request) {
      return waitUntil(() => request.closedAt);
    },
  };

  function waitUntil<T>(probe: () => T | undefined): Promise<T> {
    return new Promise((resolve) => {
      const check = () => {
        const found = probe();
        if (found === undefined) return;
        waiters.delete(check);
        resolve(found);
      };
      waiters.add(check);
      check();
    });
  }
}

function echo(body: Record<string, unknown>): Reply {
  const messages = Array.isArray(body.messages)
    ? (body.messages as { role?: string; content?: unknown }[])
    : [];
  const last = [...messages].reverse().find((m) => m.role === 'user');
  return { content: `echo: ${typeof last?.content === 'string' ? last.content : ''}` };
}
