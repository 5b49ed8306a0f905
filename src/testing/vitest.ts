/**
 * `troupe/testing/vitest`: the provider contract and the tool contract as vitest tests, one named
 * test per property, so your own test report says which contract your adapter or tool broke:
 *
 *   describeProviderContract('my adapter', (server) => makeAdapter(server.baseURL), { capabilities: { tools: true } });
 *   describeProviderContract('in-process', () => makeInProcess(), { server: false });
 *   describeToolContract('lookup', { register: (server, runtime) => registerLookup(server, runtime), args: { word: 'a' } });
 *
 * Needs `vitest` and `fast-check` (optional peers of troupe). Properties the adapter does not
 * declare a capability for declare no test; the suite's title names them, with the reason.
 */
import { afterAll, beforeAll, describe, it } from 'vitest';
import { runtimeError } from '../core/errors.js';
import type { ChatProvider } from '../providers/port.js';
import { checkProviderContract, PROPERTIES } from './contract/check.js';
import type { ContractContext } from './contract/harness.js';
import type { ContractProperty } from './contract/property.js';
import type { ContractOptions } from './contract/types.js';
import { createOpenAIServer, type OpenAIServer } from './openai-server.js';
import { checkContractOptions, checkTimerMs } from './option-keys.js';
import { checkToolContract, checkToolOptions, PROPERTIES as TOOL_PROPERTIES } from './tool/check.js';
import type { ToolContractOptions } from './tool/types.js';

export interface DescribeContractOptions extends Omit<ContractOptions, 'only' | 'server' | 'path'> {
  /**
   * The fault server the provider points at: yours (started), or `false` for a provider that does
   * not speak HTTP to it (in-process, gRPC): then `makeProvider` gets no server, the properties that
   * need one declare no test, and the suite's title names them. @default one started for the block
   */
  readonly server?: OpenAIServer | false;
  /** Each property's test timeout, in ms. @default 60000 */
  readonly timeoutMs?: number;
}

/**
 * Declares a `describe` block with one test per contract property. `makeProvider` gets the
 * server (yours from `options.server`, or one started for the block and closed after it) and
 * returns the adapter pointed at `server.baseURL`; with `server: false` it gets none.
 */
export function describeProviderContract(
  name: string,
  makeProvider: () => ChatProvider | Promise<ChatProvider>,
  options: DescribeContractOptions & { readonly server: false },
): void;
export function describeProviderContract(
  name: string,
  makeProvider: (server: OpenAIServer) => ChatProvider | Promise<ChatProvider>,
  options?: DescribeContractOptions & { readonly server?: OpenAIServer },
): void;
export function describeProviderContract(
  name: string,
  makeProvider: (server: OpenAIServer) => ChatProvider | Promise<ChatProvider>,
  options: DescribeContractOptions = {},
): void {
  // A misspelt option is an error where the block is declared, not a test that checks less.
  checkContractOptions('describeProviderContract options', options, ['timeoutMs']);
  // As describeToolContract's: until 2026-12-07 a NaN or '60000' went to vitest as each test's timeout.
  checkTimerMs('describeProviderContract options', options, 'timeoutMs');
  // A path is one property's case: the block's tests run every property under its seed.
  if ('path' in options)
    throw runtimeError(
      'INVALID_REQUEST',
      'Expected no `path` in `describeProviderContract options` (it names one case of one property), got one: replay it with checkProviderContract(provider, { server, seed, only: [property], path }) as the failure prints it',
    );
  const { timeoutMs, server: given, ...contract } = options;
  if (given !== undefined && given !== false && (typeof given !== 'object' || given === null))
    throw runtimeError(
      'INVALID_REQUEST',
      `Expected \`server\` in \`describeProviderContract options\` to be a createOpenAIServer() or false, got ${String(given)}`,
    );
  // One seed for the block, so every test's failure message replays with the same one.
  const seed = options.seed ?? Math.floor(Math.random() * 2 ** 31);
  const declared = {
    streaming: options.capabilities?.streaming ?? true,
    tools: options.capabilities?.tools ?? false,
    files: options.capabilities?.files ?? false,
    thinking: options.capabilities?.thinking ?? false,
  };
  // What skips a property: an undeclared capability, or (with `server: false`) no server.
  const skipped = (property: ContractProperty) =>
    property.skip({
      server: given === false ? undefined : {},
      capabilities: declared,
    } as unknown as ContractContext);
  // A property that cannot run here declares no test (a skipped test would be one that cannot
  // fail); the suite's title names what was left out, and why, each reason once.
  const notChecked = new Map<string, string[]>();
  for (const property of PROPERTIES) {
    const reason = skipped(property);
    if (reason !== undefined) notChecked.set(reason, [...(notChecked.get(reason) ?? []), property.name]);
  }
  const suffix =
    notChecked.size === 0
      ? ''
      : `; not checked: ${[...notChecked].map(([reason, names]) => `${names.join(', ')} (${reason})`).join(', ')}`;
  describe(`provider contract: ${name}${suffix}`, () => {
    let server: OpenAIServer | undefined;
    let provider: ChatProvider | undefined;
    beforeAll(async () => {
      if (given === false) {
        provider = await (makeProvider as () => ChatProvider | Promise<ChatProvider>)();
        return;
      }
      server = given ?? createOpenAIServer();
      if (given === undefined) await server.start();
      provider = await makeProvider(server);
    });
    afterAll(async () => {
      await provider?.close?.();
      if (given === undefined) await server?.close();
    });
    for (const property of PROPERTIES) {
      if (skipped(property) !== undefined) continue;
      it(
        `${property.name}: ${property.title}`,
        async () => {
          if (provider === undefined) throw new Error('Expected the adapter, got none');
          await checkProviderContract(provider, {
            ...contract,
            ...(server === undefined ? {} : { server }),
            seed,
            only: [property.name],
          });
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
