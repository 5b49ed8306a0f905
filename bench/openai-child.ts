/**
 * Child process for the path benchmarks: the local OpenAI-compatible server, printing its base
 * URL on stdout. Streams carry `argv[2]` numbered 4-character pieces; whole answers are short.
 */
import { createOpenAIServer } from '../src/testing/openai-server.js';
import { streamText } from './support.js';

const text = streamText(Number(process.argv[2] ?? 200));
const server = createOpenAIServer({
  respond: (body) => ({ content: body.stream === true ? text : 'A short answer of about eight words.' }),
});
const baseURL = await server.start();
process.stdout.write(`${baseURL}\n`);
process.on('SIGTERM', () => {
  void server.close().then(() => process.exit(0));
});
