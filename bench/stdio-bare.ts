/**
 * Child process for `bench stdio`: a bare MCP SDK v2 stdio server with one `chat` tool answering
 * from the instant simulated provider (no runtime, no sessions): the baseline.
 */
import { McpServer } from '@modelcontextprotocol/server';
import { serveStdio } from '@modelcontextprotocol/server/stdio';
import { z } from 'zod';
import { createSimulatedProvider } from '../src/providers/simulated.js';

const provider = createSimulatedProvider({ latencyMs: { min: 0, max: 0 } });
serveStdio(() => {
  const server = new McpServer({ name: 'bare', version: '1.0.0' }, { capabilities: { tools: {} } });
  server.registerTool(
    'chat',
    {
      description: 'One model call',
      inputSchema: z.object({ prompt: z.string(), extra: z.record(z.string(), z.unknown()).optional() }),
    },
    async ({ prompt }, ctx) => {
      const answer = await provider.complete(
        { model: 'sim-fast', messages: [{ role: 'user', content: prompt }] },
        { signal: ctx.mcpReq.signal },
      );
      return { content: [{ type: 'text', text: answer.content }] };
    },
  );
  return server;
});
process.stdin.once('end', () => process.exit(0));
