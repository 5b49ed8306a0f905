/**
 * Zhipu/Z.ai request rules, checked before anything is sent (sources in docs/providers.md):
 * - temperature from 0 to 1 and top_p from 0.01 to 1 (API reference; 1 is the default temperature
 *   of GLM-4.6 and later, sent as is); temperature 0 becomes 0.01 with `do_sample: false` (greedy
 *   decoding, as the official Python SDKs send it), a top_p under 0.01 becomes 0.01; both are
 *   rounded to two decimal places (BigModel: "限两位小数"), never below 0.01;
 * - `tool_choice` accepts only `auto`;
 * - `stop` holds one stop word ("Currently, only one stop word is supported", `maxItems: 1`), sent
 *   as a list (`string[]`), a bare string as a list of one;
 * - `user_id` is 6 to 128 characters;
 * - `thinking` only on models that think (GLM-4.5 and later, the V models);
 * - content parts (`[{ type: 'text' }, { type: 'image_url' }, ...]`) only on a user message to a
 *   vision model: Z.ai's API reference types every `content` of its Text Model request as a string,
 *   and of its Vision Model request takes parts on user messages alone;
 * - a base64 image goes as the official SDKs send it, without its `data:image/...;base64,` prefix;
 * - no `mcp` tool ([Z10]): GLM runs it on its side and returns its records as `tool_calls` of type `mcp`,
 *   which troupe does not read (the call failed after the vendor had run the MCP server's tools).
 * `do_sample`, `request_id`, `user_id`, `tool_stream` and `response_format` pass through `extra`.
 */
import type { PreparedRequest } from './openai-compatible.js';
import type { ChatMessage, ChatRequest } from './port.js';
import type { ModelSpec } from './registry.js';
import { RequestDraft } from './request-rules.js';

export function glmPrepare(request: ChatRequest, spec: ModelSpec | undefined): PreparedRequest {
  const draft = new RequestDraft(request, 'glm');
  draft.range('temperature', 0, 1);
  draft.range('top_p', 0, 1);
  lowEnds(draft);
  twoDecimals(draft);
  toolChoice(draft);
  stopWord(draft);
  userId(draft);
  thinking(draft, spec);
  contentParts(draft, spec);
  imageData(draft);
  mcpTool(draft);
  return draft.finish();
}

function lowEnds(draft: RequestDraft): void {
  if (draft.get('temperature') === 0) {
    draft.set('temperature', 0.01);
    if (!draft.has('do_sample')) draft.set('do_sample', false);
    draft.note(
      'sent `temperature` 0 as 0.01 with `do_sample: false` (greedy decoding), as the official Python SDK does',
    );
  }
  const topP = draft.get('top_p');
  if (typeof topP === 'number' && topP < 0.01) {
    draft.set('top_p', 0.01);
    draft.note(`sent \`top_p\` ${topP} as 0.01, the API reference's least value`);
  }
}

/**
 * BigModel's API reference takes `temperature` and `top_p` "限两位小数" (two decimal places at most):
 * a finer value goes rounded to two, never below 0.01, with a note (0.333 was sent as it was).
 */
function twoDecimals(draft: RequestDraft): void {
  for (const field of ['temperature', 'top_p'] as const) {
    const value = draft.get(field);
    if (typeof value !== 'number' || Number.isInteger(Math.round(value * 1e6) / 1e4)) continue;
    const sent = Math.max(0.01, Math.round(value * 100) / 100);
    draft.set(field, sent);
    draft.note(
      `sent \`${field}\` ${value} as ${sent}: GLM takes two decimal places (BigModel's API reference)`,
    );
  }
}

function toolChoice(draft: RequestDraft): void {
  const choice = draft.get('tool_choice');
  if (choice !== undefined && choice !== 'auto')
    throw draft.refuse('tool_choice', '`"auto"` (the only value GLM accepts)');
}

/**
 * One stop word, sent as the list the API references type `stop` as (`string[]`, "格式为
 * [\"stop_word1\"]"): a bare string goes as a list of one (it went as a string).
 */
