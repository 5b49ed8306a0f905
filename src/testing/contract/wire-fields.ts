/**
 * How a port request's fields look in a chat-completions body, and the first one that is not
 * there as given (for `requestSent`). Pure. The format's own other spellings are taken:
 * `max_tokens` as `max_completion_tokens` (OpenAI's newer name, and Moonshot's), a stop word as
 * a list of one, text content as text parts, `content: null` as `''` or left out, and `thinking`
 * as `{ type }` (GLM's and Kimi's form). A field that one of the call's notes names in backticks
 * (`` `temperature` ``) the adapter changed on purpose and said so.
 */
import { isDeepStrictEqual } from 'node:util';
import type { ChatMessage, ChatRequest } from '../../providers/port.js';
import type { CallKind } from './harness.js';

export type RequestFields = Pick<
  ChatRequest,
  'temperature' | 'top_p' | 'max_tokens' | 'stop' | 'tools' | 'tool_choice' | 'thinking' | 'extra'
>;

export interface WireReading {
  readonly kind: CallKind;
  /** What the adapter said it changed (`ChatResponse.notes`, `note` deltas). */
  readonly notes: readonly string[];
  /** Whether `thinking` is held: the port lets an adapter that does not declare it ignore it. */
  readonly thinking: boolean;
}

type Json = Record<string, unknown>;

/** Fields `extra` does not set: the typed ones win over it, and the rest decide how the answer is read. */
const NOT_FROM_EXTRA = new Set([
  'model',
  'messages',
  'stream',
  'stream_options',
  'temperature',
  'top_p',
  'stop',
  'tools',
  'tool_choice',
  'thinking',
]);

/** The completion budget's two names (`maxTokens` holds both when a typed `max_tokens` is given). */
const BUDGET = ['max_tokens', 'max_completion_tokens'] as const;

/** "Expected `top_p` 0.9 on the wire, got none", or `undefined` when every field came as given. */
export function wireDifference(
  request: ChatRequest,
  body: unknown,
  reading: WireReading,
): string | undefined {
  if (!isObject(body)) return `Expected a JSON body on the wire, got ${shown(body)}`;
  const noted = (field: string) => reading.notes.some((note) => note.includes(`\`${field}\``));
  const field = (name: string, given: unknown, same?: (a: unknown, b: unknown) => boolean) =>
    given === undefined || noted(name)
      ? undefined
      : same === undefined
        ? deepDifference(name, given, body[name])
        : same(given, body[name])
          ? undefined
          : expected(name, given, body[name]);
  // OpenAI refuses `tools: []`, and `tool_choice` without tools: an adapter may leave them out.
  const toolless = (request.tools?.length ?? 0) === 0;
  return (
    field('model', request.model) ??
    streamFlag(body, reading.kind) ??
    field('temperature', request.temperature) ??
    field('top_p', request.top_p) ??
    (noted('max_tokens') ? undefined : maxTokens(request, body)) ??
    field('stop', request.stop, sameStop) ??
    (toolless && body.tools === undefined ? undefined : field('tools', request.tools)) ??
    (toolless && body.tool_choice === undefined ? undefined : field('tool_choice', request.tool_choice)) ??
    (reading.thinking ? field('thinking', request.thinking, sameThinking) : undefined) ??
    extraDifference(request, body, noted) ??
    oneChoice(request, body) ??
    messagesDifference(request.messages, body.messages)
  );
}

/**
 * The port reads one choice: an `n` the caller did not give (in `extra`) other than 1 asks for
 * answers nobody reads, each one billed.
 */
function oneChoice(request: ChatRequest, body: Json): string | undefined {
  if (request.extra?.n !== undefined || body.n === undefined || body.n === 1) return undefined;
  return `Expected no \`n\` on the wire (or 1: the port reads one choice, and each is billed), got ${shown(body.n)}`;
}

