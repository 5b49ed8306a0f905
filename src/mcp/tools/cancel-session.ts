/**
 * `cancel_session`: cancel a live session by id, for clients that cannot send MCP cancellation.
 */
import * as z from 'zod';
import { runtimeError } from '../../core/errors.js';
import { toolErrorInfo } from '../errors.js';
import { outcomeFields, sessionIdSchema, sessionSummarySchema } from '../schemas.js';
import { visibleSession } from '../scope.js';
import { errorOutcome, type TroupeTool } from '../tool.js';

const input = z.strictObject({
  session_id: sessionIdSchema.describe('The session to cancel (from session metadata or the sessions tool).'),
  reason: z
    .string()
    .max(500)
    .optional()
    .describe('Why, at most 500 characters: the cancelled call’s error reads "Cancelled: <reason>".'),
});

const output = z.object({
  ...outcomeFields,
  cancelled: z.boolean().optional().describe('False when the session had already ended.'),
  session: sessionSummarySchema.optional(),
});

export const cancelSessionTool: TroupeTool<typeof input, typeof output> = {
  name: 'cancel_session',
  title: 'Cancel a session',
  description:
    'Cancels a queued or running session by id; its provider request is aborted and its caller gets a ' +
    'CANCELLED result. For clients that cannot send MCP cancellation.',
  input,
  output,
  longRunning: false,
  readOnly: false,
  async run(args, mcp, call) {
    const known = visibleSession(mcp, call, args.session_id);
    if (known === undefined) {
      const error = runtimeError(
        'UNKNOWN_SESSION',
        `Expected \`session_id\` to name a live or recent session, got "${args.session_id}"`,
      );
      return errorOutcome(toolErrorInfo(error.toData()));
    }
    const cancelled = mcp.runtime.cancel(args.session_id, args.reason ?? 'cancelled with cancel_session');
    const session = mcp.runtime.session(args.session_id) ?? known;
    return {
      structured: { ok: true, cancelled, session },
      text: cancelled
        ? `Cancelled session ${args.session_id}.`
        : `Session ${args.session_id} had already ended (${session.state}); nothing to cancel.`,
    };
  },
};
