/**
 * `troupe/testing/vitest`: the provider contract and the tool contract as vitest tests, one named
 * test per property, so your own test report says which contract your adapter or tool broke:
 *
 *   describeProviderContract('my adapter', (server) => makeAdapter(server.baseURL), { capabilities: { tools: true } });
 *   describeToolContract('lookup', { register: (server, runtime) => registerLookup(server, runtime), args: { word: 'a' } });
 *
 * Needs `vitest` and `fast-check` (optional peers of troupe). Properties the adapter does not
 * declare a capability for declare no test; the suite's title names them, with the reason.
 */
import { afterAll, beforeAll, describe, it } from 'vitest';
import type { ChatProvider } from '../providers/port.js';
import { checkProviderContract, PROPERTIES } from './contract/check.js';
import type { ContractContext } from './contract/harness.js';
import type { ContractOptions } from './contract/types.js';
import { createOpenAIServer, type OpenAIServer } from './openai-server.js';
import { checkContractOptions, checkTimerMs } from './option-keys.js';
import { checkToolContract, checkToolOptions, PROPERTIES as TOOL_PROPERTIES } from './tool/check.js';
import type { ToolContractOptions } from './tool/types.js';

export interface DescribeContractOptions extends Omit<ContractOptions, 'only'> {
  /** Each property's test timeout, in ms. @default 60000 */
  readonly timeoutMs?: number;
}

/**
 * Declares a `describe` block with one test per contract property. `makeProvider` gets the
 * server (yours from `options.server`, or one started for the block and closed after it) and
 * returns the adapter pointed at `server.baseURL`.
 */
export function describeProviderContract(
  name: string,
  makeProvider: (server: OpenAIServer) => ChatProvider | Promise<ChatProvider>,
  options: DescribeContractOptions = {},
): void {
  // A misspelt option is an error where the block is declared, not a test that checks less.
  checkContractOptions('describeProviderContract options', options, ['timeoutMs']);
  // As describeToolContract's: until 2026-12-07 a NaN or '60000' went to vitest as each test's timeout.
  checkTimerMs('describeProviderContract options', options, 'timeoutMs');
  const { timeoutMs, ...contract } = options;
  // One seed for the block, so every test's failure message replays with the same one.
  const seed = options.seed ?? Math.floor(Math.random() * 2 ** 31);
  const declared = {
    streaming: options.capabilities?.streaming ?? true,
    tools: options.capabilities?.tools ?? false,
    files: options.capabilities?.files ?? false,
    thinking: options.capabilities?.thinking ?? false,
  };
  // A property for a capability the adapter did not declare declares no test (a skipped test would
  // be one that cannot fail); the suite's title names what was left out, and why.
  const notDeclared = PROPERTIES.flatMap((property) => {
    const reason = property.skip({ server: {}, capabilities: declared } as unknown as ContractContext);
    return reason === undefined ? [] : [`${property.name} (${reason})`];
  });
  const suffix = notDeclared.length === 0 ? '' : `; not checked: ${notDeclared.join(', ')}`;
  describe(`provider contract: ${name}${suffix}`, () => {
    let server: OpenAIServer | undefined;
    let provider: ChatProvider | undefined;
    beforeAll(async () => {
      server = options.server ?? createOpenAIServer();
      if (options.server === undefined) await server.start();
      provider = await makeProvider(server);
    });
    afterAll(async () => {
      await provider?.close?.();
      if (options.server === undefined) await server?.close();
    });
    for (const property of PROPERTIES) {
      // A server is always there; only an undeclared capability skips.
      const reason = property.skip({ server: {}, capabilities: declared } as unknown as ContractContext);
      const title = `${property.name}: ${property.title}`;
      if (reason !== undefined) continue;
      it(
        title,
        async () => {
          if (provider === undefined || server === undefined)
            throw new Error('Expected the adapter, got none');
          await checkProviderContract(provider, { ...contract, server, seed, only: [property.name] });
        },
        timeoutMs ?? 60_000,
      );
    }
  });
}

export interface DescribeToolContractOptions extends ToolContractOptions {
  /** Each property's test timeout, in ms. @default 60000 */
  readonly timeoutMs?: number;
}

/**
 * Declares a `describe` block with one test per tool-contract property (those in `only`, if
 * given): each runs `checkToolContract` for its property alone, all with one seed, so a failure's
 * message names the property, its shrunk case and the seed to replay it with.
 */
export function describeToolContract(name: string, options: DescribeToolContractOptions): void {
  // A misspelt option is an error where the block is declared, not a test that checks less.
  checkToolOptions('describeToolContract options', options, ['timeoutMs']);
  const { timeoutMs, only, ...contract } = options;
  const seed = options.seed ?? Math.floor(Math.random() * 2 ** 31);
  describe(`tool contract: ${name}`, () => {
    for (const property of TOOL_PROPERTIES) {
      if (only !== undefined && !only.includes(property.name)) continue;
      it(
        `${property.name}: ${property.title}`,
        async () => {
          await checkToolContract({ ...contract, seed, only: [property.name] });
        },
        timeoutMs ?? 60_000,
      );
    }
  });
}