/** `stream: true` on a stream; on `complete()` neither it nor `stream_options`, which OpenAI refuses without it. */
function streamFlag(body: Json, kind: CallKind): string | undefined {
  if (kind !== 'complete') return body.stream === true ? undefined : expected('stream', true, body.stream);
  const streamed = (['stream', 'stream_options'] as const).find(
    (name) => body[name] !== undefined && body[name] !== false,
  );
  return streamed === undefined
    ? undefined
    : `Expected no \`${streamed}\` on the wire for complete(), got ${shown(body[streamed])} (OpenAI refuses \`stream_options\` without \`stream: true\`)`;
}

/**
 * A typed `max_tokens` under either name, as given; beside it, the other name may carry what
 * `extra` gave under that name (a field of its own, sent as it is), but `max_tokens` never
 * carries the `extra` value the typed one wins over.
 */
function maxTokens(request: ChatRequest, body: Json): string | undefined {
  const given = request.max_tokens;
  if (given === undefined) return undefined;
  const named = [...BUDGET].filter((name) => body[name] !== undefined);
  const fits = (name: string) =>
    body[name] === given || (name !== 'max_tokens' && body[name] === request.extra?.[name]);
  if (named.some((name) => body[name] === given) && named.every(fits)) return undefined;
  const got = named.map((name) => `\`${name}\` ${shown(body[name])}`).join(' and ');
  return `Expected \`max_tokens\` ${given} on the wire (or as \`max_completion_tokens\`), got ${got || 'neither'}`;
}

const asList = (stop: unknown) => (Array.isArray(stop) ? stop : [stop]);
const sameStop = (given: unknown, sent: unknown) => isDeepStrictEqual(asList(given), asList(sent));
const sameThinking = (given: unknown, sent: unknown) =>
  sent === given || (isObject(sent) && sent.type === given);

function extraDifference(
  request: ChatRequest,
  body: Json,
  noted: (field: string) => boolean,
): string | undefined {
  for (const [name, given] of Object.entries(request.extra ?? {})) {
    const typed =
      NOT_FROM_EXTRA.has(name) ||
      (request.max_tokens !== undefined && (BUDGET as readonly string[]).includes(name));
    const difference = typed || noted(name) ? undefined : deepDifference(name, given, body[name]);
    if (difference !== undefined) return `${difference} (from \`extra\`, which goes as it is)`;
  }
  return undefined;
}

/**
 * Each message in order (an adapter may put more between them: a system prompt, a file's text),
 * found by its role and content, then held to its other fields.
 */
function messagesDifference(given: readonly ChatMessage[], sent: unknown): string | undefined {
  if (!Array.isArray(sent))
    return `Expected \`messages\` on the wire, got ${sent === undefined ? 'none' : shown(sent)}`;
  const found = (message: ChatMessage, from: number) =>
    sent.findIndex(
      (m: unknown, k) =>
        k >= from && isObject(m) && m.role === message.role && sameContent(message.content, m.content),
    );
  let from = 0;
  for (const [i, message] of given.entries()) {
    const at = found(message, from);
    if (at === -1) {
      const roles = sent.map((m: unknown) => (isObject(m) ? String(m.role) : typeof m)).join(', ');
      const earlier = found(message, 0);
      const where =
        earlier === -1
          ? `got no such message (the wire’s roles: ${roles})`
          : `got it earlier, as the wire’s messages[${earlier}] (out of order; the wire’s roles: ${roles})`;
      return `Expected messages[${i}] (${message.role}, content ${shown(message.content)}) on the wire, in order, ${where}`;
    }
    from = at + 1;
    const difference = messageDifference(`messages[${i}]`, message, sent[at] as Json);
    if (difference !== undefined) return difference;
  }
  return copies(given, sent);
}

/**
 * A message of the caller's sent more often than given (a system prompt put in front and left in
 * the history too): an adapter's own messages are allowed between the caller's, copies are not.
 */
