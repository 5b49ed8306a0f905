/**
 * `troupe ask --provider kimi|glm` as a user runs it: the built CLI, keys and base URLs from the
 * variables users already have, against the local server in Kimi and GLM modes.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createOpenAIServer, type OpenAIServer } from '../../src/testing/openai-server.js';

const CLI = fileURLToPath(new URL('../../dist/src/cli/main.js', import.meta.url));
const KEY = 'sk-e2e-ask-vendors-0123456789abcdef';
let kimi: OpenAIServer;
let glm: OpenAIServer;

beforeAll(async () => {
  expect(existsSync(CLI), `Expected the built CLI at ${CLI}; run "npm run build" first`).toBe(true);
  kimi = createOpenAIServer({ apiKey: KEY, vendor: 'kimi' });
  glm = createOpenAIServer({ apiKey: KEY, vendor: 'glm' });
  await Promise.all([kimi.start(), glm.start()]);
});
afterAll(async () => {
  await Promise.all([kimi.close(), glm.close()]);
});
beforeEach(() => {
  kimi.reset();
  glm.reset();
  kimi.setResponder(undefined);
  glm.setResponder(undefined);
});

function ask(
  args: readonly string[],
  env: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const base = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' };
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, 'ask', ...args],
      { env: { ...base, ...env }, timeout: 20_000 },
      (error, stdout, stderr) => {
        resolve({
          code: error === null ? 0 : typeof error.code === 'number' ? error.code : -1,
          stdout,
          stderr,
        });
      },
    );
  });
}
const kimiEnv = () => ({ MOONSHOT_API_KEY: KEY, KIMI_BASE_URL: kimi.baseURL });
const glmEnv = () => ({ GLM_API_KEY: KEY, ZAI_BASE_URL: glm.baseURL });
const lastBody = (server: OpenAIServer) => server.requests.at(-1)?.body as Record<string, unknown>;

describe('troupe ask with the vendor presets', () => {
  it('a thinking model gets a budget; a length stop with no answer is said plainly', async () => {
    kimi.setResponder(() => ({ reasoning: 'so much thinking', content: '', finishReason: 'length' }));
    const run = await ask(['--provider', 'kimi', '--model', 'kimi-k2-thinking', 'hard question'], kimiEnv());
    expect(run.code).toBe(0);
    expect(lastBody(kimi).max_completion_tokens).toBe(32_768);
    expect(run.stderr).toMatch(/warning: the model reached its token limit before writing any answer/);
    expect(run.stderr).toMatch(/note: set `max_completion_tokens` to 32768/);
    expect(run.stderr).toMatch(/finish=length/);
    expect(run.stderr).not.toContain(KEY);
  });

  it("Kimi's finish_reason content_filter fails the call: one CONTENT_FILTERED line, exit 1, no text", async () => {
    kimi.setResponder(() => ({ content: 'half an answer', finishReason: 'content_filter' }));
    const run = await ask(['--provider', 'kimi', '--model', 'kimi-k2.6', 'q'], kimiEnv());
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/troupe ask: CONTENT_FILTERED: .*finish_reason `content_filter`/);
  });

  it.each([
    ['kimi', 'kimi-k2.6', 'content_filter'],
    ['glm', 'glm-4.6', 'sensitive'],
  ] as const)(
    '%s streamed, then stopped by its review (%s): the text printed is said to be withdrawn',
    async (vendor, model, finish) => {
      const server = vendor === 'kimi' ? kimi : glm;
      server.setResponder(() => ({ content: 'half an answer', finishReason: finish }));
      const env = vendor === 'kimi' ? kimiEnv() : glmEnv();
      const run = await ask(['--provider', vendor, '--model', model, '--stream', 'q'], env);
      expect(run.code).toBe(1);
      expect(run.stdout).toBe('half an answer\n');
      expect(run.stderr).toMatch(
        /^troupe ask: the text above is withdrawn: the provider's safety review stopped the answer, so it is not one\ntroupe ask: CONTENT_FILTERED: /,
      );
      expect(run.stderr).not.toContain('cut short');
      const json = await ask(['--provider', vendor, '--model', model, '--stream', '--json', 'q'], env);
      expect(JSON.parse(json.stdout)).toMatchObject({ error: { code: 'CONTENT_FILTERED' }, withdrawn: true });
    },
  );

  it("GLM's model_context_window_exceeded keeps the partial answer and says it was cut", async () => {
    glm.setResponder(() => ({ content: 'partial', finishReason: 'model_context_window_exceeded' }));
    const run = await ask(['--provider', 'glm', '--model', 'glm-4.6', 'long question'], glmEnv());
    expect(run.code).toBe(0);
    expect(run.stdout).toBe('partial\n');
    expect(run.stderr).toMatch(
      /warning: the answer was cut where prompt plus answer filled the model's context window/,
    );
    expect(run.stderr).toMatch(/finish=model_context_window_exceeded/);
  });

  it('--max-tokens, --temperature and --thinking reach the vendor under its own fields', async () => {
    const run = await ask(
      [
        '--provider',
        'kimi',
        '--model',
        'moonshot-v1-8k',
        '--max-tokens',
        '50',
        '--temperature',
        '0.2',
        '--json',
        'hi',
      ],
      kimiEnv(),
    );
    expect(run.code).toBe(0);
    expect(lastBody(kimi)).toMatchObject({ max_completion_tokens: 50, temperature: 0.2 });
    const out = JSON.parse(run.stdout);
    expect(out.finishReason).toBe('stop');
    expect(out.metadata.finishReason).toBe('stop');
    const thinking = await ask(
      ['--provider', 'kimi', '--model', 'kimi-k2.5', '--thinking', 'disabled', 'hi'],
      kimiEnv(),
    );
    expect(thinking.code).toBe(0);
    expect(lastBody(kimi).thinking).toEqual({ type: 'disabled' });
  });

  it('refuses a temperature the model forbids before any request, naming field, model and rule', async () => {
    const run = await ask(
      ['--provider', 'kimi', '--model', 'kimi-k2.6', '--temperature', '0.2', 'hi'],
      kimiEnv(),
    );
    // A refused request was made from the flags: a usage error, exit 2 (it was 1).
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/INVALID_REQUEST: Expected `temperature` for kimi model `kimi-k2.6`/);
    expect(kimi.requests).toHaveLength(0);
    const usage = await ask(['--provider', 'kimi', '--thinking', 'maybe', 'hi'], kimiEnv());
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/Expected `--thinking` to be `enabled` or `disabled`, got "maybe"/);
  });

  it('GLM: GLM_API_KEY with ZAI_BASE_URL; quota errors say what to do and are not retried', async () => {
    const run = await ask(['--provider', 'glm', '--model', 'glm-4.6', 'vendor-error:glm.window'], glmEnv());
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/QUOTA_EXHAUSTED: .*resets at 2026-12-01 09:15:00/);
    expect(glm.requests.filter((r) => r.path === '/v1/chat/completions')).toHaveLength(1);
  });

  it('GLM: web-search results are listed with their links', async () => {
    glm.setResponder(() => ({
      content: 'yes',
      webSearch: [{ title: 'A page', link: 'https://example.org/a', content: 'text' }],
    }));
    const run = await ask(['--provider', 'glm', '--model', 'glm-4.6', 'search'], glmEnv());
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/web search: A page <https:\/\/example.org\/a>/);
  });
});
