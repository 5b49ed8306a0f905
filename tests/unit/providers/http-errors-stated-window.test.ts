/**
 * The window a vendor's overflow refusal states (`stated-window.ts`): read out of Moonshot's and
 * GLM's own wordings (docs/providers.md [K4], [Z1]), named in the error, and learned by the adapter
 * for later calls only where it is a plausible window: never a wider one, never under half of the
 * known one, never a figure the message itself contradicts. Through `toProviderError` too.
 */
import { APIError } from 'openai/core/error';
import { describe, expect, it, vi } from 'vitest';
import { toProviderError } from '../../../src/providers/http-errors.js';
import {
  MAX_STATED_MODELS,
  MIN_STATED_WINDOW,
  overflowAdvice,
  statedWindow,
  statedWindows,
} from '../../../src/providers/stated-window.js';
import { GLM_ERRORS, KIMI_ERRORS } from '../../../src/providers/vendor-errors.js';
import { MAX_LISTED_WINDOW } from '../../../src/providers/vendor-models.js';

const GLM_47 =
  "API 调用参数有误，请检查文档。Request 182387 input tokens exceeds the model's maximum context length 202750";
const KIMI = 'Invalid request: Your request exceeded model token limit: 262144 (requested: 269030)';
const WORDS = 'maximum context length 202750';

describe('statedWindow: the figure in the vendor’s own words', () => {
  it('reads GLM’s 1210, Moonshot’s current and older wordings, and the API reference’s', () => {
    expect(statedWindow(GLM_47)).toBe(202750);
    expect(statedWindow(KIMI)).toBe(262144);
    // The cookbook's copy of Moonshot's reference: "exceeded model token limit : {max_model_length}".
    expect(statedWindow('Your request exceeded model token limit : 131072')).toBe(131072);
    expect(statedWindow('Your request exceeded model token limit:131072')).toBe(131072);
    expect(statedWindow('model max length exceeded, max length:8192')).toBe(8192);
    expect(statedWindow('model max length exceeded, max length : 8192')).toBe(8192);
    // The OpenAI-style sentence some servers answer with; the case of the words does not matter.
    expect(statedWindow("This model's maximum context length is 8192 tokens")).toBe(8192);
    expect(statedWindow('EXCEEDS THE MODEL’S MAXIMUM CONTEXT LENGTH 202750')).toBe(202750);
  });

  it('states nothing without a figure', () => {
    expect(statedWindow('tokens in request more than max tokens allowed')).toBeUndefined();
    expect(statedWindow('Prompt exceeds max length')).toBeUndefined();
    expect(statedWindow('Input token length too long')).toBeUndefined();
    expect(statedWindow('')).toBeUndefined();
    expect(statedWindow('maximum context length is unknown, max length: 8192')).toBe(8192);
  });

  it('takes a figure from MIN_STATED_WINDOW to MAX_LISTED_WINDOW, and none outside', () => {
    expect(MIN_STATED_WINDOW).toBe(4096);
    const at = (n: number) => statedWindow(`exceeded model token limit: ${n}`);
    expect(at(4095)).toBeUndefined();
    expect(at(4096)).toBe(4096);
    expect(at(MAX_LISTED_WINDOW)).toBe(MAX_LISTED_WINDOW);
    expect(at(MAX_LISTED_WINDOW + 1)).toBeUndefined();
    expect(at(12)).toBeUndefined();
    // The first wording with a figure decides: a later one does not rescue a garbage first.
    expect(statedWindow('maximum context length 12, max length: 8192')).toBeUndefined();
  });

  it('refuses a figure the message contradicts: Moonshot’s count of the request at or under it', () => {
    expect(statedWindow('exceeded model token limit: 262144 (requested: 262144)')).toBeUndefined();
    expect(statedWindow('exceeded model token limit: 262144 (requested: 1000)')).toBeUndefined();
    expect(statedWindow('exceeded model token limit: 262144 (requested: 262145)')).toBe(262144);
    expect(statedWindow('exceeded model token limit: 262144 (Requested:262145)')).toBe(262144);
    expect(statedWindow('exceeded model token limit:262144 (requested:1000)')).toBeUndefined();
    // GLM states the input alone, which may be under the window: only Moonshot's count is read.
    expect(statedWindow(GLM_47)).toBe(202750);
  });
});

