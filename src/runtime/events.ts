/** The events of `subscribe()` and `handle.events`: part of the runtime's public types (types.ts). */
import type { TroupeErrorData } from '../core/errors.js';
import type { ChatDelta } from '../providers/port.js';
import type { SessionResult, TaskResult } from './types.js';

/** Events about one session, in order. */
export type SessionEvent =
  | {
      readonly type: 'session.queued';
      readonly sessionId: string;
      readonly position: number;
      readonly at: number;
    }
  | {
      readonly type: 'session.started';
      readonly sessionId: string;
      readonly attempt: number;
      /**
       * The session whose slot it runs on (`SubmitOptions.parent`, docs/runtime.md "A session
       * within a session"), while it does: it counts in no free slot of `maxConcurrent`. Absent on
       * a session that runs on a slot of its own, as most do.
       */
      readonly lentBy?: string;
      readonly at: number;
    }
  | {
      readonly type: 'session.delta';
      readonly sessionId: string;
      readonly delta: ChatDelta;
      /** Characters of content and reasoning received so far. */
      readonly chars: number;
      readonly at: number;
    }
  | {
      readonly type: 'session.retry';
      readonly sessionId: string;
      readonly attempt: number;
      readonly delayMs: number;
      readonly error: TroupeErrorData;
      readonly at: number;
    }
  | {
      /** The session left its target for the next one of its fallbacks (docs/routing.md). */
      readonly type: 'session.fallback';
      readonly sessionId: string;
      readonly from: { readonly provider: string; readonly model: string };
      readonly to: { readonly provider: string; readonly model: string };
      /** What ended the turn of `from`. */
      readonly error: TroupeErrorData;
      /**
       * `true` when the session moved on past `from`'s cooldown, which lasts past a deadline (queued,
       * or between attempts): `from` got no call on this turn, and `error` is the runtime's word for
       * that cooldown, not an answer of the provider. (An open circuit breaker's refusal is not
       * marked: it stands for the provider's own failures, and counts as one.)
       */
      readonly withoutCall?: true;
      /**
       * The id of the session whose slot it runs on, while it runs on one (as `session.started`'s): a
       * queued child that moves on past `from`'s cooldown onto its parent's slot leaves its queue here.
       */
      readonly lentBy?: string;
      readonly at: number;
    }
  | {
      readonly type: 'session.progress';
      readonly sessionId: string;
      readonly progress: number;
      readonly total?: number;
      readonly message?: string;
      readonly at: number;
    }
  | {
      readonly type: 'session.ended';
      readonly sessionId: string;
      readonly result: SessionResult | TaskResult<unknown>;
      readonly at: number;
    };

/** Events about the supervisor. */
export type SupervisorEvent =
  | { readonly type: 'supervisor.draining'; readonly at: number; readonly deadlineAt: number }
  | {
      readonly type: 'supervisor.stopped';
      readonly at: number;
      /** Sessions the drain deadline cancelled, each reported. */
      readonly cancelled: readonly string[];
    };

/** What `subscribe()` delivers: every session transition and supervisor change. */
export type RuntimeEvent =
  | (SessionEvent & { readonly provider: string; readonly label?: string })
  | SupervisorEvent;
