/**
 * Moonshot's request rules, checked before anything is sent (sources in docs/providers.md):
 * - `stop` holds at most 5 words of at most 32 bytes each;
 * - temperature and top_p from 0 to 1 (`n` other than 1 never gets here: a session reads one
 *   answer, so `submit` refuses it for every provider, `request-check.ts`);
 * - kimi-k2.5 and later fix temperature, top_p, n and both penalties ("cannot be modified");
 * - kimi-k2.5 and later, and kimi-k2-thinking (as Moonshot's own client sends it `enabled`, with
 *   `keep`), take the `thinking` parameter; kimi-k2-thinking, kimi-k2.7-code and kimi-k3 always think;
 * - `thinking.keep` (Preserved Thinking): kimi-k2.5 has none (dropped), kimi-k2.7-code keeps all always,
 *   and none goes beside `disabled` (undocumented; the vendor's client sends it only with thinking on);
 * - kimi-k3's depth is the top-level `reasoning_effort`, `low`, `high` or `max` (`kimi-effort.ts`);
 * - `$web_search` (a `builtin_function`) needs thinking disabled;
 * - with thinking on, `tool_choice` is `auto` or `none` ("取任何其他值将会报错");
 * - partial mode: `partial: true` only on the last message, an assistant one, and not with
 *   `response_format` `json_object` ("Do not mix Partial Mode with response_format=json_object");
 * - every property of a function tool's parameters has a `type` (`kimi-tool-schema.ts`);
 * - a function tool's name matches `^[a-zA-Z_][a-zA-Z0-9-_]{2,63}$` (Tool Use reference);
 * - thinking models get a completion budget (`max_completion_tokens`) when the caller gives none,
 *   because the vendor's default can be spent on reasoning alone and leave an empty answer; not
 *   kimi-k3, whose vendor default (131072) is larger than troupe's.
 */
import { estimatePromptTokens } from './estimate.js';
import { k3Effort } from './kimi-effort.js';
import { type FilledType, fillMissingTypes, isSchema } from './kimi-tool-schema.js';
import type { PreparedRequest } from './openai-compatible.js';
import type { ChatRequest } from './port.js';
import type { ModelSpec } from './registry.js';
import { RequestDraft } from './request-rules.js';

/** The completion budget a thinking model gets when the caller sets none, in tokens. */
export const KIMI_THINKING_MAX_TOKENS = 32_768;

/**
 * Moonshot's own `max_completion_tokens` default for kimi-k3 (Kimi help center, API troubleshooting:
 * "对于 kimi-k3 模型而言，max_completion_tokens 默认为 131072"); troupe sets no smaller one.
 */
export const KIMI_K3_DEFAULT_MAX_TOKENS = 131_072;

/**
 * Moonshot's own `max_tokens` default for the K2.5, K2.6 and K2.7 Code families ("默认值为32k，即32768",
 * the quickstarts' "参数变动说明"): what its limiter counts when no budget is sent.
 */
export const KIMI_K2_5_DEFAULT_MAX_TOKENS = 32_768;

/**
 * kimi-k3 and its variants: "K3 始终开启思考模式" and "目前关不了" (always thinks, cannot be turned
 * off; Kimi help center), with the vendor's default budget of 131072.
 */
export function kimiIsK3(model: string): boolean {
  return /^kimi-k3(?![0-9])/.test(model);
}

/** kimi-k2.5, kimi-k2.6, ... and any kimi-k3+: fixed sampling, `thinking` parameter. */
export function kimiHasFixedSampling(model: string): boolean {
  return /^kimi-k(?:2\.(?:[5-9]|\d{2,})|[3-9])/.test(model);
}

/**
 * kimi-k2-thinking, kimi-k2-thinking-turbo, kimi-k2.7-code and kimi-k2.7-code-highspeed: they
 * always think ("Passing `disabled` errors" for kimi-k2.7-code, which should get no thinking parameter).
 */
export function kimiAlwaysThinks(model: string): boolean {
  return /^kimi-k2(?:-thinking|\.7-code)/.test(model);
}

/** What the vendor fixes on kimi-k2.5+ (temperature depends on thinking: 1.0 on, 0.6 off). */
const FIXED: Readonly<Record<string, number | undefined>> = {
  top_p: 0.95,
  n: 1,
  presence_penalty: 0,
  frequency_penalty: 0,
};

