/**
 * The stdio counterpart of `http-body.ts`: every line from the client is checked before the SDK
 * reads it, and a bad one gets the JSON-RPC error it deserves instead of silence. The SDK's stdio
 * reader skips a line that is not JSON without a word, and closes the whole connection on a line
 * over its 10 MiB buffer; here a line that is not JSON, or not UTF-8 (until 2026-12-07 each bad
 * byte was read as U+FFFD and the request went on altered), gets -32700 (Parse error), and one that is
 * too long, too deep or not a JSON-RPC object gets -32600 (Invalid Request), with `id: null` as
 * JSON-RPC 2.0 §5 says when the id cannot be read. A line too long or too deep to parse is not read
 * whole, but its id is looked for where clients put it, among the first members or as the last one
 * (`idAtEdges`): with `id: null`, a host that sent a large file waited out its own timeout. So does a batch (a JSON array: the SDK's stdio
 * reader takes one message per line) and a message the SDK's schema refuses (a `progressToken`
 * that is an object, a numeric `method`, ...), which the SDK also dropped unanswered, leaving the
 * client waiting on that id: its error carries the id when it is a string or a number; and so does a
 * last line the input ends inside, with no newline; and a request holding more than `maxEnvelopeBytes`
 * outside its arguments, which the HTTP front refuses too. Good lines pass through unchanged.
 */
import { Transform, type TransformCallback } from 'node:stream';
import { parseJSONRPCMessage } from '@modelcontextprotocol/server';
import {
  DEFAULT_MAX_ENVELOPE_BYTES,
  DEFAULT_MAX_JSON_DEPTH,
  envelopeMessage,
  envelopeOver,
  jsonDepth,
  utf8Text,
} from './http-body.js';

const NEWLINE = Buffer.from('\n');
/** Longest line taken unless told otherwise. */
export const DEFAULT_MAX_LINE_BYTES = 4 * 1024 * 1024;

export interface StdioGuardOptions {
  /** Longest line accepted, in bytes; a longer one is discarded as it streams. @default 4194304 (4 MiB) */
  readonly maxLineBytes?: number;
  /** Deepest JSON nesting accepted. @default 64 */
  readonly maxJsonDepth?: number;
  /** Most bytes of a request's JSON outside `params.arguments`, as over HTTP (`envelopeBytes`). @default 65536 */
  readonly maxEnvelopeBytes?: number;
  /**
   * Called with each good line's parsed message before it goes on; text back refuses the line
   * instead (-32600 with that message, `id: null`).
   */
  readonly onMessage?: (message: unknown) => string | undefined;
}

type Refusal = {
  readonly ok: false;
  readonly code: number;
  readonly message: string;
  /** The request's id when it could be read, so the client's call ends. */
  readonly id?: string | number;
};

/** A line's verdict: pass it on, or answer with this error. */
export function checkLine(
  line: string,
  maxJsonDepth = DEFAULT_MAX_JSON_DEPTH,
  maxEnvelopeBytes = DEFAULT_MAX_ENVELOPE_BYTES,
): { readonly ok: true } | Refusal {
  const verdict = readLine(line, maxJsonDepth, maxEnvelopeBytes);
  return verdict.ok ? { ok: true } : verdict;
}

/**
 * How many times its line's length a message's JSON can be, written again (`1e20` is
 * `100000000000000000000`): a line shorter than the envelope bound over this has no envelope over it.
 */
const REWRITE_GROWTH = 6;