function stopWord(draft: RequestDraft): void {
  const stop = draft.get('stop');
  if (Array.isArray(stop) && stop.length > 1)
    throw draft.refuse('stop', 'one stop word (GLM supports only one)', stop);
  // The same request in the documented form: no note.
  if (typeof stop === 'string') draft.set('stop', [stop]);
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

/**
 * Content parts other than text (an image, a video, a file), judged for catalogue models only (the
 * catalogue informs: an id it does not list, such as `glm-4.6v-flash`, goes as given). Z.ai's API
 * reference ([Z2]) types each message's `content` as a string in its Text Model request, and in its
 * Vision Model request (glm-5v-turbo, glm-4.6v, glm-4.5v, ...) takes parts (text, image_url,
 * video_url, file_url) on user messages alone. An image to a model that cannot see it is refused
 * rather than risk an answer written without it; parts that are all text go as given, where GLM
 * either reads them or answers with its own 400. Until 2026-12-05 every part went to any model.
 */
function contentParts(draft: RequestDraft, spec: ModelSpec | undefined): void {
  if (spec === undefined) return;
  const vision = spec.capabilities?.vision === true;
  draft.request.messages.forEach((message, index) => {
    const content: unknown = message.content;
    if (!Array.isArray(content) || content.every(isTextPart)) return;
    const field = `messages[${index}].content`;
    if (!vision)
      throw draft.refuse(
        field,
        'text: image, video and file parts need a GLM vision model (glm-4.6v, say)',
        content,
      );
    if (message.role !== 'user')
      throw draft.refuse(
        field,
        `text: GLM's vision models take image, video and file parts on user messages only`,
        content,
      );
  });
}

/**
 * A base64 image as both official SDKs send it (`zai` and `zhipuai`, `drop_prefix_image_data`): an
 * `image_url` part's `url` that starts `data:image/` goes as the base64 after its `base64,`, the
 * "Base64 编码" the references name beside a URL (docs/providers.md [Z3]). The same image, so no note;
 * the caller's messages are not changed. Until 2026-12-07 the data URL went as given.
 */
function imageData(draft: RequestDraft): void {
  const messages = draft.request.messages;
  if (!messages.some((message) => partsOf(message).some(isDataImage))) return;
  draft.setMessages(
    messages.map((message) => {
      const parts = partsOf(message);
      if (!parts.some(isDataImage)) return message;
      const content = parts.map((part) => (isDataImage(part) ? bareImage(part) : part));
      return { ...message, content } as unknown as ChatMessage;
    }),
  );
}

interface DataImagePart {
  readonly type: 'image_url';
  readonly image_url: { readonly url: string };
}

function partsOf(message: ChatMessage): readonly unknown[] {
  const content: unknown = message.content;
  return Array.isArray(content) ? content : [];
}

function isDataImage(part: unknown): part is DataImagePart {
  if ((part as { type?: unknown } | null)?.type !== 'image_url') return false;
  const url = (part as { image_url?: { url?: unknown } | null }).image_url?.url;
  return typeof url === 'string' && url.startsWith('data:image/') && url.includes(BASE64);
}

const BASE64 = 'base64,';

/** The part with its base64 alone (the SDKs take what follows the last `base64,`). */
function bareImage(part: DataImagePart): DataImagePart {
  const url = part.image_url.url;
  return {
    ...part,
    image_url: { ...part.image_url, url: url.slice(url.lastIndexOf(BASE64) + BASE64.length) },
  };
}

function isTextPart(part: unknown): boolean {
  return typeof part === 'object' && part !== null && (part as { type?: unknown }).type === 'text';
}

/**
 * GLM's `mcp` tool (`{ type: 'mcp', mcp: { server_label, server_url, transport_type, ... } }`,
 * docs.z.ai/guides/capabilities/mcp-call) is run by GLM itself, which returns what it did as
 * `tool_calls` entries of type `mcp` (BigModel's chat reference: an `mcp` object with `type`
 * `mcp_list_tools` or `mcp_call`, `server_label`, `arguments`, `output`, `error`, and no `function`).
 * troupe does not read those entries (a whole answer failed `BAD_RESPONSE`, a stream gave the
 * caller a nameless call) and no wire sample of a stream of them was found: refused before
 * sending, so that the MCP server's tools are not run for an answer that is then lost.
 */
function mcpTool(draft: RequestDraft): void {
  const tools = draft.get('tools');
  if (!Array.isArray(tools)) return;
  const index = tools.findIndex((tool: unknown) => (tool as { type?: unknown } | null)?.type === 'mcp');
  if (index < 0) return;
  throw draft.refuse(
    `tools[${index}]`,
    "a function or web_search tool: troupe does not read the `mcp` tool's calls, which GLM runs itself (connect the MCP server to your own client and pass its tools as functions)",
    // Its type only: an `mcp` object may carry the MCP server's credentials in `headers`.
    { type: 'mcp' },
  );
}
