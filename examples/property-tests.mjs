// Property tests of your provider adapter: first the provider contract (aborts, streams, result
// shape, frozen requests, concurrency, error mapping, capabilities, checked over the wire), then
// troupe's model-based tests (random submissions, priorities, deadlines, cancellations and a
// shutdown, with every runtime invariant checked), against the OpenAI-compatible adapter pointed
// at the local OpenAI-compatible test server.
// Run: node examples/property-tests.mjs [--seed N] [--runs N]
// fast-check is an optional peer dependency of troupe: `npm install --save-dev fast-check`.
import { parseArgs } from 'node:util';
import { createOpenAICompatibleProvider } from 'troupe';
import { checkRuntimeProperties, createOpenAIServer } from 'troupe/testing';

// Misuse is a one-line usage error with exit code 2, as the troupe CLI refuses it.
function refuse(problem) {
  console.error(`property-tests: ${problem}; usage: node examples/property-tests.mjs [--seed N] [--runs N]`);
  process.exit(2);
}
function integer(flag, text, min) {
  const n = Number(text);
  if (text.trim() === '' || !Number.isSafeInteger(n) || n < min) {
    refuse(`Expected ${flag} to be ${min > 0 ? `a whole number from ${min}` : 'an integer'}, got "${text}"`);
  }
  return n;
}
let values = {};
try {
  ({ values } = parseArgs({ options: { seed: { type: 'string' }, runs: { type: 'string' } } }));
} catch (error) {
  refuse(error.message.split('. ')[0]); // node:util's first sentence: "Unknown option '--sed'"
}
const seed = values.seed === undefined ? Date.now() % 2 ** 31 : integer('--seed', values.seed, -(2 ** 53));
const numRuns = values.runs === undefined ? 5 : integer('--runs', values.runs, 1);

// The test server answers like an OpenAI-compatible API; a model name can ask it for faults.
const server = createOpenAIServer();
const baseURL = await server.start();
const apiKey = 'sk-example-0123456789';
const adapter = createOpenAICompatibleProvider({ name: 'local', baseURL, apiKey });

console.log(`property tests of "${adapter.name}" at ${baseURL}: ${numRuns} runs, seed ${seed}`);
try {
  await checkRuntimeProperties({
    providers: [adapter],
    server, // the adapter points at it: the contract scripts answers and faults and watches the wire
    contract: { apiKey, capabilities: { tools: true, thinking: true }, numRuns: 10 },
    model: 'any-model',
    numRuns,
    seed,
    maxCommands: 20,
  });
  console.log(`ok: the provider contract and every invariant held in ${numRuns} runs (seed ${seed})`);
} catch (error) {
  // The message names the seed and the shrunk counterexample; rerun with --seed to replay it.
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
} finally {
  await adapter.close?.();
  await server.close();
}