describe('overflowAdvice: the window named, the vendor’s figure first', () => {
  const tail = ': shorten the conversation or lower max_tokens.';

  it('names what troupe knows when the vendor states nothing', () => {
    expect(overflowAdvice({}, ': Input token length too long')).toBe(
      `. The prompt plus the completion budget exceed its context window (the model)${tail}`,
    );
    expect(overflowAdvice({ model: 'glm-4.6', contextWindow: 204800 }, ': Prompt exceeds max length')).toBe(
      `. The prompt plus the completion budget exceed its context window of 204800 tokens (\`glm-4.6\`)${tail}`,
    );
  });

  it('names the vendor’s figure, and troupe’s beside it only when they differ', () => {
    expect(overflowAdvice({ model: 'glm-4.7', contextWindow: 202750 }, `: ${GLM_47}`)).toBe(
      `. The prompt plus the completion budget exceed its context window of 202750 tokens (\`glm-4.7\`), the figure the vendor states${tail}`,
    );
    expect(overflowAdvice({ model: 'glm-4.6', contextWindow: 204800 }, `: ${GLM_47}`)).toBe(
      `. The prompt plus the completion budget exceed its context window of 202750 tokens (\`glm-4.6\`), the figure the vendor states; troupe had 204800${tail}`,
    );
    expect(overflowAdvice({ model: 'kimi-next' }, `: ${KIMI}`)).toBe(
      `. The prompt plus the completion budget exceed its context window of 262144 tokens (\`kimi-next\`), the figure the vendor states${tail}`,
    );
  });

  it('tells the figure to the adapter, and says so when later calls are checked against it', () => {
    const kept = vi.fn(() => true);
    expect(
      overflowAdvice({ model: 'glm-4.6', contextWindow: 204800, onStatedWindow: kept }, `: ${GLM_47}`),
    ).toBe(
      `. The prompt plus the completion budget exceed its context window of 202750 tokens (\`glm-4.6\`), the figure the vendor states; troupe had 204800, and checks later calls to \`glm-4.6\` against it${tail}`,
    );
    expect(kept).toHaveBeenCalledExactlyOnceWith(202750, 'maximum context length 202750');
    const refused = vi.fn(() => false);
    expect(
      overflowAdvice(
        { model: 'kimi-k2.6', contextWindow: 262144, onStatedWindow: refused },
        ': max length:8192',
      ),
    ).toBe(
      `. The prompt plus the completion budget exceed its context window of 8192 tokens (\`kimi-k2.6\`), the figure the vendor states; troupe had 262144${tail}`,
    );
    const none = vi.fn(() => true);
    overflowAdvice({ model: 'kimi-k2.6', onStatedWindow: none }, ': exceeded model token limit: 12');
    expect(none).not.toHaveBeenCalled();
  });
});

