/**
 * The tool contract proven on planted bugs: each mutant of a correct `withSession` tool
 * (`tests/support/tool-handlers.ts`) carries one mistake tool authors really make, and
 * `checkToolContract` must reject it by the property that names it, with a message that says what
 * happened, over the in-memory transport and over Streamable HTTP. The mutant score is printed at
 * the end. (Correct tools passing: tool-contract.test.ts.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOpenAICompatibleProvider } from '../../../src/providers/openai-compatible.js';
import type { ChatProvider } from '../../../src/providers/port.js';
import { createOpenAIServer, type OpenAIServer } from '../../../src/testing/openai-server.js';
import { checkToolContract } from '../../../src/testing/tool/check.js';
import {
  ToolContractError,
  type ToolContractOptions,
  type ToolContractPropertyName,
} from '../../../src/testing/tool/types.js';
import { registerLookup, type ToolBug } from '../../support/tool-handlers.js';

/** Fewer runs than the default: each mutant must still be caught, reliably, in these. */
const numRuns = 5;

const MUTANTS: readonly (readonly [
  ToolBug,
  ToolContractPropertyName,
  RegExp,
  (Partial<Omit<ToolContractOptions, 'runtime'>> & { readonly runtime?: 'vendor' })?,
])[] = [
  // Sleeps and calls its vendor with no signal: the session ends, the handler works on.
  [
    'ignores-signal',
    'signalHonoured',
    // Settled late, or (on a loaded machine, past the 200 ms grace) still running; or, aborted as
    // it began, its sleep done within the bound and its answer a success: each catches it.
    /Expected the handler to settle (within 100 ms of its signal's abort \(.*\), got it (settled \d+ ms after|still running after \d+ ms): pass `session.signal`|as a rejection once its signal aborted \(.*\), got a success \d+ ms after the abort)/,
  ],
  // Catches the vendor call's AbortError and answers anyway.
  ['abort-as-success', 'signalHonoured', /Expected the handler to settle as a rejection .* got a success/],
  // Retries every error, the abort too, backing off on a plain timer.
  ['retry-swallows-signal', 'signalHonoured', /got it (still running after 300 ms|settled \d+ ms after)/],
  // The handler registered as a plain tool: no session, no deadline, no metadata.
  ['not-a-session', 'resultMetadata', /Expected the tool to run its handler as a troupe session/],
  // A strict outputSchema: the SDK refuses every result withSession adds `session` to.
  ['strict-output-schema', 'resultMetadata', /let your `outputSchema` accept the `session` key/],
  // A wrapper around withSession that replaces its error results with its own text.
  [
    'rewrites-errors',
    'abortEnds',
    /Expected troupe's `TIMED_OUT` error result .* got an isError result "lookup failed"/,
  ],
  // Its own progress notifications, counted from 1, beside troupe's.
  ['own-progress-counter', 'progressDelivered', /`progress` to grow \(MCP requires it\), got 1 after 1/],
  // Finishes its lookup when the client went away, for a cache: nobody reads it, and it runs on.
  [
    'ignores-disconnect',
    'disconnectEnds',
    /Expected the handler to settle within 100 ms of its signal's abort \(the client went away \d+ ms into the handler\), got it (settled \d+ ms after|still running after \d+ ms)/,
  ],
  // Reports no progress of its own: passes by default, fails when progress is required.
  [
    'no-progress',
    'progressDelivered',
    /Expected the handler to report progress \(`session.progress\(...\)`\) on a call whose client asked for it \(`requireProgress`\), got none/,
    { requireProgress: true },
  ],
  // Waits on something that never comes, without its signal: past the deadline (5 s) it runs on.
  // Until 2026-12-05 the message blamed the arguments ("give `args` your tool answers").
  [
    'never-settles',
    'resultMetadata',
    /Expected a success for arguments .* \(the handler was still running \d+ ms after its signal aborted: pass `session.signal` to everything it awaits\), got an isError result "TIMED_OUT: /,
  ],
  // The same, with a client that gives up first (`callTimeoutMs`), before the session's deadline.
  [
    'never-settles',
    'resultMetadata',
    /within 1000 ms \(`callTimeoutMs`\), got the client's error "Request timed out"; the handler was still running \d+ ms after its signal aborted/,
    { callTimeoutMs: 1_000 },
  ],
  // Asks its model on the runtime without the call's signal, racing the answer against it: the
  // handler rejects at once, the model call runs on. Until 2026-12-07 it passed every property, its
  // 150 ms model call ending within the 200 ms disconnectEnds waited for.
  [
    'model-call-outlives-call',
    'signalHonoured',
    /Expected the model call the handler submitted \(fault:ok:latency=150, session \S+\) to end within 100 ms of the call's abort \(.*\), got it (ended \d+ ms after|still running after \d+ ms): submit it with `session.submit`/,
    { runtime: 'vendor' },
  ],
  // A heartbeat cleared only on the happy path: after an abort it reports on for a call that ended.
  // Passed every property until 2026-12-08 (the session drops such reports; nothing reached the wire).
  [
    'heartbeat-outlives-abort',
    'signalHonoured',
    /Expected no progress report from the handler once it settled after its signal's abort \(.*\), got \d+ within \d+ ms, the first \d+ ms after it settled: a timer of its own \(a heartbeat\)/,
  ],
  [
    'heartbeat-outlives-abort',
    'disconnectEnds',
    /Expected no progress report from the handler once it settled/,
  ],
  [
    'model-call-outlives-call',
    'disconnectEnds',
    /Expected the model call the handler submitted/,
    { runtime: 'vendor' },
  ],
];

let vendor: OpenAIServer;
const caught: string[] = [];
const providers: ChatProvider[] = [];
const modelProvider = (): ChatProvider => {
  const provider = createOpenAICompatibleProvider({
    name: 'vendor',
    baseURL: vendor.baseURL,
    apiKey: 'sk-tool-test',
  });
  providers.push(provider);
  return provider;
};

beforeAll(async () => {
  vendor = createOpenAIServer();
  await vendor.start();
});

afterAll(async () => {
  for (const provider of providers) await provider.close?.();
  await vendor.close();
  console.log(
    `tool contract mutant score: ${caught.length} of ${MUTANTS.length * 2} planted bugs rejected (each over both transports)`,
  );
});

describe.each(['memory', 'http'] as const)('over %s', (transport) => {
  for (const [bug, property, message, options] of MUTANTS)
    it(`rejects the planted bug ${bug} by ${property}${options === undefined ? '' : ` (${Object.keys(options).join(', ')})`}`, async () => {
      const { runtime, ...rest } = options ?? {};
      const error = await checkToolContract({
        register: registerLookup({ vendor: vendor.baseURL, bug }),
        args: { word: 'troupe' },
        numRuns,
        transport,
        // The named property alone, as the provider contract's planted bugs are (`mutants.test.ts`).
        only: [property],
        ...rest,
        // A tool that asks its model through troupe: the runtime's provider is the vendor.
        ...(runtime === 'vendor' ? { runtime: { providers: [modelProvider()] } } : {}),
      }).then(
        () => undefined,
        (thrown: unknown) => thrown,
      );
      expect(error).toBeInstanceOf(ToolContractError);
      const failure = (error as ToolContractError).failures.find((f) => f.property === property);
      expect(failure?.message, (error as Error).message).toMatch(message);
      // The replay hint and the shrunk case are in the message.
      expect((error as Error).message).toMatch(/replay with \{ seed: \d+, numRuns: 5 \}/);
      caught.push(`${bug} (${transport})`);
    }, 60_000);
});
