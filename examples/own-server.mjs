// Tools in your own MCP server: troupe's `chat` and `sessions` beside a tool of yours that runs as
// a troupe session (queued under the `lookups` lane's limit, with a deadline and a signal).
// Run: node examples/own-server.mjs   (an MCP server on stdio; logs go to stderr)
import { McpServer } from '@modelcontextprotocol/server';
import { StdioServerTransport } from '@modelcontextprotocol/server/stdio';
import { createRuntime, createSimulatedProvider } from 'troupe';
import { registerTools, withSession } from 'troupe/mcp';
import * as z from 'zod';

const runtime = createRuntime({
  // No API key needed for the example: the simulated provider answers every chat.
  providers: [createSimulatedProvider({ latencyMs: { min: 5, max: 20 } })],
  defaults: { model: 'sim-fast' },
  limits: { maxConcurrent: 16, perProvider: { lookups: 2 } },
});

const server = new McpServer({ name: 'my-server', version: '1.0.0' });

// Your tool: every call is a session in the `lookups` lane (2 at once, the rest wait their turn).
server.registerTool(
  'lookup',
  {
    description: 'Looks a word up, slowly.',
    inputSchema: z.object({ word: z.string(), delay_ms: z.number().int().min(0).default(50) }),
  },
  withSession(
    runtime,
    async ({ word, delay_ms }, session) => {
      session.progress(0, 1, `looking up ${word}`);
      // Pass the signal to everything you await: it aborts on the deadline and on cancellation.
      await sleep(delay_ms, session.signal);
      session.progress(1, 1, 'found');
      return {
        content: [{ type: 'text', text: `${word}: ${word.length} letters` }],
        structuredContent: { word, letters: word.length },
      };
    },
    { lane: 'lookups', timeoutMs: 1_000, priority: ({ word }) => (word.startsWith('!') ? 9 : 5) },
  ),
);

// troupe's tools, prefixed, next to yours.
const troupe = registerTools(server, runtime, { tools: ['chat', 'sessions'], prefix: 'troupe_' });

await server.connect(new StdioServerTransport());
process.stderr.write(`my-server: serving lookup, ${troupe.names.join(', ')}\n`);

process.stdin.on('close', async () => {
  troupe.close();
  await runtime.shutdown({ deadlineMs: 0 });
  process.exit(0);
});

function sleep(ms, signal) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(signal.reason);
      },
      { once: true },
    );
  });
}
