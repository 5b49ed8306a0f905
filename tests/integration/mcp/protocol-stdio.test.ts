/**
 * Resources, subscriptions, prompts and completions over stdio with the BUILT CLI
 * (`npx tsc -p tsconfig.build.json` first) and the SDK's stdio client, in both protocol eras.
 */
import type { Client } from '@modelcontextprotocol/client';
import { afterEach, describe, it } from 'vitest';
import { connectStdioCli } from '../../support/stdio-cli.js';
import {
  checkPromptsAndCompletions,
  checkRetryLogging,
  checkSessionSubscription,
  checkStaticResources,
  type Era,
  type Target,
} from './protocol-scenarios.js';

const SIMULATED: Target = {
  provider: 'simulated',
  model: 'sim-fast',
  slowCall: { prompt: 'take your time', extra: { simulateLatencyMs: 4000 } },
};
let client: Client | undefined;

afterEach(async () => {
  await client?.close();
  client = undefined;
});

async function connect(era: Era): Promise<Client> {
  client = await connectStdioCli(
    'protocol-stdio',
    200,
    era === 'modern' ? { versionNegotiation: { mode: { pin: '2026-07-28' } } } : {},
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
