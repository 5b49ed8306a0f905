/**
 * The window a vendor states when it refuses a request for its length, read out of its own message,
 * and the windows an adapter learned that way for later calls.
 *
 * The wordings (docs/providers.md [K4], [Z1]): Moonshot's "Invalid request: Your request exceeded
 * model token limit: 262144 (requested: 269030)" (its API reference's "Your request exceeded model
 * token limit : {max_model_length}"; MoonshotAI/kimi-cli#2011), its older "model max length exceeded,
 * max length:8192", and GLM's 1210 "Request 182387 input tokens exceeds the model's maximum context
 * length 202750". Only a message already matched as an overflow (a `CONTEXT_TOO_LONG` row of the
 * vendor's table) is read. Pure apart from the learned map, which each adapter owns.
 */
import type { LearnedWindow, ModelSpec } from './registry.js';
import { MAX_LISTED_WINDOW } from './vendor-models.js';

/** The smallest window taken from a message, in tokens: below it a number is no model's window. */
export const MIN_STATED_WINDOW = 4096;
/** The most models whose stated window an adapter keeps; the oldest goes first. */
export const MAX_STATED_MODELS = 256;

const WORDINGS = [
  /maximum context length (?:is )?(\d+)/i,
  /exceeded model token limit ?: ?(\d+)/i,
  /max length ?: ?(\d+)/i,
];
const REQUESTED = /requested: ?(\d+)/i;

/**
 * The window `message` states, in tokens, or `undefined`: none stated, one out of
 * [`MIN_STATED_WINDOW`, `MAX_LISTED_WINDOW`], or one the message contradicts (Moonshot's own count
 * of the request, "(requested: N)", at or under it: a refusal for length asked for more).
 */
export function statedWindow(message: string): number | undefined {
  return statedFigure(message)?.tokens;
}

/** `statedWindow`'s figure with the vendor's words that state it ("exceeded model token limit: 262144"). */
function statedFigure(message: string): { readonly tokens: number; readonly words: string } | undefined {
  for (const wording of WORDINGS) {
    const found = wording.exec(message);
    if (found === null) continue;
    const tokens = Number(found[1]);
    if (tokens < MIN_STATED_WINDOW || tokens > MAX_LISTED_WINDOW) return undefined;
    const requested = REQUESTED.exec(message);
    if (requested !== null && Number(requested[1]) <= tokens) return undefined;
    return { tokens, words: found[0] };
  }
  return undefined;
}

/** What an overflow's message adds to `CONTEXT_TOO_LONG`. */
export interface OverflowContext {
  readonly model?: string;
  /** The window troupe had for the model, in tokens. */
  readonly contextWindow?: number;
  /** Told the window the vendor stated, and its words; returns whether later calls are checked against it. */
  readonly onStatedWindow?: (tokens: number, words: string) => boolean;
}

/** The advice of a `CONTEXT_TOO_LONG` refusal whose server text is `detail`: the window, the vendor's figure first. */
export function overflowAdvice(context: OverflowContext, detail: string): string {
  const model = context.model === undefined ? 'the model' : `\`${context.model}\``;
  const figure = statedFigure(detail);
  const known = context.contextWindow;
  let window = known === undefined ? 'its context window' : `its context window of ${known} tokens`;
  let since = '';
  if (figure !== undefined) {
    const stated = figure.tokens;
    window = `its context window of ${stated} tokens`;
    const learned = context.onStatedWindow?.(stated, figure.words) === true;
    const had = known === undefined || known === stated ? '' : `; troupe had ${known}`;
    since = `, the figure the vendor states${had}${learned ? `, and checks later calls to ${model} against it` : ''}`;
  }
  return `. The prompt plus the completion budget exceed ${window} (${model})${since}: shorten the conversation or lower max_tokens.`;
}

/** The windows one adapter learned from its vendor's overflow refusals, by model. */
export interface StatedWindows {
  /** The window the vendor stated for `model`, when smaller than the catalogue's (or it had none). */
  get(model: string): number | undefined;
  /** `get`'s window with when it was learned and the vendor's words (what `list_models` shows). */
  learned(model: string): LearnedWindow | undefined;
  /** The window to check `model` against: the stated one, else the catalogue's. */
  windowOf(model: string): number | undefined;
  /** `model`'s catalogue entry, its window the stated one where that is smaller. */
  specOf(model: string): ModelSpec | undefined;
  /** Keeps `tokens` for `model`, stated in `words`, when it lowers what is known; returns whether it did. */
  learn(model: string, tokens: number, words: string): boolean;
  /** What an error of a call to `model` names and learns (none without a model). */
  errorContext(model: string | undefined): OverflowContext;
}

/**
 * A stated window only ever lowers a model's, and by half at most: one at or over the window known
 * (the catalogue's, the providers file's or one stated before) is not taken, so a garbage number
 * cannot widen a window; one under half of it is more likely another limit or a garbled message
 * than the window the vendor's pages give (GLM-4.7's API says 202750 of a "200K"), and is not kept
 * either. A model with no known window takes any (over `MIN_STATED_WINDOW`, as every stated one).
 * Kept for the process, for at most `MAX_STATED_MODELS` models, the oldest dropped first, each with
 * the wall time it was learned at (`now`, epoch ms: a date shown to users, not a timer).
 */
export function statedWindows(models: readonly ModelSpec[], now: () => number = Date.now): StatedWindows {
  const learned = new Map<string, LearnedWindow>();
  const catalogued = (model: string) => models.find((m) => m.id === model);
  const get = (model: string) => learned.get(model)?.tokens;
  const windowOf = (model: string) => get(model) ?? catalogued(model)?.contextWindow;
  const learn = (model: string, tokens: number, words: string): boolean => {
    const known = windowOf(model);
    if (tokens >= (known ?? Number.POSITIVE_INFINITY) || tokens * 2 < (known ?? 0)) return false;
    learned.delete(model);
    if (learned.size >= MAX_STATED_MODELS) learned.delete(learned.keys().next().value as string);
    learned.set(model, { tokens, learnedAt: now(), stated: words });
    return true;
  };
  return {
    get,
    learned: (model) => learned.get(model),
    windowOf,
    learn,
    specOf(model) {
      const spec = catalogued(model);
      const tokens = get(model);
      return spec === undefined || tokens === undefined ? spec : { ...spec, contextWindow: tokens };
    },
    errorContext(model) {
      if (model === undefined) return {};
      const window = windowOf(model);
      const onStatedWindow = (tokens: number, words: string) => learn(model, tokens, words);
      return window === undefined
        ? { model, onStatedWindow }
        : { model, contextWindow: window, onStatedWindow };
    },
  };
}
