/**
 * The tool contract's harness: your `register` on a real `McpServer`, the SDK's own client on the
 * other end (over the in-memory transport or Streamable HTTP, `link.ts`), and an in-memory runtime
 * watched.
 *
 * The handler is observed where `withSession` hands it to the runtime: `register` gets the runtime
 * behind a proxy whose `run()` wraps each task (a task is `withSession`'s call of your handler, so
 * it settles when the handler does) and may shorten the session's deadline. Every other method is
 * the runtime's own. The client's transport is watched too (`watch.ts`).
 */
import type { Client } from '@modelcontextprotocol/client';
import { runtimeError } from '../../core/errors.js';
import { createRuntime } from '../../runtime/runtime.js';
import type { TaskFunction } from '../../runtime/types.js';
import { openLink } from './link.js';
import type { ToolArguments, ToolContractOptions, ToolContractTransport } from './types.js';
import {
  newSession,
  now,
  type SessionRun,
  type SubmitHook,
  type SubmittedRun,
  startRun,
  type WireProgress,
  watchRuns,
  watchSubmitted,
  watchWire,
} from './watch.js';

export type { HandlerRun, SessionRun, SubmittedRun, WireProgress } from './watch.js';
export { now } from './watch.js';

export interface CallPlan {
  readonly args: ToolArguments;
  /** The session's run deadline, in ms, in place of the tool's own. @default the tool's */
  readonly timeoutMs?: number;
  /**
   * Cancel the call (the client's `AbortSignal`: `notifications/cancelled` in memory, the request's
   * stream dropped over HTTP) this many ms after the handler starts.
   */
  readonly cancelAfterMs?: number;
  /** The client goes away (it closes, the call open) this many ms after the handler starts. */
  readonly disconnectAfterMs?: number;
  /** Ask for progress notifications. */
  readonly progress?: boolean;
}

export interface CallOutcome {
  readonly sentAt: number;
  readonly answer:
    | { readonly at: number; readonly result: Record<string, unknown> }
    | { readonly at: number; readonly error: unknown };
  readonly cancelledAt: number | undefined;
  /** When the client went away, if the plan had it go. */
  readonly disconnectedAt: number | undefined;
  readonly sessions: readonly SessionRun[];
  /** The model calls the handler submitted during the call. */
  readonly submitted: readonly SubmittedRun[];
  /** The progress notifications of this call that reached the client's transport, and when its response did. */
  readonly wire: { readonly progress: readonly WireProgress[]; readonly responseAt: number | undefined };
}

export interface ToolHarness {
  readonly tool: string;
  readonly transport: ToolContractTransport;
  call(plan: CallPlan): Promise<CallOutcome>;
  /** Sessions the runtime holds now, running or queued. */
  live(): { readonly running: number; readonly queued: number };
  close(): Promise<void>;
}

interface CurrentCall {
  readonly plan: CallPlan;
  /** The cancel and disconnect timers: cleared when the call ends, so none fires into the next. */
  readonly timers: ReturnType<typeof setTimeout>[];
  readonly sessions: SessionRun[];
  readonly submitted: SubmittedRun[];
  readonly cancel: () => void;
  readonly disconnect: () => void;
}

export async function startHarness(
  options: ToolContractOptions,
  callTimeoutMs: number,
): Promise<ToolHarness> {
  const runtime = createRuntime(options.runtime ?? { providers: [] });
  const transport = options.transport ?? 'memory';
  let current: CurrentCall | undefined;
  const onSubmit: SubmitHook = (handle, request, signalled) => {
    current?.submitted.push(watchSubmitted(handle, request, signalled));
  };
  const watched = watchRuns(runtime, onSubmit, (task, timeoutMs) => {
    const call = current;
    const session = newSession();
    call?.sessions.push(session.run);
    const wrapped: TaskFunction<unknown> = (context) => {
      const run = startRun(context);
      session.run.runs.push(run.run);
      if (call !== undefined && session.run.runs.length === 1) {
        const { cancelAfterMs, disconnectAfterMs } = call.plan;
        if (cancelAfterMs !== undefined) call.timers.push(setTimeout(call.cancel, cancelAfterMs));
        if (disconnectAfterMs !== undefined) call.timers.push(setTimeout(call.disconnect, disconnectAfterMs));
      }
      return run.settle(task(run.context));
    };
    return { task: wrapped, timeoutMs: call?.plan.timeoutMs ?? timeoutMs, ended: session.ended };
  });
  const link = await openLink(transport, options.register, watched).catch(async (error: unknown) => {
    await runtime.shutdown({ deadlineMs: 0 });
    throw error;
  });
  const close = async () => {
    await link.close();
    await runtime.shutdown({ deadlineMs: 0 });
  };
  let wire = watchWire(link.transport);
  const tool = await toolName(link.client, options.tool).catch(async (error: unknown) => {
    await close();
    throw link.registerError() ?? error;
  });
  return {
    tool,
    transport,
    close,
    live() {
      const { running, queued } = runtime.status({ recent: 0 });
      return { running, queued };
    },
    async call(plan) {
      const controller = new AbortController();
      let cancelledAt: number | undefined;
      let disconnectedAt: number | undefined;
      let dropped: Promise<void> | undefined;
      const sessions: SessionRun[] = [];
      const submitted: SubmittedRun[] = [];
      const timers: ReturnType<typeof setTimeout>[] = [];
      current = {
        plan,
        timers,
        sessions,
        submitted,
        cancel: () => {
          cancelledAt = now();
          controller.abort(new Error('the tool contract cancelled the call'));
        },
        disconnect: () => {
          disconnectedAt = now();
          dropped = link.drop();
        },
      };
      wire.begin();
      const sentAt = now();
      const answer = await link.client
        .callTool(
          { name: tool, arguments: { ...plan.args } },
          {
            signal: controller.signal,
            timeout: callTimeoutMs,
            ...(plan.progress === true ? { onprogress: () => {} } : {}),
          },
        )
        .then(
          (result) => ({ at: now(), result: result as Record<string, unknown> }),
          (error: unknown) => ({ at: now(), error }),
        );
      current = undefined;
      for (const timer of timers) clearTimeout(timer);
      const seen = wire.read();
      if (dropped !== undefined) {
        // The next call needs a client: the one that went away is closed for good.
        await dropped;
        await link.reconnect();
        wire = watchWire(link.transport);
      }
      return { sentAt, answer, cancelledAt, disconnectedAt, sessions, submitted, wire: seen };
    },
  };
}

async function toolName(client: Client, wanted: string | undefined): Promise<string> {
  const names = (await client.listTools()).tools.map((tool) => tool.name);
  if (wanted !== undefined) {
    if (names.includes(wanted)) return wanted;
    throw runtimeError(
      'INVALID_REQUEST',
      `Expected \`tool\` to name a tool \`register\` added (${names.join(', ') || 'none'}), got ${JSON.stringify(wanted)}`,
    );
  }
  if (names.length === 1) return names[0] as string;
  throw runtimeError(
    'INVALID_REQUEST',
    `Expected \`register\` to add one tool, or \`tool\` to name the one to check, got ${names.length === 0 ? 'no tools' : names.join(', ')}`,
  );
}
