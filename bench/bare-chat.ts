/**
 * The baseline's `chat` tool, shared by the bare servers of `bench stdio` and `bench mcp`: one call to the instant simulated
 * provider, answered as text (no session, no metadata, no conversation).
 */
import type { McpServer } from '@modelcontextprotocol/server';
import { z } from 'zod';
import type { ChatProvider } from '../src/providers/port.js';
import { createSimulatedProvider } from '../src/providers/simulated.js';

/**
 * Registers the tool on `server` under `name` (`bare_chat` beside troupe's own `chat`), answering
 * from `provider` (the instant simulated provider unless given).
 */
export function addBareChat(
  server: McpServer,
  {
    name = 'chat',
    provider = createSimulatedProvider({ latencyMs: { min: 0, max: 0 } }),
  }: {
    name?: string;
    provider?: ChatProvider;
  } = {},
): McpServer {
  server.registerTool(
    name,
    {
      description: 'One model call',
      inputSchema: z.object({ prompt: z.string(), extra: z.record(z.string(), z.unknown()).optional() }),
    },
    async ({ prompt, extra }, ctx) => {
      // `extra` goes to the provider as troupe's `chat` sends it (`simulateLatencyMs`).
      const request = { model: 'sim-fast', messages: [{ role: 'user' as const, content: prompt }] };
      const answer = await provider.complete(extra === undefined ? request : { ...request, extra }, {
        signal: ctx.mcpReq.signal,
      });
      return { content: [{ type: 'text', text: answer.content }] };
    },
  );
  return server;
}