/** `checkLine`, with the parsed value of a good line. */
function readLine(
  line: string,
  maxJsonDepth: number,
  maxEnvelopeBytes: number,
): { readonly ok: true; readonly value: unknown } | Refusal {
  if (jsonDepth(line) > maxJsonDepth) {
    const id = idAtEdges(line.slice(0, EDGE_BYTES), line.slice(-EDGE_BYTES));
    return {
      ok: false,
      code: -32600,
      message: `Invalid Request: JSON nested deeper than ${maxJsonDepth} levels`,
      ...(id === undefined ? {} : { id }),
    };
  }
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return { ok: false, code: -32700, message: 'Parse error: the line is not valid JSON' };
  }
  if (Array.isArray(value)) {
    return {
      ok: false,
      code: -32600,
      message:
        'Invalid Request: expected one JSON-RPC message per line, got a batch (a JSON array); send its messages one per line',
    };
  }
  if (value === null || typeof value !== 'object' || (value as { jsonrpc?: unknown }).jsonrpc !== '2.0') {
    // An object with an id (a `"jsonrpc":"1.0"` request) is answered under it, as over HTTP: with
    // `id: null` its client waited out its own timeout.
    const id = value !== null && typeof value === 'object' ? (value as { id?: unknown }).id : undefined;
    return {
      ok: false,
      code: -32600,
      message: 'Invalid Request: expected a JSON-RPC 2.0 object ({"jsonrpc":"2.0",...})',
      ...(typeof id === 'string' || typeof id === 'number' ? { id } : {}),
    };
  }
  try {
    parseJSONRPCMessage(value);
  } catch {
    const id = (value as { id?: unknown }).id;
    return {
      ok: false,
      code: -32600,
      message:
        'Invalid Request: expected a JSON-RPC request, notification or response the MCP schema accepts (a string `method`, a string or number `id`, object `params`, a string or number `_meta.progressToken`), got a message it refuses',
      ...(typeof id === 'string' || typeof id === 'number' ? { id } : {}),
    };
  }
  // What a request holds besides its arguments while it waits (in the queue, a `tasks/result`
  // wait), as over HTTP: until 2026-12-07 a stdio client's 60 queued calls with 3 MB of `_meta` each
  // took `troupe stdio` from 82 to 371 MB, and 10,000 of 4 MiB could be held.
  const envelope =
    line.length * REWRITE_GROWTH > maxEnvelopeBytes ? envelopeOver(value, maxEnvelopeBytes) : undefined;
  if (envelope !== undefined) {
    const id = (value as { id?: unknown }).id;
    return {
      ok: false,
      code: -32600,
      message: envelopeMessage(envelope, maxEnvelopeBytes),
      ...(typeof id === 'string' || typeof id === 'number' ? { id } : {}),
    };
  }
  return { ok: true, value };
}

/** How much of a line's start and end is kept to find its id in. */
const EDGE_BYTES = 512;
const SCALAR = String.raw`(?:"(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null)`;
const ID = String.raw`(-?\d+|"(?:[^"\\]|\\.)*")`;
/** `"id"` among the first members, with only scalars before it: at the top level, then. */
const ID_FIRST = new RegExp(
  String.raw`^\s*\{(?:\s*"(?:[^"\\]|\\.)*"\s*:\s*${SCALAR}\s*,)*\s*"id"\s*:\s*${ID}\s*[,}]`,
);
/** `"id"` as the last member: the `}` that ends the line closes the top-level object. */
const ID_LAST = new RegExp(String.raw`[{,]\s*"id"\s*:\s*${ID}\s*\}\s*$`);

/**
 * The id of a line too long or too deep to parse, from its first and last bytes: as a first
 * member (after scalar ones, e.g. `"jsonrpc"`), or as the last (where the MCP SDKs put it);
 * `undefined` when neither shows one.
 */
export function idAtEdges(head: string, tail: string): string | number | undefined {
  const found = ID_FIRST.exec(head) ?? ID_LAST.exec(tail);
  if (found === null) return undefined;
  try {
    const id: unknown = JSON.parse(found[1] as string);
    return typeof id === 'string' || (typeof id === 'number' && Number.isFinite(id)) ? id : undefined;
  } catch {
    return undefined;
  }
}

/** The last `EDGE_BYTES` of `before` and `next` together. */
function lastBytes(before: Buffer, next: Buffer): Buffer {
  if (next.length >= EDGE_BYTES) return Buffer.from(next.subarray(next.length - EDGE_BYTES));
  const both = Buffer.concat([before, next]);
  return both.length <= EDGE_BYTES ? both : Buffer.from(both.subarray(both.length - EDGE_BYTES));
}

/**
 * Returns the stream the SDK's stdio transport should read instead of `input`; `answer` receives
 * each error response (one line of JSON, newline included) to write to the client.
 */
