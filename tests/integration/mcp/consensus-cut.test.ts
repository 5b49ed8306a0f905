/**
 * `consensus` says in its text when an answer was cut, as `chat` does: at the token limit
 * (`length`) and, for GLM, where the prompt plus the answer filled the model's context window
 * (`model_context_window_exceeded`, docs.z.ai and docs.bigmodel.cn chat-completion references).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOpenAICompatibleProvider } from '../../../src/providers/openai-compatible.js';
import { createOpenAIServer, type OpenAIServer } from '../../../src/testing/openai-server.js';
import { type Harness, startHarness, structured, text } from './harness.js';

const KEY = 'sk-mcp-consensus-cut-0123456789';
let server: OpenAIServer;
let h: Harness;

beforeAll(async () => {
  server = createOpenAIServer({ apiKey: KEY, vendor: 'glm' });
  await server.start();
  h = await startHarness({
    providers: [createOpenAICompatibleProvider({ name: 'glmish', baseURL: server.baseURL, apiKey: KEY })],
  });
});
afterAll(async () => {
  await h?.close();
  await server?.close();
});

describe('consensus: a cut answer', () => {
  it('says an answer cut at the model’s context window was cut, and why', async () => {
    server.setResponder((body) =>
      body.model === 'cut-window'
        ? { content: 'partial', finishReason: 'model_context_window_exceeded' }
        : { content: 'whole', finishReason: 'stop' },
    );
    const client = await h.client('modern');
    const result = await client.callTool({
      name: 'consensus',
      arguments: {
        prompt: 'long?',
        models: [
          { provider: 'glmish', model: 'cut-window' },
          { provider: 'glmish', model: 'whole' },
        ],
      },
    });
    const s = structured(result);
    expect(s).toMatchObject({ ok: true, succeeded: 2 });
    expect(s.answers[0]).toMatchObject({
      content: 'partial',
      finish_reason: 'model_context_window_exceeded',
    });
    const [first, second] = text(result).split('## 2.');
    expect(first).toMatch(
      /partial\n\n\[The answer was cut where the prompt plus the answer filled the model's context window/,
    );
    expect(first).toMatch(/finish_reason `model_context_window_exceeded`/);
    expect(second).not.toMatch(/\[The answer was cut/);
  });
});
