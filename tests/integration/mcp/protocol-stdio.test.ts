/**
 * Resources, subscriptions, prompts and completions over stdio with the BUILT CLI
 * (`npx tsc -p tsconfig.build.json` first) and the SDK's stdio client, in both protocol eras.
 */
import { existsSync } from 'node:fs';
import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { afterEach, describe, expect, it } from 'vitest';
import {
  checkPromptsAndCompletions,
  checkRetryLogging,
  checkSessionSubscription,
  checkStaticResources,
  type Era,
  type Target,
} from './protocol-scenarios.js';

const CLI = 'dist/src/cli/main.js';
const SIMULATED: Target = {
  provider: 'simulated',
  model: 'sim-fast',
  slowCall: { prompt: 'take your time', extra: { simulateLatencyMs: 1500 } },
};
let client: Client | undefined;

afterEach(async () => {
  await client?.close();
  client = undefined;
});

async function connect(era: Era): Promise<Client> {
  expect(existsSync(CLI), `build first: ${CLI} is missing`).toBe(true);
  client = new Client(
    { name: 'protocol-stdio', version: '1' },
    era === 'modern' ? { versionNegotiation: { mode: { pin: '2026-07-28' } } } : {},
  );
  await client.connect(
    new StdioClientTransport({
      command: process.execPath,
      args: [CLI, 'stdio', '--drain-ms', '200'],
      env: { PATH: process.env.PATH ?? '' },
      stderr: 'pipe',
    }),
  );
  return client;
}

describe.each(['legacy', 'modern'] as const)('over stdio (%s era)', (era) => {
  it('serves resources with subscriptions, prompts, completions and retry logs', async () => {
    const c = await connect(era);
    await checkStaticResources(c, SIMULATED);
    await checkSessionSubscription(c, era, SIMULATED);
    await checkPromptsAndCompletions(c, SIMULATED);
    await checkRetryLogging(c, era, SIMULATED);
  }, 30_000);
});
