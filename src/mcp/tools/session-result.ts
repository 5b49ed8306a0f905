/**
 * Turns a session's outcome into the tool's structured result: the answer and the session
 * metadata when it ended `done`; the error (code, message, hint) and the metadata otherwise.
 */
import type { SessionMetadata } from '../../runtime/types.js';
import { type ToolErrorInfo, toolErrorInfo } from '../errors.js';
import type { SessionOutcome } from '../run-session.js';

export interface AnswerFields {
  readonly ok: boolean;
  readonly content?: string;
  readonly reasoning?: string;
  readonly tool_calls?: readonly unknown[];
  readonly finish_reason?: string;
  readonly session?: SessionMetadata;
  readonly error?: ToolErrorInfo;
}

export function answerFields(outcome: SessionOutcome): AnswerFields {
  if (outcome.kind === 'refused') return { ok: false, error: toolErrorInfo(outcome.error) };
  const { result } = outcome;
  if (!result.ok) return { ok: false, error: toolErrorInfo(result.error), session: result.metadata };
  return {
    ok: true,
    content: result.content,
    ...(result.reasoning === undefined ? {} : { reasoning: result.reasoning }),
    ...(result.toolCalls === undefined ? {} : { tool_calls: result.toolCalls }),
    ...(result.finishReason === undefined ? {} : { finish_reason: result.finishReason }),
    session: result.metadata,
  };
}

/** One line of metadata for the text content, so a model sees the session id and timing too. */
export function metadataLine(session: SessionMetadata | undefined): string {
  if (session === undefined) return '';
  return `\n\n[session ${session.sessionId} · ${session.provider}/${session.model} · ${session.state} · ${session.totalMs} ms · ${session.attempts} attempt(s)]`;
}