describe('statedWindows: what one adapter learns', () => {
  const models = [
    { id: 'glm-4.6', contextWindow: 204_800, capabilities: { thinking: true } },
    { id: 'glm-unsized', capabilities: { thinking: true } },
  ];

  it('lowers a catalogue window to the stated one, for the window, the spec and errors', () => {
    const windows = statedWindows(models);
    expect(windows.get('glm-4.6')).toBeUndefined();
    expect(windows.windowOf('glm-4.6')).toBe(204_800);
    expect(windows.specOf('glm-4.6')).toBe(models[0]);
    expect(windows.learn('glm-4.6', 202_750, WORDS)).toBe(true);
    expect(windows.get('glm-4.6')).toBe(202_750);
    expect(windows.windowOf('glm-4.6')).toBe(202_750);
    expect(windows.specOf('glm-4.6')).toEqual({ ...models[0], contextWindow: 202_750 });
    expect(models[0]?.contextWindow).toBe(204_800);
    const context = windows.errorContext('glm-4.6');
    expect(context).toMatchObject({ model: 'glm-4.6', contextWindow: 202_750 });
    expect(context.onStatedWindow?.(150_000, WORDS)).toBe(true);
    expect(windows.get('glm-4.6')).toBe(150_000);
  });

  it('never widens a window, nor narrows it under half', () => {
    const windows = statedWindows(models);
    expect(windows.learn('glm-4.6', 204_800, WORDS)).toBe(false);
    expect(windows.learn('glm-4.6', 1_048_576, WORDS)).toBe(false);
    expect(windows.learn('glm-4.6', 102_399, WORDS)).toBe(false);
    expect(windows.get('glm-4.6')).toBeUndefined();
    expect(windows.learn('glm-4.6', 102_400, WORDS)).toBe(true);
    // Half of what is known now, the stated window: a later figure is judged against it.
    expect(windows.learn('glm-4.6', 150_000, WORDS)).toBe(false);
    expect(windows.learn('glm-4.6', 51_199, WORDS)).toBe(false);
    expect(windows.learn('glm-4.6', 51_200, WORDS)).toBe(true);
    expect(windows.windowOf('glm-4.6')).toBe(51_200);
  });

  it('gives a model without a window the one stated, but no catalogue entry', () => {
    const windows = statedWindows(models);
    expect(windows.learn('glm-unsized', 8192, WORDS)).toBe(true);
    expect(windows.specOf('glm-unsized')).toEqual({ ...models[1], contextWindow: 8192 });
    expect(windows.learn('glm-9-unlisted', 300_000, WORDS)).toBe(true);
    expect(windows.windowOf('glm-9-unlisted')).toBe(300_000);
    // An unlisted model stays unlisted for the request rules: only its window is known.
    expect(windows.specOf('glm-9-unlisted')).toBeUndefined();
    expect(windows.errorContext('glm-9-unlisted')).toMatchObject({
      model: 'glm-9-unlisted',
      contextWindow: 300_000,
    });
    const bare = windows.errorContext('glm-9-other');
    expect(bare.model).toBe('glm-9-other');
    expect('contextWindow' in bare).toBe(false);
    expect(windows.errorContext(undefined)).toEqual({});
  });

  it('keeps when each window was learned, on the clock given, and the vendor’s words that stated it', () => {
    let at = 1_000;
    const windows = statedWindows(models, () => at);
    expect(windows.learned('glm-4.6')).toBeUndefined();
    expect(windows.learn('glm-4.6', 202_750, WORDS)).toBe(true);
    expect(windows.learned('glm-4.6')).toEqual({ tokens: 202_750, learnedAt: 1_000, stated: WORDS });
    at = 2_000;
    // A figure not kept leaves the record as it was.
    expect(windows.learn('glm-4.6', 202_750, 'max length: 202750')).toBe(false);
    expect(windows.learned('glm-4.6')).toEqual({ tokens: 202_750, learnedAt: 1_000, stated: WORDS });
    expect(windows.errorContext('glm-4.6').onStatedWindow?.(150_000, 'max length: 150000')).toBe(true);
    expect(windows.learned('glm-4.6')).toEqual({
      tokens: 150_000,
      learnedAt: 2_000,
      stated: 'max length: 150000',
    });
    expect(windows.learned('glm-unsized')).toBeUndefined();
    // The wall clock by default: a date shown to users.
    const before = Date.now();
    const walled = statedWindows(models);
    walled.learn('glm-4.6', 202_750, WORDS);
    const learnedAt = walled.learned('glm-4.6')?.learnedAt ?? 0;
    expect(learnedAt).toBeGreaterThanOrEqual(before);
    expect(learnedAt).toBeLessThanOrEqual(Date.now());
  });

  it('tells the adapter the vendor’s own words with the figure, nothing of the rest of the message', () => {
    const words: string[] = [];
    const tell = (_tokens: number, said: string) => words.push(said) > 0;
    overflowAdvice({ model: 'a', onStatedWindow: tell }, `: ${KIMI}`);
    overflowAdvice({ model: 'a', onStatedWindow: tell }, `: ${GLM_47}`);
    overflowAdvice(
      { model: 'a', onStatedWindow: tell },
      ': EXCEEDS THE MAXIMUM CONTEXT LENGTH IS 202750 (x)',
    );
    overflowAdvice({ model: 'a', onStatedWindow: tell }, ': model max length exceeded, max length:8192');
    expect(words).toEqual([
      'exceeded model token limit: 262144',
      'maximum context length 202750',
      'MAXIMUM CONTEXT LENGTH IS 202750',
      'max length:8192',
    ]);
  });

  it('keeps at most MAX_STATED_MODELS models, dropping the one learned longest ago', () => {
    const windows = statedWindows([]);
    for (let i = 0; i < MAX_STATED_MODELS; i++) expect(windows.learn(`m${i}`, 100_000, WORDS)).toBe(true);
    // Learned again, `m0` is the newest: `m1` goes first.
    expect(windows.learn('m0', 90_000, WORDS)).toBe(true);
    expect(windows.learn('m-new', 100_000, WORDS)).toBe(true);
    expect(windows.get('m1')).toBeUndefined();
    expect(windows.get('m0')).toBe(90_000);
    expect(windows.get('m2')).toBe(100_000);
    expect(windows.get('m-new')).toBe(100_000);
    expect(windows.learn('m-newer', 100_000, WORDS)).toBe(true);
    expect(windows.get('m2')).toBeUndefined();
    expect(windows.get('m3')).toBe(100_000);
  });
});