export function kimiPrepare(request: ChatRequest, spec: ModelSpec | undefined): PreparedRequest {
  const draft = new RequestDraft(request, 'kimi');
  const model = draft.model;
  draft.range('temperature', 0, 1);
  draft.range('top_p', 0, 1);
  stopWords(draft);
  // Before `thinking`, which K3 does not take: a depth given as `thinking.effort` moves first.
  if (kimiIsK3(model)) k3Effort(draft);
  // Thinking first: a model that always thinks refuses `disabled` before its sampling is judged.
  thinking(draft, spec);
  // Before the sampling: `$web_search` may turn thinking off, and the fixed temperature with it.
  webSearch(draft);
  // After `$web_search`, which may have turned thinking off.
  toolChoice(draft, spec);
  if (kimiHasFixedSampling(model)) fixedSampling(draft);
  partial(draft);
  toolNames(draft);
  // Before the budget: the prompt it counts is the one sent.
  toolSchemas(draft);
  budget(draft, spec);
  return draft.finish();
}

function fixedSampling(draft: RequestDraft): void {
  const thinkingOff = draft.thinkingMode() === 'disabled';
  const fixed: Record<string, number | undefined> = { ...FIXED, temperature: thinkingOff ? 0.6 : 1.0 };
  for (const [field, value] of Object.entries(fixed)) {
    const given = draft.get(field);
    if (given === undefined) continue;
    if (given === value) {
      draft.drop(field, `\`${draft.model}\` fixes it at ${value}; the same value is not sent`);
      continue;
    }
    throw draft.refuse(field, `left unset: the vendor fixes it at ${value} for this model`);
  }
}

function thinking(draft: RequestDraft, spec: ModelSpec | undefined): void {
  const mode = draft.thinkingMode();
  if (mode === undefined) return;
  if (kimiIsK3(draft.model)) {
    if (mode === 'disabled')
      throw draft.refuse('thinking', '`enabled` or unset: kimi-k3 always thinks (it cannot be turned off)');
    // The vendor names only `reasoning_effort` for K3, and a client's report has Moonshot refusing
    // `thinking` beside it: `enabled`, which changes nothing, is not sent.
    draft.drop(
      'thinking',
      'kimi-k3 always thinks; its depth is `reasoning_effort` (in `extra`), and the parameter is not sent',
    );
    return;
  }
  if (kimiAlwaysThinks(draft.model)) {
    if (mode === 'disabled') throw draft.refuse('thinking', '`enabled` or unset: this model always thinks');
    // Moonshot's own client sends kimi-k2-thinking `{ type: 'enabled' }`, and `keep: 'all'` for
    // Preserved Thinking (MoonshotAI/kimi-cli, `src/kimi_cli/llm.py`): sent as given, `keep` kept.
    if (/^kimi-k2-thinking/.test(draft.model)) return;
    // kimi-k2.7-code: Preserved Thinking is always on ("any other invalid value errors").
    const keep = withKeep(draft)?.keep;
    if (keep !== undefined && keep !== 'all')
      throw draft.refuse(
        'thinking.keep',
        '`"all"` or unset: Preserved Thinking is always on for this model',
        keep,
      );
    // kimi-k2.7-code: "you do not need to (and should not) pass the thinking parameter".
    draft.drop('thinking', 'this model always thinks and takes no thinking parameter');
    return;
  }
  if (KEEPLESS.test(draft.model))
    dropKeep(
      draft,
      `\`${draft.model}\` has no Preserved Thinking (the vendor's thinking guide: no such parameter); kimi-k2.6 takes it`,
    );
  // Unknown models: the vendor judges.
  const takesThinking =
    kimiHasFixedSampling(draft.model) || spec === undefined || spec.capabilities?.thinking === true;
  if (!takesThinking) {
    if (mode === 'enabled') throw draft.refuse('thinking', '`disabled` or unset: this model does not think');
    draft.drop('thinking', 'this model does not think and takes no thinking parameter');
    return;
  }
  // The vendor documents `keep` only beside thinking on, and its own client sends it only then
  // (MoonshotAI/kimi-code, `resolveThinkingKeep`): with `disabled` it is not sent.
  if (mode === 'disabled')
    dropKeep(draft, 'thinking is disabled, and Moonshot documents Preserved Thinking only with thinking on');
}

/** kimi-k2.5: `thinking.keep` "No such parameter; not supported" (the thinking guide's table). */
const KEEPLESS = /^kimi-k2\.5(?![0-9])/;

