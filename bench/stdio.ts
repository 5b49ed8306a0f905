/**
 * `npm run bench -- stdio [--calls 1500] [--rounds 3] [--json]`: the built `troupe stdio` CLI
 * (simulated provider; each call asks for zero latency through `extra.simulateLatencyMs`)
 * against a bare SDK v2 stdio server with the same `chat` tool on the same instant provider
 * (bench/stdio-bare.ts). Both are child processes driven by the SDK client's
 * StdioClientTransport, at 1 and 32 calls in flight; rounds alternate which goes first.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { flag, median, print, round } from './support.js';

const LEVELS = [1, 32] as const;
const CLI = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const BARE = fileURLToPath(new URL('./stdio-bare.js', import.meta.url));

async function connect(args: string[]): Promise<Client> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args,
    // No provider keys: troupe serves the simulated provider. Logs are kept quiet.
    env: { PATH: process.env.PATH ?? '', TROUPE_LOG_LEVEL: 'error' },
    stderr: 'ignore',
  });
  const client = new Client({ name: 'bench', version: '1.0.0' });
  await client.connect(transport);
  return client;
}

async function drive(client: Client, calls: number, inFlight: number): Promise<number> {
  let next = 0;
  const worker = async () => {
    while (next < calls) {
      next++;
      const result = await client.callTool({
        name: 'chat',
        arguments: { prompt: 'benchmark', extra: { simulateLatencyMs: 0 } },
      });
      if (result.isError) throw new Error(`chat failed: ${JSON.stringify(result.content)}`);
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: inFlight }, worker));
  return calls / ((performance.now() - started) / 1000);
}

export async function run(argv: readonly string[]): Promise<void> {
  if (!existsSync(CLI)) throw new Error(`Expected the built CLI at ${CLI}, got nothing: run npm run build`);
  const calls = flag(argv, 'calls', 1500);
  const rounds = flag(argv, 'rounds', 3);
  const troupe = await connect([CLI, 'stdio']);
  const bare = await connect([BARE]);
  await drive(troupe, 300, 8);
  await drive(bare, 300, 8);
  const ours = new Map<number, number[]>(LEVELS.map((l) => [l, []]));
  const base = new Map<number, number[]>(LEVELS.map((l) => [l, []]));
  for (let r = 0; r < rounds; r++) {
    for (const level of LEVELS) {
      const n = level === 1 ? Math.ceil(calls / 3) : calls;
      if (r % 2 === 0) {
        base.get(level)?.push(await drive(bare, n, level));
        ours.get(level)?.push(await drive(troupe, n, level));
      } else {
        ours.get(level)?.push(await drive(troupe, n, level));
        base.get(level)?.push(await drive(bare, n, level));
      }
    }
  }
  await Promise.all([troupe.close(), bare.close()]);
  const figures: Record<string, unknown> = { calls, rounds };
  for (const level of LEVELS) {
    const o = median(ours.get(level) ?? []);
    const b = median(base.get(level) ?? []);
    figures[`inFlight${level}`] = {
      callsPerSec: Math.round(o),
      baselineCallsPerSec: Math.round(b),
      ratio: round(o / b),
    };
  }
  figures.node = process.version;
  print(argv, figures);
}
