/**
 * `sessions`: what the runtime is doing: live sessions by state, queue depth per priority,
 * in-flight calls per provider against their limits, recent sessions and what ended sessions cost
 * (`visibleCost`); or one session by id. Each list holds at most one page (`sessions-page.ts`);
 * `recent` pages on by `cursor`.
 */
import * as z from 'zod';
import { runtimeError } from '../../core/errors.js';
import { jsonBytes } from '../../core/json-bytes.js';
import type { RuntimeStatus } from '../../runtime/types.js';
import { checkAnswerBudget, takeAnswerBytes } from '../answer-budget.js';
import { logStoreFailure } from '../context.js';
import { toolErrorInfo } from '../errors.js';
import { outcomeFields, sessionIdSchema, sessionSummarySchema } from '../schemas.js';
import {
  listedEnd,
  RECENT_LIMIT_MAX,
  RECENT_SCAN,
  shownModels,
  statusFor,
  visibleCost,
  visibleLive,
  visibleRecent,
  visibleSession,
} from '../scope.js';
import { sessionLines } from '../sessions-lines.js';
import {
  cursorRefused,
  livePages,
  recentPage,
  recentRead,
  SESSIONS_PAGE_BYTES,
  SESSIONS_PAGE_MAX,
} from '../sessions-page.js';
import { errorOutcome, type TroupeTool } from '../tool.js';

/**
 * The most models cooling down one provider's `limits_left` lists by id (the soonest to end), the
 * rest counted: a provider cooling per model (GLM's) could otherwise list every model id callers
 * were refused on, in every answer.
 */
export const MODELS_COOLING_SHOWN = 20;

const input = z.strictObject({
  session_id: sessionIdSchema.optional().describe('Show only this session.'),
  recent_limit: z
    .number()
    .int()
    .min(0)
    .max(RECENT_LIMIT_MAX)
    .optional()
    .describe(
      `Recent sessions to include, up to ${RECENT_LIMIT_MAX}; default 20. One answer lists at most ${SESSIONS_PAGE_MAX} (and ${SESSIONS_PAGE_BYTES / 1024} KiB of them); page on with \`cursor\`.`,
    ),
  cursor: sessionIdSchema
    .optional()
    .describe(
      '`recent_next_cursor` of an earlier answer: list the recent sessions after the last it showed.',
    ),
});

const liveSchema = z.looseObject({
  sessionId: z.string(),
  state: z.string(),
  provider: z.string(),
  label: z.string().optional(),
  position: z.number().optional(),
  chars: z.number().optional(),
  since: z.number(),
});

const output = z.object({
  ...outcomeFields,
  session: sessionSummarySchema.optional(),
  live: liveSchema.optional().describe('Progress of the session when it is live.'),
  runtime_state: z.string().optional(),
  live_by_state: z.object({ queued: z.array(liveSchema), running: z.array(liveSchema) }).optional(),
  queued: z.number().optional(),
  running: z.number().optional(),
  queued_by_priority: z.record(z.string(), z.number()).optional(),
  providers: z
    .array(
      z.object({ name: z.string(), queued: z.number(), running: z.number(), limit: z.number().nullable() }),
    )
    .optional(),
  max_concurrent: z.number().optional(),
  max_running_per_caller: z
    .number()
    .optional()
    .describe(
      "The most sessions one caller may have running at once (per instance on a cluster); past it that caller's next waits while others' run.",
    ),
  max_queued: z.number().optional(),
  max_queued_per_caller: z
    .number()
    .optional()
    .describe(
      'The most sessions one caller may have waiting (per instance on a cluster); past it QUEUE_FULL.',
    ),
  max_queued_bytes: z
    .number()
    .optional()
    .describe('The most bytes of request JSON the waiting sessions may hold (per instance on a cluster).'),
  max_queued_bytes_per_caller: z
    .number()
    .optional()
    .describe(
      "The most bytes of one caller's waiting requests, while it has some waiting (the same share as max_queued_per_caller); past it QUEUE_FULL.",
    ),
  queued_bytes: z.number().optional().describe('The bytes of request JSON waiting now (max_queued_bytes).'),
  recent: z.array(sessionSummarySchema).optional(),
  recent_next_cursor: z
    .string()
    .optional()
    .describe(
      'There are older recent sessions than this answer listed: call again with this as `cursor` (and `recent_limit`) for them.',
    ),
  live_not_shown: z
    .object({ queued: z.number(), running: z.number() })
    .optional()
    .describe(
      `Live sessions past the ${SESSIONS_PAGE_MAX} (or ${SESSIONS_PAGE_BYTES / 1024} KiB) of each state one answer lists, oldest first; read one by \`session_id\`.`,
    ),
  cost_total: z
    .record(z.string(), z.number())
    .optional()
    .describe(
      "What ended sessions cost, by currency (models with a price only). A caller sees its own sessions' alone, the sessions it may list (on a cluster, wherever they ran; the text says 'your'); the admin and stdio see what every session ended on this instance cost.",
    ),
  limits_left: z
    .record(
      z.string(),
      z.object({
        cooldown: z.string(),
        cooldown_until: z.number().nullable(),
        requests_per_minute: z.number().nullable(),
        tokens_per_minute: z.number().nullable(),
        tokens_per_day: z.number().nullable(),
        concurrent: z.number().nullable(),
        models_cooling_until: z
          .record(z.string(), z.number())
          .optional()
          .describe(
            "Models cooling down on their own after a 429 (a vendor that limits each model apart, GLM's), until when: those list_models lists and those of your own sessions (an admin sees all).",
          ),
        models_cooling_not_shown: z
          .number()
          .optional()
          .describe(
            `How many more of the models you may see cool down past the ${MODELS_COOLING_SHOWN} soonest to end that \`models_cooling_until\` lists.`,
          ),
        other_models_cooling: z
          .number()
          .optional()
          .describe(
            "How many more of the provider's models cool down: other callers' model ids are not shown.",
          ),
      }),
    )
    .optional()
    .describe(
      'Per provider with limits in its own units: what it has left now (null: no limit in that unit) and its cooldown state.',
    ),
});