/** The vendor's object form in `extra.thinking` when it carries `keep` (the typed field is a mode alone). */
function withKeep(draft: RequestDraft): Readonly<Record<string, unknown>> | undefined {
  const value = draft.get('thinking');
  if (typeof value !== 'object' || value === null || Array.isArray(value) || !('keep' in value))
    return undefined;
  return value as Readonly<Record<string, unknown>>;
}

function dropKeep(draft: RequestDraft, why: string): void {
  const given = withKeep(draft);
  if (given === undefined) return;
  const { keep: _keep, ...rest } = given;
  draft.setExtra('thinking', rest);
  draft.note(`dropped \`thinking.keep\`: ${why}`);
}

function usesWebSearch(draft: RequestDraft): boolean {
  const tools = draft.get('tools');
  return (
    Array.isArray(tools) &&
    tools.some(
      (t) =>
        (t as { type?: unknown }).type === 'builtin_function' &&
        (t as { function?: { name?: unknown } }).function?.name === '$web_search',
    )
  );
}

function webSearch(draft: RequestDraft): void {
  if (!usesWebSearch(draft)) return;
  if (kimiAlwaysThinks(draft.model) || kimiIsK3(draft.model))
    throw draft.refuse(
      'tools',
      'without `$web_search`: it needs thinking disabled and this model always thinks',
      '$web_search',
    );
  if (!kimiHasFixedSampling(draft.model)) return;
  const mode = draft.thinkingMode();
  if (mode === 'enabled') throw draft.refuse('thinking', '`disabled` when `$web_search` is among the tools');
  if (mode === undefined) {
    draft.set('thinking', 'disabled');
    draft.note('set `thinking` to `disabled`: `$web_search` needs thinking disabled');
  }
}

/** Moonshot's chat reference: `stop` "最多不能超过 5 个字符串，每个字符串不得超过 32 字节". */
function stopWords(draft: RequestDraft): void {
  const stop = draft.get('stop');
  const words = typeof stop === 'string' ? [stop] : Array.isArray(stop) ? stop : [];
  const long = words.some((w) => typeof w === 'string' && Buffer.byteLength(w, 'utf8') > 32);
  if (words.length > 5 || long)
    throw draft.refuse('stop', 'at most 5 stop words of at most 32 bytes each (UTF-8)', stop);
}

/** Whether the request goes out with thinking on (a model that always thinks, or one not told `disabled`). */
function thinksOn(draft: RequestDraft, spec: ModelSpec | undefined): boolean {
  if (kimiAlwaysThinks(draft.model) || kimiIsK3(draft.model)) return true;
  const on = draft.thinkingMode() !== 'disabled';
  return on && (kimiHasFixedSampling(draft.model) || spec?.capabilities?.thinking === true);
}

/**
 * With thinking on, Moonshot takes `tool_choice` "auto" or "none" only ("取任何其他值将会报错": the
 * K2.5, K2.6 and K2.7 Code quickstarts' "Tool Use 参数兼容性"); a function name or `required` is refused.
 */
function toolChoice(draft: RequestDraft, spec: ModelSpec | undefined): void {
  const choice = draft.get('tool_choice');
  if (choice === undefined || choice === 'auto' || choice === 'none' || !thinksOn(draft, spec)) return;
  throw draft.refuse(
    'tool_choice',
    '`"auto"` or `"none"` while the model thinks (Moonshot refuses any other with thinking on; set `thinking` to `disabled` where the model allows it)',
  );
}

function partial(draft: RequestDraft): void {
  const messages = draft.request.messages;
  messages.forEach((message, index) => {
    if (message.partial !== true) return;
    if (index !== messages.length - 1 || message.role !== 'assistant') {
      throw draft.refuse(
        `messages[${index}].partial`,
        'set only on the last message, an assistant one (partial mode)',
        true,
      );
    }
    const format = draft.get('response_format') as { type?: unknown } | undefined;
    if (format?.type === 'json_object')
      throw draft.refuse(
        'response_format',
        'not `json_object` with partial mode (the vendor says not to mix them)',
      );
  });
}

/**
 * Moonshot's Tool Use and chat references: a function's name "must match
 * ^[a-zA-Z_][a-zA-Z0-9-_]{2,63}$" (3 to 64 characters; `\w` is `[a-zA-Z0-9_]`). Moonshot answers
 * 400 ("function name is invalid, must start with a letter") to any other, and MCP tool names may
 * hold `.` or `/`, or be 1 or 2 characters long: refused before sending, naming the tool.
 */