export function guardStdin(
  input: NodeJS.ReadableStream,
  answer: (line: string) => void,
  options: StdioGuardOptions = {},
): NodeJS.ReadableStream {
  const maxLineBytes = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
  const maxJsonDepth = options.maxJsonDepth ?? DEFAULT_MAX_JSON_DEPTH;
  const maxEnvelopeBytes = options.maxEnvelopeBytes ?? DEFAULT_MAX_ENVELOPE_BYTES;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let discarding = false;
  // While a line too long is discarded: its first and last bytes, to find its id in.
  let head: Buffer = Buffer.alloc(0);
  let tail: Buffer = Buffer.alloc(0);
  const tooLong = () => {
    const id = idAtEdges(head.toString('utf8'), tail.toString('utf8'));
    refuse(-32600, `Invalid Request: line over ${maxLineBytes} bytes`, id ?? null);
  };
  const refuse = (code: number, message: string, id: string | number | null = null) =>
    answer(`${JSON.stringify({ jsonrpc: '2.0', id, error: { code, message } })}\n`);

  const guard = new Transform({
    transform(chunk: Buffer, _encoding, done: TransformCallback) {
      // Good lines go on as the bytes that came (a `\r\n` ending as `\n`), all of a chunk's in one
      // push: one pass through the SDK's reader per chunk, not one per line.
      let good: Buffer[] = [];
      const pass = () => {
        if (good.length === 0) return;
        this.push(good.length === 1 ? good[0] : Buffer.concat(good));
        good = [];
      };
      let rest = chunk;
      for (;;) {
        const newline = rest.indexOf(10);
        if (newline < 0) {
          if (!discarding) {
            pending.push(rest);
            pendingBytes += rest.length;
            // One byte over: a `\r` whose `\n` is still to come (neither counts).
            if (pendingBytes > maxLineBytes + 1) {
              discarding = true;
              const seen = Buffer.concat(pending);
              head = Buffer.from(seen.subarray(0, EDGE_BYTES));
              tail = lastBytes(Buffer.alloc(0), seen);
              pending = [];
              pendingBytes = 0;
            }
          } else {
            tail = lastBytes(tail, rest);
          }
          break;
        }
        const whole = rest.subarray(0, newline + 1);
        rest = rest.subarray(newline + 1);
        if (discarding) {
          discarding = false;
          tail = lastBytes(tail, whole.subarray(0, whole.length - 1));
          pass();
          tooLong();
          continue;
        }
        const line = pending.length === 0 ? whole : Buffer.concat([...pending, whole]);
        pending = [];
        pendingBytes = 0;
        // The line's own bytes, without its `\n` or `\r\n` (until 2026-12-05 a `\r` counted).
        const end = line.length > 1 && line[line.length - 2] === 13 ? line.length - 2 : line.length - 1;
        if (end > maxLineBytes) {
          head = Buffer.from(line.subarray(0, EDGE_BYTES));
          tail = lastBytes(Buffer.alloc(0), line.subarray(0, end));
          pass();
          tooLong();
          continue;
        }
        const text = utf8Text(line.subarray(0, end));
        if (text === undefined) {
          pass();
          refuse(-32700, 'Parse error: the line is not valid UTF-8');
          continue;
        }
        if (text.trim() === '') continue;
        const verdict = readLine(text, maxJsonDepth, maxEnvelopeBytes);
        const refused = verdict.ok ? options.onMessage?.(verdict.value) : undefined;
        if (verdict.ok && refused === undefined) {
          good.push(end === line.length - 1 ? line : Buffer.concat([line.subarray(0, end), NEWLINE]));
        } else if (verdict.ok) {
          pass();
          refuse(-32600, refused as string);
        } else {
          pass();
          refuse(verdict.code, verdict.message, verdict.id);
        }
      }
      pass();
      done();
    },
    // The input ended inside a line: its newline never came, so it is no message (MCP's stdio
    // transport ends each with one) and the SDK's reader drops it. It gets its error, by its id
    // when that shows, where it went unanswered and unlogged until 2026-12-07.
    flush(done: TransformCallback) {
      if (discarding) tooLong();
      else if (pendingBytes > 0) {
        const rest = Buffer.concat(pending);
        if (rest.toString('utf8').trim() !== '') {
          const id = idAtEdges(
            rest.subarray(0, EDGE_BYTES).toString('utf8'),
            lastBytes(Buffer.alloc(0), rest).toString('utf8'),
          );
          refuse(
            -32600,
            `Invalid Request: the input ended inside a line (${rest.length} bytes with no newline after them): not read; end each message with a newline`,
            id ?? null,
          );
        }
      }
      done();
    },
  });
  input.on('error', (error: Error) => guard.destroy(error));
  input.pipe(guard);
  return guard;
}
