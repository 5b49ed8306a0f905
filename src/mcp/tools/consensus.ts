/**
 * `consensus`: the same question to several models at once, each its own session under the same
 * limits. Every answer comes back with its metadata; when some fail the result is partial (not an
 * error) and says which failed; only when all fail is it an error result.
 */
import * as z from 'zod';
import { runtimeError } from '../../core/errors.js';
import type { ChatMessage } from '../../providers/port.js';
import { toolErrorInfo } from '../errors.js';
import { runSessions } from '../run-session.js';
import {
  fallbacksSchema,
  modelCallFields,
  outcomeFields,
  partialAnswerSchema,
  sessionMetadataSchema,
  systemSchema,
  toolErrorSchema,
} from '../schemas.js';
import { errorOutcome, type TroupeTool } from '../tool.js';
import { answerFields, finishSentences, partialText } from './session-result.js';

const target = z.object({
  provider: modelCallFields.provider,
  model: modelCallFields.model,
  fallbacks: fallbacksSchema,
});

const input = z.strictObject({
  prompt: z.string().min(1).describe('The question every model gets.'),
  models: z
    .array(target)
    .min(1)
    .max(10)
    .describe('The models to ask, each `{ provider?, model?, fallbacks? }` (see list_models).'),
  system: systemSchema,
  // The same options, described the same, as `chat`'s (until 2026-12-07 these had no description).
  temperature: modelCallFields.temperature,
  max_tokens: modelCallFields.max_tokens,
  thinking: modelCallFields.thinking,
  priority: modelCallFields.priority,
  timeout_ms: modelCallFields.timeout_ms,
  extra: modelCallFields.extra,
});

const answer = z.object({
  provider: z.string().optional(),
  model: z.string().optional(),
  ok: z.boolean(),
  content: z.string().optional(),
  reasoning: z.string().optional(),
  finish_reason: z.string().optional(),
  error: toolErrorSchema.optional(),
  session: sessionMetadataSchema.optional(),
  partial_answer: partialAnswerSchema.optional(),
});

const output = z.object({
  ...outcomeFields,
  partial: z.boolean().optional().describe('True when some models failed and others answered.'),
  succeeded: z.number().optional(),
  failed: z.number().optional(),
  answers: z.array(answer).optional(),
});

export const consensusTool: TroupeTool<typeof input, typeof output> = {
  name: 'consensus',
  title: 'Ask several models',
  description:
    'Sends the same question to several models at once, each as its own session under the same limits. ' +
    'Returns every answer with its session metadata; if some fail, the others still come back (partial).',
  input,
  output,
  longRunning: true,
  readOnly: false,
  async run(args, mcp, call) {
    const messages: ChatMessage[] = [
      ...(args.system === undefined ? [] : [{ role: 'system' as const, content: args.system }]),
      { role: 'user', content: args.prompt },
    ];
    const outcomes = await runSessions(
      mcp,
      call,
      args.models.map((m) => ({
        messages,
        ...(m.provider === undefined ? {} : { provider: m.provider }),
        ...(m.model === undefined ? {} : { model: m.model }),
        ...(m.fallbacks === undefined ? {} : { fallbacks: m.fallbacks }),
        ...(args.temperature === undefined ? {} : { temperature: args.temperature }),
        ...(args.max_tokens === undefined ? {} : { max_tokens: args.max_tokens }),
        ...(args.thinking === undefined ? {} : { thinking: args.thinking }),
        ...(args.extra === undefined ? {} : { extra: args.extra }),
      })),
      'consensus',
      args,
    );
    const answers = outcomes.map((outcome, i) => {
      const fields = answerFields(outcome);
      const asked = args.models[i] ?? {};
      return {
        provider: fields.session?.provider ?? asked.provider,
        model: fields.session?.model ?? asked.model,
        ok: fields.ok,
        ...(fields.content === undefined ? {} : { content: fields.content }),
        ...(fields.reasoning === undefined ? {} : { reasoning: fields.reasoning }),
        ...(fields.finish_reason === undefined ? {} : { finish_reason: fields.finish_reason }),
        ...(fields.error === undefined ? {} : { error: fields.error }),
        ...(fields.session === undefined ? {} : { session: fields.session }),
        ...(fields.partial_answer === undefined ? {} : { partial_answer: fields.partial_answer }),
      };
    });
    const succeeded = answers.filter((a) => a.ok).length;
    const failed = answers.length - succeeded;
    const summary = { succeeded, failed, partial: succeeded > 0 && failed > 0, answers };
    const text = answers
      .map((a, i) => {
        const who = `${a.provider ?? '?'}/${a.model ?? '?'}`;
        return a.ok
          ? `## ${i + 1}. ${who}\n${a.content ?? ''}${finishSentences(a)}`
          : `## ${i + 1}. ${who} FAILED\n${a.error?.code}: ${a.error?.message}${
              a.partial_answer === undefined ? '' : partialText(a.partial_answer)
            }`;
      })
      .join('\n\n');
    if (succeeded === 0) {
      const first = answers[0]?.error;
      const error =
        first ?? toolErrorInfo(runtimeError('INTERNAL', 'Expected at least one answer, got none').toData());
      // A cancelled call (tasks/cancel, cancel_session, the client's own cancel) is no failure of the
      // models: until 2026-12-07 it read "Every model failed" all the same.
      const cancelled = answers.every((a) => a.error?.code === 'CANCELLED');
      const lead = cancelled ? 'Cancelled before any model answered' : 'Every model failed';
      const outcome = errorOutcome({ ...error, message: `${lead}. First: ${error.message}` }, summary);
      // Each model's error, and what a stream had written before it failed: nothing lost.
      return { structured: outcome.structured, text: `${outcome.text}\n\n${text}` };
    }
    return {
      structured: { ok: true, ...summary },
      text: `${succeeded} of ${answers.length} models answered${failed > 0 ? ` (${failed} failed: partial result)` : ''}.\n\n${text}`,
    };
  },
};