describe('toProviderError: an overflow’s figure reaches the adapter', () => {
  const refused = (body: object) => APIError.generate(400, body, undefined, new Headers());
  const glm1210 = refused({ error: { code: '1210', message: GLM_47 } });

  it('from a refused request and from an error inside a stream', () => {
    const told = vi.fn(() => true);
    const error = toProviderError(glm1210, {
      provider: 'glm',
      errorTable: GLM_ERRORS,
      model: 'glm-4.6',
      contextWindow: 204_800,
      onStatedWindow: told,
    });
    expect(error.code).toBe('CONTEXT_TOO_LONG');
    expect(error.message).toMatch(
      /202750 tokens \(`glm-4\.6`\), the figure the vendor states; troupe had 204800, and checks later/,
    );
    expect(told).toHaveBeenCalledExactlyOnceWith(202750, 'maximum context length 202750');
    const inStream = new APIError(
      undefined,
      { message: KIMI, type: 'invalid_request_error' },
      undefined,
      undefined,
    );
    const streamed = toProviderError(inStream, {
      provider: 'kimi',
      errorTable: KIMI_ERRORS,
      model: 'x',
      onStatedWindow: told,
    });
    expect(streamed.code).toBe('CONTEXT_TOO_LONG');
    expect(told).toHaveBeenLastCalledWith(262144, 'exceeded model token limit: 262144');
  });

  it('not from another error that quotes a figure, nor from a code read as another', () => {
    const told = vi.fn(() => true);
    const invalid = new APIError(
      400,
      { error: { code: '1214', message: 'max length: 8192' } },
      undefined,
      undefined,
    );
    expect(
      toProviderError(invalid, { provider: 'glm', errorTable: GLM_ERRORS, onStatedWindow: told }).code,
    ).toBe('INVALID_REQUEST');
    expect(told).not.toHaveBeenCalled();
  });
});
