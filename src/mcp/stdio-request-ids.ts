/**
 * The SDK's stdio transport as `troupe stdio` runs it: it tells the connection's request ids in
 * flight (`in-flight-ids.ts`) of every answer it sends, so an id is free again once answered, and
 * tells `onClosing` when it closes, before the SDK hears of it.
 *
 * The transport closes on stdin's end and on a failed stdout, which `troupe stdio` hears of from the
 * streams themselves, but also on its own: on an error of its reader (a line past its buffer's
 * bound), or when the MCP server it serves is closed (`McpServer.close()`, by a tool or code of
 * yours). Then nothing was answered again and the process stayed up, holding the host's pipes
 * (until 2026-12-07); `troupe stdio` now stops on it.
 */
import type { Readable, Writable } from 'node:stream';
import type { JSONRPCMessage } from '@modelcontextprotocol/server';
import { StdioServerTransport } from '@modelcontextprotocol/server/stdio';
import type { InFlightIds } from './in-flight-ids.js';

/**
 * Told once, as the transport closes: the error it closes on, if any. The SDK's transport closes on
 * an error by reporting it, then closing (its reader past its bound, a failed stdout); so the error
 * told is the last one it reported, unless a server of the connection began closing since (a close
 * by code, which comes before the transport's: `forgetError`). Until 2026-12-07 only an error
 * reported in the same turn as the close counted, which held for SDK 2.4.0 only as long as its
 * transport closed in the same turn as it reported.
 */
export type OnClosing = (error: Error | undefined) => void;

/** The SDK's stdio transport, telling `ids` of every answer it sends and `onClosing` of its close. */
export class AnsweringStdioTransport extends StdioServerTransport {
  readonly #ids: InFlightIds;
  readonly #onClosing: OnClosing | undefined;
  #closed = false;
  /** The last error the transport reported, until a server of the connection began closing. */
  #lastError: Error | undefined;

  constructor(
    input: Readable,
    output: Writable,
    ids: InFlightIds,
    options?: ConstructorParameters<typeof StdioServerTransport>[2] & { readonly onClosing?: OnClosing },
  ) {
    super(input, output, options);
    this.#ids = ids;
    this.#onClosing = options?.onClosing;
  }

  override send(message: JSONRPCMessage): Promise<void> {
    this.#ids.answered(message);
    return super.send(message);
  }

  /** Starts as the SDK's, keeping the last error the transport reports. */
  override start(): Promise<void> {
    // Whoever serves the transport sets `onerror` before starting it (the SDK's `Transport` contract).
    const onerror = this.onerror;
    this.onerror = (error) => {
      this.#lastError = error;
      onerror?.(error);
    };
    return super.start();
  }

  /** A server of the connection began closing: a close that follows is not on an error reported before. */
  forgetError(): void {
    this.#lastError = undefined;
  }

  override close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      this.#onClosing?.(this.#lastError);
    }
    return super.close();
  }
}
