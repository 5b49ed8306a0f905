/**
 * The SDK's stdio transport as `troupe stdio` runs it: it tells the connection's request ids in
 * flight (`in-flight-ids.ts`) of every answer it sends, so an id is free again once answered.
 */
import type { Readable, Writable } from 'node:stream';
import type { JSONRPCMessage } from '@modelcontextprotocol/server';
import { StdioServerTransport } from '@modelcontextprotocol/server/stdio';
import type { InFlightIds } from './in-flight-ids.js';

/** The SDK's stdio transport, telling `ids` of every answer it sends. */
export class AnsweringStdioTransport extends StdioServerTransport {
  readonly #ids: InFlightIds;

  constructor(
    input: Readable,
    output: Writable,
    ids: InFlightIds,
    options?: ConstructorParameters<typeof StdioServerTransport>[2],
  ) {
    super(input, output, options);
    this.#ids = ids;
  }

  override send(message: JSONRPCMessage): Promise<void> {
    this.#ids.answered(message);
    return super.send(message);
  }
}
