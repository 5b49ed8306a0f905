/**
 * Loaded with `node --import` into the built `troupe stdio` by tests/e2e/stdio-connection-closed.test.ts:
 * on SIGUSR2 the MCP connection closes on its own, which nothing a client sends can make it do (the
 * stdin guard keeps lines under the SDK reader's bound, and troupe's tools never close their server).
 * `TROUPE_TEST_CLOSE=error`: the SDK's stdio transport closes as its reader does on an error (it
 * reports the error, then closes itself), here a turn later, as an SDK that closes asynchronously
 * would; `=server`: the MCP server is closed, as a tool or code of yours may close it, a turn after
 * the transport reported an error it did not close on (a bad line).
 */
import { McpServer } from '@modelcontextprotocol/server';
import { StdioServerTransport } from '@modelcontextprotocol/server/stdio';

const how = process.env.TROUPE_TEST_CLOSE;

const start = StdioServerTransport.prototype.start;
StdioServerTransport.prototype.start = function (...args) {
  if (how === 'error')
    process.once('SIGUSR2', () => {
      this.onerror?.(new Error('Read buffer exceeded its maximum size'));
      setImmediate(() => void this.close());
    });
  if (how === 'server') process.once('SIGUSR2', () => this.onerror?.(new Error('a bad line')));
  return start.apply(this, args);
};

const connect = McpServer.prototype.connect;
McpServer.prototype.connect = function (...args) {
  if (how === 'server') process.once('SIGUSR2', () => setImmediate(() => void this.close()));
  return connect.apply(this, args);
};