export const sessionsTool: TroupeTool<typeof input, typeof output> = {
  name: 'sessions',
  title: 'Show sessions',
  description:
    'Shows live sessions by state (queued, running), queue depth per priority, in-flight sessions per ' +
    'provider against its limit, recent sessions, and what your ended sessions cost (the admin: every ' +
    `session’s). Each list shows at most ${SESSIONS_PAGE_MAX} sessions: page on through older recent ones with ` +
    '`cursor` (`recent_next_cursor`). With `session_id`, shows that one session.',
  input,
  output,
  longRunning: false,
  readOnly: true,
  async run(args, mcp, call) {
    if (args.session_id !== undefined) {
      const session = visibleSession(mcp, call, args.session_id);
      if (session === undefined) {
        const error = runtimeError(
          'UNKNOWN_SESSION',
          `Expected \`session_id\` to name a live or recent session, got "${args.session_id}"`,
        );
        return errorOutcome(toolErrorInfo(error.toData()));
      }
      const live = mcp.live.get(args.session_id);
      return {
        structured: { ok: true, session, ...(live === undefined ? {} : { live }) },
        text: `${session.sessionId}: ${session.state} · ${session.provider}/${session.model} · priority ${session.priority} · ${session.attempts} attempt(s)${session.code ? ` · ${session.code}` : ''}`,
      };
    }
    // Nothing built for a request whose answers carried their budget (`answer-budget.ts`).
    checkAnswerBudget(call.httpRequest);
    const limit = args.recent_limit ?? 20;
    // A page after a cursor reads on from the cursor's entry: what it lists and one more, no more.
    if (args.cursor !== undefined && !listedEnd(mcp, call, args.cursor))
      return errorOutcome(
        toolErrorInfo(runtimeError('INVALID_REQUEST', cursorRefused(args.cursor)).toData()),
      );
    const status = statusFor(mcp, call, recentRead(limit), args.cursor);
    const recent = recentPage(visibleRecent(mcp, call, status.recent), limit);
    const live = visibleLive(mcp, call);
    const pages = livePages(live);
    const limits =
      status.limits === undefined
        ? undefined
        : limitsLeft(status.limits, () =>
            // Its own models are those of its newest `RECENT_SCAN`, whatever one page read.
            shownModels(mcp, call, statusFor(mcp, call, RECENT_SCAN).recent),
          );
    // The text names each session listed, so it carries about as much again (`sessions-lines.ts`).
    const lines = sessionLines(pages, recent.shown);
    // Counted before the first `await`: a batch's other messages run in between.
    takeAnswerBytes(
      call.httpRequest,
      () => recent.bytes + pages.bytes + jsonBytes(limits) + jsonBytes(lines),
    );
    // A ledger that fails (Redis away) costs the cost line, not the answer: until 2026-12-07 the
    // whole tool failed INTERNAL, and a client could not list its own sessions held here.
    const cost = await visibleCost(mcp, call).catch((error: unknown) => {
      logStoreFailure(mcp.log, 'cost ledger', error);
      return undefined;
    });
    const structured = {
      ok: true,
      runtime_state: status.state,
      live_by_state: { queued: pages.queued, running: pages.running },
      ...(pages.notShown === undefined ? {} : { live_not_shown: pages.notShown }),
      queued: status.queued,
      running: status.running,
      queued_by_priority: Object.fromEntries(
        Object.entries(status.queuedByPriority).map(([priority, n]) => [String(priority), n]),
      ),
      providers: status.providers.map((p) => ({ ...p })),
      max_concurrent: status.maxConcurrent,
      max_running_per_caller: status.maxRunningPerCaller,
      max_queued: status.maxQueued,
      max_queued_per_caller: status.maxQueuedPerCaller,
      max_queued_bytes: status.maxQueuedBytes,
      max_queued_bytes_per_caller: status.maxQueuedBytesPerCaller,
      queued_bytes: status.queuedBytes,
      recent: recent.shown,
      ...(recent.next === undefined ? {} : { recent_next_cursor: recent.next }),
      ...(cost === undefined ? {} : { cost_total: cost.amounts }),
      ...(limits === undefined ? {} : { limits_left: limits }),
    };
    const costs = Object.entries(cost?.amounts ?? {}).map(([currency, amount]) => `${amount} ${currency}`);
    const providerLines = status.providers.map(
      (p) =>
        // `limit: null` is "no limit of its own": say so, as /api/status and the dashboard do.
        `  ${p.name}: ${p.running} running / ${p.limit === null ? `no own limit (global max ${status.maxConcurrent})` : `${p.limit} limit`}, ${p.queued} queued`,
    );
    return {
      structured,
      text: [
        `Runtime ${status.state}: ${status.running} running (max ${status.maxConcurrent}${status.maxRunningPerCaller < status.maxConcurrent ? `, ${status.maxRunningPerCaller} per caller` : ''}), ${status.queued} queued (max ${status.maxQueued}${status.maxQueuedPerCaller < status.maxQueued ? `, ${status.maxQueuedPerCaller} per caller` : ''}; ${status.queuedBytes} of ${status.maxQueuedBytes} bytes).`,
        ...providerLines,
        ...Object.entries(structured.limits_left ?? {}).map(([name, l]) => limitsLine(name, l)),
        `Recent: ${structured.recent.length} session(s)${recent.next === undefined ? '' : `; older ones with \`cursor: "${recent.next}"\` (at most ${SESSIONS_PAGE_MAX} an answer)`}.`,
        ...(pages.notShown === undefined
          ? []
          : [
              `Live: ${pages.notShown.queued} queued and ${pages.notShown.running} running not listed (at most ${SESSIONS_PAGE_MAX} of each an answer); read one by \`session_id\`.`,
            ]),
        cost === undefined
          ? 'Cost of ended sessions: not known now (the cost ledger did not answer; the server log says why).'
          : `Cost of ${cost.own ? 'your ' : ''}ended sessions: ${costs.length === 0 ? 'none priced' : costs.join(', ')}.`,
        ...lines,
      ].join('\n'),
    };
  },
};