function copies(given: readonly ChatMessage[], sent: readonly unknown[]): string | undefined {
  const key = (m: Json) =>
    JSON.stringify([
      m.role,
      textOf(m.content),
      m.tool_call_id ?? null,
      Array.isArray(m.tool_calls) ? m.tool_calls.map((c: unknown) => (isObject(c) ? c.id : c)) : [],
    ]);
  const count = (list: readonly unknown[], k: string) =>
    list.filter((m) => isObject(m) && key(m) === k).length;
  for (const [i, message] of given.entries()) {
    const k = key(message as unknown as Json);
    const times = count(sent, k);
    const wanted = count(given, k);
    if (times > wanted)
      return `Expected messages[${i}] (${message.role}, content ${shown(message.content)}) on the wire ${wanted === 1 ? 'once' : `${wanted} times`}, as given, got it ${times} times`;
  }
  return undefined;
}

/** Content as the text it carries: text parts joined, `null` or none as ''. */
function textOf(content: unknown): unknown {
  if (content === null || content === undefined) return '';
  if (Array.isArray(content))
    return content.map((part: unknown) => (isObject(part) ? part.text : part)).join('');
  return content;
}

/** `null` content (beside tool calls) may go as `''` or be left out; text may go as text parts. */
function sameContent(given: string | null, sent: unknown): boolean {
  if (given === null) return sent === null || sent === '' || sent === undefined;
  if (Array.isArray(sent))
    return (
      sent.every((part: unknown) => isObject(part) && part.type === 'text') &&
      sent.map((part: Json) => part.text).join('') === given
    );
  return sent === given;
}

function messageDifference(path: string, message: ChatMessage, wire: Json): string | undefined {
  for (const key of ['name', 'tool_call_id', 'reasoning_content'] as const) {
    const given = message[key];
    if (given !== undefined && wire[key] !== given) return expected(`${path}.${key}`, given, wire[key]);
  }
  const calls = message.tool_calls;
  if (calls === undefined) return undefined;
  const sent = wire.tool_calls;
  if (!Array.isArray(sent) || sent.length !== calls.length)
    return `Expected \`${path}.tool_calls\` with ${calls.length} call(s) on the wire, got ${
      Array.isArray(sent) ? `${sent.length}` : sent === undefined ? 'none' : shown(sent)
    }`;
  for (const [c, call] of calls.entries()) {
    const got: Json = isObject(sent[c]) ? sent[c] : {};
    const fn: Json = isObject(got.function) ? got.function : {};
    const at = `${path}.tool_calls[${c}]`;
    if (got.id !== call.id) return expected(`${at}.id`, call.id, got.id);
    if (got.type !== call.type) return expected(`${at}.type`, call.type, got.type);
    if (fn.name !== call.function.name) return expected(`${at}.function.name`, call.function.name, fn.name);
    if (fn.arguments !== call.function.arguments)
      return expected(`${at}.function.arguments`, call.function.arguments, fn.arguments);
  }
  return undefined;
}

/** `expected()` at the first path where `sent` is not `given` (`tools[0].function.parameters`), so the two values shown differ. */
function deepDifference(field: string, given: unknown, sent: unknown): string | undefined {
  if (isDeepStrictEqual(given, sent)) return undefined;
  if (Array.isArray(given) && Array.isArray(sent) && given.length === sent.length) {
    const i = given.findIndex((value, k) => !isDeepStrictEqual(value, sent[k]));
    return deepDifference(`${field}[${i}]`, given[i], sent[i]);
  }
  if (isObject(given) && isObject(sent)) {
    const keys = [...new Set([...Object.keys(given), ...Object.keys(sent)])];
    const key = keys.find((k) => !isDeepStrictEqual(given[k], sent[k])) as string;
    // A field the adapter added inside (a tool's `strict`) is as much a change as one it dropped.
    return deepDifference(`${field}.${key}`, given[key], sent[key]);
  }
  return expected(field, given, sent);
}

function expected(field: string, given: unknown, sent: unknown): string {
  if (given === undefined)
    return `Expected no \`${field}\` on the wire (the request gave none), got ${shown(sent)}`;
  return `Expected \`${field}\` ${shown(given)} on the wire, got ${sent === undefined ? 'none' : shown(sent)}`;
}

function shown(value: unknown): string {
  const text = JSON.stringify(value);
  return text === undefined ? String(value) : text.length > 80 ? `${text.slice(0, 79)}…` : text;
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
