/**
 * A correct adapter a user writes on the official `openai` SDK passes the whole contract, in each
 * spelling the chat-completions format allows (tests/support/sdk-adapter.ts). A review (2026-12-05)
 * wrote it as a user would: requestSent failed it on every request drawn with `tool_choice` and no
 * tools, because it sent `tool_choice` only beside tools, as OpenAI requires.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkProviderContract } from '../../../src/testing/contract/check.js';
import { CONTRACT_PROPERTIES, type ContractCapabilities } from '../../../src/testing/contract/types.js';
import { createOpenAIServer, type OpenAIServer } from '../../../src/testing/openai-server.js';
import { createSdkAdapter, type SdkVariant } from '../../support/sdk-adapter.js';

const KEY = 'sk-sdk-0123456789abcdef';
let server: OpenAIServer;

beforeAll(async () => {
  server = createOpenAIServer();
  await server.start();
});
afterAll(async () => {
  await server.close();
});

/** No files: the adapter neither uploads nor inlines them. */
const CAPABILITIES: ContractCapabilities = { streaming: true, tools: true, thinking: true };

const VARIANTS: readonly (readonly [string, SdkVariant])[] = [
  ['the SDK’s own spellings', {}],
  [
    '`max_completion_tokens`, `stop` as a list, no `content: null`, `tool_choice` only beside tools, text parts',
    {
      budgetName: 'max_completion_tokens',
      stopAsArray: true,
      omitNullContent: true,
      toolChoiceOnlyWithTools: true,
      textParts: true,
    },
  ],
  ['`tool_choice` only beside tools', { toolChoiceOnlyWithTools: true }],
];

describe('an adapter on the `openai` SDK passes every property', () => {
  for (const [label, variant] of VARIANTS) {
    it(label, async () => {
      const adapter = createSdkAdapter({ baseURL: server.baseURL, apiKey: KEY, variant });
      const report = await checkProviderContract(adapter, {
        server,
        apiKey: KEY,
        capabilities: CAPABILITIES,
      });
      expect(report.failures).toEqual([]);
      expect(report.checked.map((c) => c.property)).toEqual(CONTRACT_PROPERTIES);
    }, 60_000);
  }
});