/** One provider's line of `limits_left`: its cooldown, what it has left, and its models cooling down. */
function limitsLine(name: string, l: ReturnType<typeof limitsLeft>[string]): string {
  const left = [
    l.requests_per_minute === null ? '' : `${l.requests_per_minute} requests/min`,
    l.tokens_per_minute === null ? '' : `${l.tokens_per_minute} tokens/min`,
    l.tokens_per_day === null ? '' : `${l.tokens_per_day} tokens/day`,
    l.concurrent === null ? '' : `${l.concurrent} slots`,
  ].filter(Boolean);
  const models = Object.entries(l.models_cooling_until ?? {}).map(
    ([model, until]) => `; ${model} cooling down until ${new Date(until).toISOString()}`,
  );
  if (l.models_cooling_not_shown !== undefined)
    models.push(`; ${l.models_cooling_not_shown} more model(s) cooling down, not listed`);
  if (l.other_models_cooling !== undefined)
    models.push(`; ${l.other_models_cooling} more model(s) cooling down (other callers’ ids are not shown)`);
  return `  ${name} limits: ${l.cooldown}${l.cooldown_until === null ? '' : ` until ${new Date(l.cooldown_until).toISOString()}`}, ${left.length === 0 ? 'no limits in its units' : `left ${left.join(', ')}`}${models.join('')}`;
}

function limitsLeft(
  limits: NonNullable<RuntimeStatus['limits']>,
  /** Made only when some model cools down: it reads the catalog and the caller's sessions. */
  shown: () => (provider: string, model: string) => boolean,
) {
  let isShown: ((provider: string, model: string) => boolean) | undefined;
  return Object.fromEntries(
    Object.entries(limits).map(([name, b]) => {
      const cooling = Object.entries(b.models ?? {});
      isShown ??= cooling.length === 0 ? undefined : shown();
      const visible = cooling.filter(([model]) => isShown?.(name, model) === true);
      const others = cooling.length - visible.length;
      // The soonest to end first, at most MODELS_COOLING_SHOWN; the rest counted.
      const listed = visible.sort(([, a], [, b]) => a - b).slice(0, MODELS_COOLING_SHOWN);
      const notShown = visible.length - listed.length;
      return [
        name,
        {
          cooldown: b.cooldown,
          cooldown_until: b.cooldownUntil,
          requests_per_minute: b.remaining.requestsPerMinute,
          tokens_per_minute: b.remaining.tokensPerMinute,
          tokens_per_day: b.remaining.tokensPerDay,
          concurrent: b.remaining.maxConcurrent,
          ...(listed.length === 0 ? {} : { models_cooling_until: Object.fromEntries(listed) }),
          ...(notShown === 0 ? {} : { models_cooling_not_shown: notShown }),
          ...(others === 0 ? {} : { other_models_cooling: others }),
        },
      ];
    }),
  );
}
