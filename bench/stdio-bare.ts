/**
 * Child process for `bench stdio`: a bare MCP SDK v2 stdio server with one `chat` tool answering
 * from the instant simulated provider (no runtime, no sessions): the baseline.
 */
import { McpServer } from '@modelcontextprotocol/server';
import { serveStdio } from '@modelcontextprotocol/server/stdio';
import { addBareChat } from './bare-chat.js';

serveStdio(() =>
  addBareChat(new McpServer({ name: 'bare', version: '1.0.0' }, { capabilities: { tools: {} } })),
);
process.stdin.once('end', () => process.exit(0));
