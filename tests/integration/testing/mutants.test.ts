/**
 * The contract suite proven on planted bugs: each mutant of a correct hand-written adapter carries
 * one mistake adapter authors really make, and the suite must reject it by the property that
 * names that mistake. The mutant score is printed at the end. (Correct adapters passing without
 * false alarms: contract.test.ts.)
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { checkProviderContract } from '../../../src/testing/contract/check.js';
import { type ContractPropertyName, ProviderContractError } from '../../../src/testing/contract/types.js';
import { createLogCapture } from '../../../src/testing/log-capture.js';
import { createOpenAIServer, type OpenAIServer } from '../../../src/testing/openai-server.js';
import { createPlainAdapter, type PlantedBug } from '../../support/plain-adapter.js';

const KEY = 'sk-mutant-0123456789abcdef';
/** Fewer runs than the default: each mutant must still be caught, reliably, in these. */
const numRuns = 10;

/** The nine classes first, then more. */
/** A bug, the property that must reject it, and (for some) what its message must say. */
const MUTANTS: readonly (readonly [PlantedBug, ContractPropertyName, RegExp?])[] = [
  ['ignores-signal', 'signalHonoured'],
  ['stream-ignores-signal', 'signalHonoured'],
  ['wrong-shape-1-in-4', 'resultShape'],
  ['pushes-onto-request', 'requestUntouched'],
  ['shared-request-state', 'isolation'],
  // State of the stream's parser shared between calls: until 2026-12-07 every read of isolation's
  // calls held whole events of ASCII text, and both passed every property.
  ['shared-decoder', 'isolation', /Expected call #\d to get its own answer .*, got /],
  ['shared-sse-buffer', 'isolation', /Expected call #\d to get its own answer .*, got /],
  ['plain-error', 'errorsMapped'],
  // Both passed every property until 2026-12-08: nothing read what an adapter logged.
  [
    'logs-request',
    'errorsMapped',
    /^Expected nothing the adapter logged to carry the API key .*, got the key in entry #\d+ of `logged\(\)`/,
  ],
  [
    'console-logs-request',
    'errorsMapped',
    /^Expected nothing the adapter logged to carry the API key .*, got the key in what it wrote with console\.warn\(\)/,
  ],
  // Both passed every property until 2026-12-08: no fault sent a 408, 409, 413 or 422.
  [
    'conflict-as-bad-request',
    'errorsMapped',
    /^Expected \w+\(\) against `fault:409[:`].* to reject with code PROVIDER_UNAVAILABLE, got INVALID_REQUEST/,
  ],
  [
    'too-large-as-overflow',
    'errorsMapped',
    /^Expected \w+\(\) against `fault:413[:`].* to reject with code INVALID_REQUEST, got CONTEXT_TOO_LONG/,
  ],
  ['rejects-without-cancelling', 'signalHonoured'],
  ['abort-resolves-empty', 'signalHonoured'],
  ['no-finish-repeated-usage', 'streamContract'],
  ['drops-retry-after', 'errorsMapped'],
  ['server-text-in-error', 'errorsMapped', /got the key at `message`/],
  ['eager-pump', 'streamContract'],
  ['reset-as-bad-response', 'errorsMapped'],
  ['tool-index-by-position', 'streamContract'],
  ['usage-total-wrong', 'resultShape'],
  ['finish-before-usage', 'streamContract'],
  ['drops-reasoning', 'capabilities'],
  // The pushed stream the runtime prefers is held to the same contract as stream().
  ['stream-to-drops-delta', 'streamContract'],
  ['stream-to-ignores-signal', 'signalHonoured'],
  ['retries-in-adapter', 'errorsMapped'],
  ['drops-usage', 'resultShape'],
  // Bytes as proxies deliver them: events and multi-byte characters cut across reads.
  ['decodes-each-read', 'streamContract'],
  ['events-per-read', 'streamContract'],
  ['null-content', 'capabilities'],
  ['buffers-stream', 'streamContract', /got the first \d+ only after the whole answer was sent/],
  // Passed until 2026-12-04: the check caught only an adapter that waited for the whole body.
  ['holds-until-finish', 'streamContract', /only after the server sent its finish chunk/],
  // The message names where: until 2026-12-04 only that the key was somewhere in the error.
  [
    'key-deep-in-error',
    'errorsMapped',
    /carry the API key, got the key at `context\.call\.attempt\.http\.request\.init\.headers\.authorization`/,
  ],
  ['waits-out-retry-after', 'errorsMapped', /does the adapter wait and retry by itself/],
  // Caught only when fast-check drew a short hint until 2026-12-04; the fixed examples now carry one.
  ['waits-out-short-retry-after', 'errorsMapped', /got 2 \(the adapter sent it again/],
  ['skips-usage-chunk', 'streamContract'],
  ['trims-content', 'resultShape'],
  ['own-model', 'streamContract', /the adapter sent model "gpt-4o", not the request's/],
  // Needs `reset-mid` to cut the stream after its first chunks have arrived: until 2026-12-04 the
  // fault server destroyed the socket before anything left, and this mutant passed every property.
  ['swallows-mid-stream-reset', 'errorsMapped'],
  // Passed every property until 2026-12-04: no fault ended a body cleanly before its finish chunk.
  ['end-is-finish', 'errorsMapped', /the body ended before any chunk gave a finish_reason/],
  // What a JSON logger prints: until 2026-12-04 only util.inspect's text and data properties were read.
  ['key-behind-getter', 'errorsMapped', /carry the API key, got the key in what JSON.stringify prints of it/],
  // The first two passed every property until 2026-12-04: every abort came while a read was left for
  // fetch to fail (`one-write=1` now sends a body whole, and signalHonoured aborts after it came,
  // `after-body`); the third holds that phase to CANCELLED.
  ['trusts-fetch-abort', 'signalHonoured', /aborted after-body to end by throwing, got a normal end/],
  ['stream-to-trusts-fetch-abort', 'signalHonoured', /streamTo\(\) aborted after-body to end by throwing/],
  ['late-abort-as-network', 'signalHonoured', /aborted after-body to reject as CANCELLED, got NETWORK/],
  // Passed every property until 2026-12-05: the key was looked for in every fault's error but the
  // stall's, the one a caller's abort ends.
  [
    'key-in-cancel-error',
    'errorsMapped',
    /carry the API key, got the key at `request\.headers\.authorization`.*fault:stall/,
  ],
  // Caught before 2026-12-05, but the message asked whether the adapter retried by itself (it sent one request).
  [
    'waits-for-done',
    'errorsMapped',
    /though the server had ended its response \(1 request on the wire\): does the adapter wait for more than the body held/,
  ],
  // Passed every property until 2026-12-05: the server sent every finish chunk with an empty delta
  // and the usage in a chunk of its own; streams now also carry the last piece and the usage there.
  [
    'skips-rest-of-finish-chunk',
    'streamContract',
    /\(the server sent the last piece (and the usage )?in the chunk that carries finish_reason[,)]/,
  ],
  // Passed every property until 2026-12-05: the server never sent cache hits.
  ['prompt-minus-cached', 'resultShape', /^Expected usage .*"cachedTokens":\d+\} \(what the server sent\)/],
  // Passed every property until 2026-12-05: every error body was JSON.
  [
    'json-error-body',
    'errorsMapped',
    /^Expected .*`fault:\d{3}:.*html=1.*` to reject with code \w+, got BAD_RESPONSE/,
  ],
  // Passed every property until 2026-12-05: the server wrote every event as `data: {...}\n\n`.
  [
    'naive-sse',
    'streamContract',
    /\(the server sent .*its events (with CRLF line ends|as `data:\{\.\.\.\}`, with no space|among comment lines)\)/,
  ],
  // The eight below passed every property until 2026-12-05: nothing looked at the body's fields.
  ['drops-stop', 'requestSent', /^Expected `stop` "END" on the wire, got none/],
  ['drops-top-p', 'requestSent', /^Expected `top_p` 0\.9 on the wire, got none/],
  ['drops-tool-choice', 'requestSent', /^Expected `tool_choice` "auto" on the wire, got none/],
  [
    'extra-over-typed',
    'requestSent',
    /^Expected `max_tokens` 321 on the wire \(or as `max_completion_tokens`\), got `max_tokens` 4096/,
  ],
  [
    'drops-tool-call-ids',
    'requestSent',
    /^Expected `messages\[2\]\.tool_calls\[0\]\.id` "call_ex4mple_a" on the wire, got none/,
  ],
  ['role-content-only', 'requestSent', /^Expected `messages\[1\]\.name` "ada" on the wire, got none/],
  // Passed every property until 2026-12-05: no tool message the contract sent had a `name`.
  [
    'tool-message-openai-shape',
    'requestSent',
    /^Expected `messages\[3\]\.name` "lookup" on the wire, got none/,
  ],
  [
    'drops-extra',
    'requestSent',
    /^Expected `response_format` \{"type":"json_object"\} on the wire, got none \(from `extra`, which goes as it is\)/,
  ],
  [
    'stream-options-always',
    'requestSent',
    /^Expected no `stream_options` on the wire for complete\(\), got \{"include_usage":true\}/,
  ],
  // A review (2026-12-05): the first two passed requestSent on every seed tried, the next four on
  // some (a draw seldom gave temperature 0, two stop words, two user turns in a row or a system
  // message after another turn; now a fixed case does); the last four were caught, the tools one
  // with both values cut to the same 80 characters.
  [
    'asks-for-two-choices',
    'requestSent',
    /^Expected no `n` on the wire \(or 1: .*\), got 2 \(complete\(\)\)/,
  ],
  [
    'duplicates-system-prompt',
    'requestSent',
    /^Expected messages\[0\] \(system, content "Be brief\."\) on the wire once, as given, got it 2 times/,
  ],
  ['falsy-temperature', 'requestSent', /^Expected `temperature` 0 on the wire, got none \(complete\(\)\)/],
  ['first-stop-word', 'requestSent', /^Expected `stop` \["END","STOP"\] on the wire, got "END"/],
  [
    'merges-user-turns',
    'requestSent',
    /^Expected messages\[0\] \(user, content "First question\."\) on the wire, in order, got no such message/,
  ],
  [
    'system-first',
    'requestSent',
    /^Expected messages\[2\] \(system, content "Answer both\."\) on the wire, in order, got it earlier, as the wire’s messages\[0\] \(out of order/,
  ],
  ['temperature-as-string', 'requestSent', /^Expected `temperature` 0\.5 on the wire, got "0\.5"/],
  [
    'drops-tool-arguments',
    'requestSent',
    /^Expected `messages\[2\]\.tool_calls\[0\]\.function\.arguments` "\{\\"q\\":\\"lookup0\\"\}" on the wire, got none/,
  ],
  [
    'arguments-as-object',
    'requestSent',
    /^Expected `messages\[2\]\.tool_calls\[0\]\.function\.arguments` .* on the wire, got \{"q":"lookup0"\}/,
  ],
  [
    'strips-tool-parameters',
    'requestSent',
    /^Expected `tools\[0\]\.function\.parameters` \{"type":"object",.*\} on the wire, got none/,
  ],
  // Passed every property until 2026-12-05: the contract never sent a stream ended by `[DONE]`
  // with no finish_reason, and demanded a `finish` of every stream.
  [
    'no-finish-as-stop',
    'streamContract',
    /^Expected no `finish` delta, got `finish` "stop": the server gave no finish_reason; report none, with a note, rather than `stop` \(the server sent .*no finish_reason in any chunk, then \[DONE\]\)/,
  ],
  // Passed every property until 2026-12-05: only error texts were searched for the key, and a note
  // goes into the session's metadata, which MCP clients and logs read.
  ['key-in-notes', 'resultShape', /^Expected no note to carry the API key .*, got the key in note #0/],
  [
    'key-in-note-delta',
    'streamContract',
    /^Expected no note to carry the API key .*, got the key in note #0/,
  ],
  // Caught before 2026-12-05, but the message said only "Expected exactly one `finish` delta, got 0".
  [
    'stream-to-resolves-early',
    'streamContract',
    /^streamTo\(\): Expected .*; \d+ deltas were pushed after its promise resolved, which the runtime drops/,
  ],
  // Both passed every property until 2026-12-07 (a user of the harness planted them in an adapter of
  // their own): no fault sent `Retry-After` as an HTTP date, and only the whole key counted as a leak.
  [
    'retry-after-seconds-only',
    'errorsMapped',
    /^Expected .*\(Retry-After: an HTTP date 7 s ahead\) to carry retryAfterMs of the date less now, about 7000, got undefined/,
  ],
  // Passed requestUntouched until 2026-12-07: a call still pending after 5 s was checked as a
  // success, so the property took 5 s a run, and a vitest test of it timed out with no message.
  [
    'never-settles',
    'requestUntouched',
    /^Expected complete\(\) on a plain request to settle within 5 s, got it pending/,
  ],
  [
    'key-cut-in-error',
    'errorsMapped',
    /carry the API key, got part of the key \(`sk-m…`, 23 of its 26 characters in a row\) at `message`/,
  ],
  // Passed every property until 2026-12-07: no call was given `idleTimeoutMs`.
  [
    'ignores-idle-timeout',
    'errorsMapped',
    /^Expected complete\(\) against `fault:stall` with idleTimeoutMs 300 to end by itself as TIMED_OUT \(timeout 'idle'\)/,
  ],
];

let server: OpenAIServer;
const killed: string[] = [];
const lines: string[] = [];

beforeAll(async () => {
  server = createOpenAIServer();
  await server.start();
});
afterAll(async () => {
  await server.close();
  const score = `${killed.length} of ${MUTANTS.length} mutants rejected by the named property`;
  console.log(`provider contract mutant score: ${score}\n${lines.join('\n')}`);
});

describe('the contract rejects each planted bug by its property', () => {
  for (const [bug, property, says] of MUTANTS) {
    it(`${bug} -> ${property}`, async () => {
      // Every mutant logs its HTTP errors to a logger the contract reads (one of them with its key).
      const capture = createLogCapture();
      const adapter = createPlainAdapter({
        baseURL: server.baseURL,
        apiKey: KEY,
        bug,
        logger: capture.logger,
      });
      // The console mutant's lines (a test key) kept out of the test's output; the contract still reads them.
      const quiet =
        bug === 'console-logs-request' ? vi.spyOn(console, 'warn').mockImplementation(() => {}) : undefined;
      const started = Date.now();
      // The named property alone: the claim is that it rejects the bug (which others also do is not
      // asserted), and the whole contract a mutant made this file take 265 s of a CI run.
      const outcome = await checkProviderContract(adapter, {
        server,
        apiKey: KEY,
        logged: () => capture.entries,
        numRuns,
        only: [property],
        capabilities: { tools: true, thinking: true, files: true },
      })
        .then(
          () => undefined,
          (error: unknown) => error,
        )
        .finally(() => quiet?.mockRestore());
      expect(outcome).toBeInstanceOf(ProviderContractError);
      const error = outcome as ProviderContractError;
      lines.push(
        `  ${bug}: broke ${error.broken.join(', ')} in ${Date.now() - started} ms: ${error.failures.find((f) => f.property === property)?.message ?? ''}`,
      );
      expect(error.broken).toContain(property);
      const failure = error.failures.find((f) => f.property === property);
      // The report says what to replay: the seed and a shrunk case.
      expect(error.message).toContain(`seed ${error.report.seed}`);
      expect(failure?.counterexample).not.toBe('(none)');
      if (says !== undefined) expect(failure?.message).toMatch(says);
      killed.push(bug);
    }, 90_000);
  }
});

// A review (2026-12-04): the vendor modes the Kimi and GLM presets are checked against ignored
// `end-ms` and never said when they sent the finish chunk, so a held-back stream passed there.
describe('against a vendor-mode server too', () => {
  // GLM's mode: the plain adapter reads its usage where GLM puts it (Kimi's, inside the choice, it
  // does not, and fails on that first). Both modes write their stream with the same code.
  it.each(['glm'] as const)(
    'holds-until-finish -> streamContract (%s mode)',
    async (vendor) => {
      const vendorServer = createOpenAIServer({ vendor });
      await vendorServer.start();
      try {
        const adapter = createPlainAdapter({
          baseURL: vendorServer.baseURL,
          apiKey: KEY,
          bug: 'holds-until-finish',
        });
        // The named property alone, as above: nothing here asserts on the others, and the whole
        // contract took 8 s of this test at load 5 and 43 s in a loaded `npm test` (2026-12-06).
        const outcome = await checkProviderContract(adapter, {
          server: vendorServer,
          apiKey: KEY,
          numRuns,
          only: ['streamContract'],
        }).then(
          () => undefined,
          (error: unknown) => error,
        );
        expect(outcome).toBeInstanceOf(ProviderContractError);
        const failure = (outcome as ProviderContractError).failures.find(
          (f) => f.property === 'streamContract',
        );
        expect(failure?.message).toMatch(/only after the server sent its finish chunk/);
      } finally {
        await vendorServer.close();
      }
    },
    90_000,
  );
});
