/**
 * Zhipu/Z.ai request rules, checked before anything is sent (sources in docs/providers.md):
 * - temperature and top_p from 0 to 1 (API reference); like the official Python SDKs
 *   (zai-org/z-ai-sdk-python, zhipuai-sdk-python-v4), the ends are moved inside the open interval
 *   (0, 1): 0 becomes 0.01 with `do_sample: false`, 1 becomes 0.99;
 * - `tool_choice` accepts only `auto`;
 * - `stop` holds one stop word ("Currently, only one stop word is supported", `maxItems: 1`);
 * - `user_id` is 6 to 128 characters;
 * - `thinking` only on models that think (GLM-4.5 and later, the V models).
 * `do_sample`, `request_id`, `user_id`, `tool_stream` and `response_format` pass through `extra`.
 */
import type { PreparedRequest } from './openai-compatible.js';
import type { ChatRequest } from './port.js';
import type { ModelSpec } from './registry.js';
import { RequestDraft } from './request-rules.js';

export function glmPrepare(request: ChatRequest, spec: ModelSpec | undefined): PreparedRequest {
  const draft = new RequestDraft(request, 'glm');
  draft.range('temperature', 0, 1);
  draft.range('top_p', 0, 1);
  openInterval(draft);
  toolChoice(draft);
  stopWord(draft);
  userId(draft);
  thinking(draft, spec);
  return draft.finish();
}

function openInterval(draft: RequestDraft): void {
  const temperature = draft.get('temperature');
  if (temperature === 0) {
    draft.set('temperature', 0.01);
    if (!draft.has('do_sample')) draft.set('do_sample', false);
    draft.note(
      'sent `temperature` 0 as 0.01 with `do_sample: false`, as the official Python SDK does (it keeps the value inside (0, 1))',
    );
  } else if (temperature === 1) {
    draft.set('temperature', 0.99);
    draft.note(
      'sent `temperature` 1 as 0.99, as the official Python SDK does (it keeps the value inside (0, 1))',
    );
  }
  const topP = draft.get('top_p');
  if (topP === 0 || topP === 1) {
    const moved = topP === 0 ? 0.01 : 0.99;
    draft.set('top_p', moved);
    draft.note(
      `sent \`top_p\` ${topP} as ${moved}, as the official Python SDK does (it keeps the value inside (0, 1))`,
    );
  }
}

function toolChoice(draft: RequestDraft): void {
  const choice = draft.get('tool_choice');
  if (choice !== undefined && choice !== 'auto')
    throw draft.refuse('tool_choice', '`"auto"` (the only value GLM accepts)');
}

function stopWord(draft: RequestDraft): void {
  const stop = draft.get('stop');
  if (Array.isArray(stop) && stop.length > 1)
    throw draft.refuse('stop', 'one stop word (GLM supports only one)', stop);
}

function userId(draft: RequestDraft): void {
  const value = draft.get('user_id');
  if (value === undefined) return;
  if (typeof value !== 'string' || value.length < 6 || value.length > 128)
    throw draft.refuse('user_id', 'a string of 6 to 128 characters');
}

function thinking(draft: RequestDraft, spec: ModelSpec | undefined): void {
  const mode = draft.thinkingMode();
  if (mode === undefined || spec === undefined || spec.capabilities?.thinking === true) return;
  if (mode === 'enabled') throw draft.refuse('thinking', '`disabled` or unset: this model does not think');
  draft.drop('thinking', 'this model does not think and takes no thinking parameter');
}
