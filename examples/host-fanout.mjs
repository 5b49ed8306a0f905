// A host fanning tool calls out to two MCP servers over stdio: `troupe stdio` and the
// `own-server.mjs` example. Each server is a lane with its own limit; every result carries
// session metadata; a call past its deadline is cancelled at the server.
// Run: node examples/host-fanout.mjs   (prints a JSON summary)
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { createHost } from 'troupe/host';

async function connect(name, args) {
  const client = new Client({ name: `fanout-${name}`, version: '1.0.0' });
  await client.connect(
    new StdioClientTransport({ command: process.execPath, args, env: { PATH: process.env.PATH ?? '' } }),
  );
  return client;
}

// The installed troupe's CLI, found through its package.json.
const packageJson = fileURLToPath(import.meta.resolve('troupe/package.json'));
const troupeCli = join(dirname(packageJson), JSON.parse(readFileSync(packageJson, 'utf8')).bin.troupe);

const troupe = await connect('troupe', [troupeCli, 'stdio']);
const mine = await connect('mine', [fileURLToPath(new URL('./own-server.mjs', import.meta.url))]);

const host = createHost({
  servers: {
    troupe: { client: troupe, maxConcurrent: 4, timeoutMs: 30_000 },
    // `lookup` only reads, so a lost connection may be retried.
    mine: { client: mine, maxConcurrent: 3, retrySafe: ['lookup'] },
  },
});

const calls = [
  ...Array.from({ length: 20 }, (_, i) =>
    host.callTool('troupe', { name: 'chat', arguments: { prompt: `Say hello #${i}` } }),
  ),
  ...Array.from({ length: 40 }, (_, i) =>
    host.callTool('mine', { name: 'lookup', arguments: { word: `word${i}`, delay_ms: 10 } }, { priority: 7 }),
  ),
];
const results = await Promise.all(calls);

// A call that needs 10 s, with a 200 ms deadline: troupe cancels it at the server.
const late = await host.callTool(
  'mine',
  { name: 'lookup', arguments: { word: 'slow', delay_ms: 10_000 } },
  { timeoutMs: 200 },
);

const summary = { calls: results.length, ok: results.filter((r) => r.ok).length, servers: {} };
for (const result of results) {
  summary.servers[result.metadata.provider] ??= { ok: 0, longestQueuedMs: 0 };
  const server = summary.servers[result.metadata.provider];
  if (result.ok && !result.value.isError) server.ok += 1;
  server.longestQueuedMs = Math.max(server.longestQueuedMs, result.metadata.queuedMs);
}
summary.late = { ok: late.ok, state: late.metadata.state, code: late.metadata.code };
console.log(JSON.stringify(summary));

await host.shutdown();
await Promise.all([troupe.close(), mine.close()]);