const TOOL_NAME = /^[A-Za-z_][\w-]{2,63}$/;

function toolNames(draft: RequestDraft): void {
  const tools = draft.get('tools');
  if (!Array.isArray(tools)) return;
  tools.forEach((tool: unknown, index) => {
    if ((tool as { type?: unknown }).type !== 'function') return;
    const name = (tool as { function?: { name?: unknown } }).function?.name;
    if (typeof name === 'string' && TOOL_NAME.test(name)) return;
    throw draft.refuse(
      `tools[${index}].function.name`,
      'a name of 3 to 64 letters, digits, `_` or `-` that starts with a letter or `_` (Moonshot refuses any other; rename the tool)',
      name,
    );
  });
}

/** How many filled properties the note names; the count covers them all. */
const NAMED_FILLS = 3;

/**
 * Moonshot refuses a function tool whose parameters have a property without `type`; each such
 * property gets one (`tools` is replaced only when one did), and one note says which.
 */
function toolSchemas(draft: RequestDraft): void {
  const tools = draft.get('tools');
  if (!Array.isArray(tools)) return;
  const filled: (FilledType & { readonly tool: string })[] = [];
  const sent = tools.map((tool: unknown) => {
    const fn = (tool as { type?: unknown; function?: { name?: unknown; parameters?: unknown } }).function;
    const parameters = fn?.parameters;
    if ((tool as { type?: unknown }).type !== 'function' || !isSchema(parameters)) return tool;
    const fill = fillMissingTypes(parameters);
    if (fill.filled.length === 0) return tool;
    for (const one of fill.filled) filled.push({ ...one, tool: String(fn?.name) });
    return { ...(tool as object), function: { ...fn, parameters: fill.schema } };
  });
  if (filled.length === 0) return;
  draft.set('tools', sent);
  const named = filled
    .slice(0, NAMED_FILLS)
    .map((f) => `\`${clip(f.tool)}\` \`${clip(f.path)}\` as ${f.type}`);
  if (filled.length > NAMED_FILLS) named.push(`${filled.length - NAMED_FILLS} more`);
  const count =
    filled.length === 1 ? '1 tool parameter property' : `${filled.length} tool parameter properties`;
  draft.note(
    `filled in \`type\` for ${count}: Moonshot refuses a property without one (${named.join(', ')})`,
  );
}

/** A tool name or path as the note quotes it: at most 60 characters. */
function clip(text: string): string {
  return text.length > 60 ? `${text.slice(0, 59)}…` : text;
}

function budget(draft: RequestDraft, spec: ModelSpec | undefined): void {
  if (draft.has('max_tokens') || draft.has('max_completion_tokens')) return;
  // K3's own default (131072) is large: the vendor's budget stands unless the file sets one.
  if (kimiIsK3(draft.model) && spec?.defaultMaxTokens === undefined) return;
  if (!thinksOn(draft, spec)) return;
  const wanted = spec?.defaultMaxTokens ?? KIMI_THINKING_MAX_TOKENS;
  const room = roomLeft(draft, spec);
  if (room !== undefined && room < 1) {
    draft.note(
      `sent no \`max_completion_tokens\`: the prompt leaves no room for one in the model's window of ${spec?.contextWindow} tokens`,
    );
    return;
  }
  const budgetTokens = room === undefined ? wanted : Math.min(wanted, room);
  draft.set('max_tokens', budgetTokens);
  const capped =
    budgetTokens < wanted
      ? ` (what the model's window of ${spec?.contextWindow} tokens leaves after the prompt)`
      : '';
  draft.note(
    `set \`max_completion_tokens\` to ${budgetTokens}${capped}: a thinking model can spend the vendor's default budget on reasoning alone`,
  );
}

/**
 * What the model's window leaves after the prompt, when the window is known. Moonshot refuses a
 * request whose prompt plus `max_completion_tokens` exceeds the window (chat API reference), so
 * troupe's own default must fit; the prompt is counted at the vendor's own high end for English
 * ("1 Token is roughly equivalent to 3-4 English characters": 4/3 of troupe's 4-characters rule).
 */
function roomLeft(draft: RequestDraft, spec: ModelSpec | undefined): number | undefined {
  const window = spec?.contextWindow;
  if (window === undefined) return undefined;
  return window - Math.ceil((estimatePromptTokens(draft.request) * 4) / 3);
}
