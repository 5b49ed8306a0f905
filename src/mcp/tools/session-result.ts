/**
 * Turns a session's outcome into the tool's structured result: the answer and the session
 * metadata when it ended `done`; the error (code, message, hint) and the metadata otherwise.
 */
import type { PartialOutput, SessionMetadata, SessionResult } from '../../runtime/types.js';
import { type ToolErrorInfo, toolErrorInfo } from '../errors.js';
import type { SessionOutcome } from '../run-session.js';
import { errorOutcome, type ToolOutcome } from '../tool.js';

export interface AnswerFields {
  readonly ok: boolean;
  readonly content?: string;
  readonly reasoning?: string;
  readonly tool_calls?: readonly unknown[];
  readonly finish_reason?: string;
  /** GLM web-search results, as the vendor sent them. */
  readonly web_search?: readonly Readonly<Record<string, unknown>>[];
  readonly session?: SessionMetadata;
  readonly error?: ToolErrorInfo;
  /** A streamed answer that ended without finishing: what the model had written (`SessionResult.partial`). */
  readonly partial_answer?: PartialOutput;
}

export function answerFields(outcome: SessionOutcome): AnswerFields {
  if (outcome.kind === 'refused') return { ok: false, error: toolErrorInfo(outcome.error) };
  const { result } = outcome;
  if (!result.ok) {
    const error = toolErrorInfo(result.error);
    return result.partial === undefined
      ? { ok: false, error, session: result.metadata }
      : { ok: false, error, session: result.metadata, partial_answer: result.partial };
  }
  return answerOf(result);
}

/**
 * A failed call's tool result: the error, its session, and what a stream had written before it
 * ended, in `partial_answer` and after the error in the text, so a model reading it loses nothing.
 */
export function failureOutcome(fields: AnswerFields): ToolOutcome {
  const error = fields.error as ToolErrorInfo;
  const extra: Record<string, unknown> = {};
  if (fields.session !== undefined) extra.session = fields.session;
  const partial = fields.partial_answer;
  if (partial !== undefined) extra.partial_answer = partial;
  const outcome = errorOutcome(error, extra);
  return partial === undefined ? outcome : { ...outcome, text: `${outcome.text}${partialText(partial)}` };
}

/** The text of what a stream had written before its session ended (`failureOutcome`). */
export function partialText(partial: PartialOutput): string {
  if (partial.content === '')
    return `\n\n[The model had only reasoned (${partial.reasoning?.length ?? 0} characters, in partial_answer.reasoning) before the session ended.]`;
  return `\n\n[What the model had written before the session ended (${partial.content.length} characters; not a whole answer):]\n${partial.content}`;
}

/** An answer's structured fields, built field by field into one object the caller may add to. */
export type Answer = { -readonly [K in keyof AnswerFields]: AnswerFields[K] } & Record<string, unknown>;

/** The structured fields of a session that ended `done`, in one object (no spread copies). */
export function answerOf(result: Extract<SessionResult, { ok: true }>): Answer {
  const answer: Answer = { ok: true, content: result.content };
  if (result.reasoning !== undefined) answer.reasoning = result.reasoning;
  if (result.toolCalls !== undefined) answer.tool_calls = result.toolCalls;
  if (result.finishReason !== undefined) answer.finish_reason = result.finishReason;
  if (result.webSearch !== undefined) answer.web_search = result.webSearch;
  answer.session = result.metadata;
  return answer;
}

/**
 * A sentence for the text content when the finish reason matters to a reader: `length` (cut at the
 * token limit, or no answer at all), GLM's `model_context_window_exceeded` (cut at the context
 * window), `content_filter` (a filter stopped it), and GLM web-search results with their links.
 */
export function finishSentences(fields: AnswerFields): string {
  const parts: string[] = [];
  if (fields.finish_reason === 'length') {
    parts.push(
      (fields.content ?? '') === ''
        ? '\n\n[The model reached its token limit (finish_reason `length`) before writing any answer: raise max_tokens, or disable thinking.]'
        : '\n\n[The answer was cut at the token limit (finish_reason `length`).]',
    );
  }
  if (fields.finish_reason === 'model_context_window_exceeded') {
    // GLM: the prompt plus the answer filled the model's context window.
    parts.push(
      "\n\n[The answer was cut where the prompt plus the answer filled the model's context window (finish_reason `model_context_window_exceeded`): shorten the conversation.]",
    );
  }
  if (fields.finish_reason === 'content_filter') {
    // An OpenAI-compatible endpoint's filter ("content was omitted due to a flag from our content
    // filters", the `openai` SDK's type); the Kimi preset fails such an answer `CONTENT_FILTERED`.
    parts.push(
      "\n\n[The provider's content filter stopped the answer (finish_reason `content_filter`): it may be incomplete.]",
    );
  }
  for (const [i, result] of (fields.web_search ?? []).entries()) {
    const title = typeof result.title === 'string' ? result.title : '(untitled)';
    const link = typeof result.link === 'string' ? ` <${result.link}>` : '';
    parts.push(`${i === 0 ? '\n\nWeb search results:' : ''}\n- ${title}${link}`);
  }
  return parts.join('');
}

/** One line of metadata for the text content, so a model sees the session id and timing too. */
export function metadataLine(session: SessionMetadata | undefined): string {
  if (session === undefined) return '';
  const finish = session.finishReason === undefined ? '' : ` · finish ${session.finishReason}`;
  // A fallback happened: say where the session went, so a model reading the text knows.
  const route =
    session.route === undefined || session.route.length < 2
      ? ''
      : ` · route ${session.route.map((h) => `${h.provider}/${h.model} ${h.outcome}`).join(' → ')}`;
  const cost = session.cost === undefined ? '' : ` · cost ${session.cost.amount} ${session.cost.currency}`;
  return `\n\n[session ${session.sessionId} · ${session.provider}/${session.model} · ${session.state}${finish}${route} · ${session.totalMs} ms · ${session.attempts} attempt(s)${cost}]`;
}
