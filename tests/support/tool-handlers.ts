/**
 * A `withSession` tool as users write one, correct and with planted bugs, for the tool contract's
 * tests: `lookup` waits on a slow vendor (the local OpenAI-compatible server, a 150 ms answer) or
 * a timer, reporting progress, and answers `{ word, letters }`.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import {
  type CallToolResult,
  type McpServer,
  SdkError,
  SdkErrorCode,
  type ServerContext,
} from '@modelcontextprotocol/server';
import * as z from 'zod';
import { type ToolSession, withSession } from '../../src/mcp/with-session.js';
import type { Runtime } from '../../src/runtime/types.js';

export type ToolBug =
  | 'ignores-signal'
  | 'abort-as-success'
  | 'retry-swallows-signal'
  | 'not-a-session'
  | 'strict-output-schema'
  | 'rewrites-errors'
  | 'own-progress-counter'
  | 'ignores-disconnect'
  | 'no-progress'
  | 'never-settles'
  | 'model-call-outlives-call'
  | 'heartbeat-outlives-abort';

export interface LookupOptions {
  /** The vendor's URL (`createOpenAIServer().baseURL`); without it the handler waits on a timer. */
  readonly vendor?: string;
  readonly bug?: ToolBug;
  /**
   * Asks the vendor through the runtime, a model call of its own (`session.submit`), in place of
   * `fetch`: the suite's `runtime` option must then hold a provider pointed at the vendor.
   */
  readonly viaRuntime?: boolean;
}

const inputSchema = z.object({ word: z.string(), delay_ms: z.number().int().min(0).default(150) });
type Args = z.infer<typeof inputSchema>;

/** The vendor call, with the signal: a chat completion the server answers after `delay_ms`. */
async function askVendor(
  vendor: string | undefined,
  args: Args,
  signal: AbortSignal | undefined,
): Promise<string> {
  if (vendor === undefined) {
    await sleep(args.delay_ms, undefined, { signal });
    return `${args.word}: ${args.word.length} letters`;
  }
  const response = await fetch(`${vendor}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer sk-tool-test' },
    body: JSON.stringify({
      model: `fault:ok:latency=${args.delay_ms}`,
      messages: [{ role: 'user', content: `spell ${args.word}` }],
    }),
    signal,
  });
  const body = (await response.json()) as { choices: { message: { content: string } }[] };
  return body.choices[0]?.message.content ?? '';
}

const answer = (args: Args, text: string): CallToolResult => ({
  content: [{ type: 'text', text }],
  structuredContent: { word: args.word, letters: args.word.length },
});

/** The model call a tool makes through troupe, as docs/embedding.md shows it. */
async function askModel(session: ToolSession, args: Args): Promise<string> {
  const answer = await session.submit(modelRequest(args)).result;
  if (!answer.ok && session.signal.aborted) throw session.signal.reason;
  if (!answer.ok) throw new Error(answer.error.message);
  return answer.content;
}

const modelRequest = (args: Args) => ({
  model: `fault:ok:latency=${args.delay_ms}`,
  messages: [{ role: 'user' as const, content: `spell ${args.word}` }],
});

function handlerFor(options: LookupOptions, runtime: Runtime) {
  return async (args: Args, session: ToolSession): Promise<CallToolResult> => {
    const { signal } = session;
    switch (options.bug) {
      case 'model-call-outlives-call': {
        // Races its model call against the signal and rejects at once, but submitted it on the
        // runtime without the signal: the model call runs on, and is paid for, after the call ended.
        const handle = runtime.submit(modelRequest(args));
        const aborted = new Promise<never>((_, reject) => {
          signal.addEventListener('abort', () => reject(signal.reason), { once: true });
        });
        const result = await Promise.race([handle.result, aborted]);
        return answer(args, result.ok ? result.content : '(no answer)');
      }
      case 'ignores-signal':
        // Sleeps, then calls the vendor, with no signal anywhere.
        await sleep(args.delay_ms);
        return answer(args, await askVendor(options.vendor, { ...args, delay_ms: 0 }, undefined));
      case 'abort-as-success':
        try {
          return answer(args, await askVendor(options.vendor, args, signal));
        } catch {
          return answer(args, '(no answer in time)');
        }
      case 'retry-swallows-signal':
        // Backs off on every error, the abort included, with a plain timer.
        for (let attempt = 1; ; attempt++) {
          try {
            return answer(args, await askVendor(options.vendor, args, signal));
          } catch (error) {
            if (attempt === 5) throw error;
            await sleep(80);
          }
        }
      case 'ignores-disconnect':
        try {
          session.progress(0, 2, `looking up ${args.word}`);
          return answer(args, await askVendor(options.vendor, args, signal));
        } catch (error) {
          // Its request ended because the client went away: it finishes the lookup anyway, for a
          // cache that client may come back to. Cancellations and deadlines it honours.
          const reason: unknown = session.ctx.mcpReq.signal.reason;
          if (!(reason instanceof SdkError && reason.code === SdkErrorCode.ConnectionClosed)) throw error;
          return answer(args, await askVendor(options.vendor, args, undefined));
        }
      case 'never-settles':
        // Waits on something that never comes (a queue's reply, a lock), without the signal.
        session.progress(0, 2, `looking up ${args.word}`);
        await new Promise<never>(() => {});
        return answer(args, '(unreachable)');
      case 'heartbeat-outlives-abort': {
        // A heartbeat while it waits, cleared only once the answer came: an abort (the vendor call
        // rejects) leaves it reporting for a call that ended. Stopped after 40 beats here, and
        // unref'd, so the planted bug does not outlive the test file.
        session.progress(0, undefined, `looking up ${args.word}`);
        let beats = 0;
        const heartbeat = setInterval(() => {
          beats += 1;
          session.progress(beats, undefined, 'still looking');
          if (beats >= 40) clearInterval(heartbeat);
        }, 30);
        heartbeat.unref();
        const text = await askVendor(options.vendor, args, signal);
        clearInterval(heartbeat);
        return answer(args, text);
      }
      case 'no-progress':
        // Correct in every other way, but the client that asked for progress gets only troupe's own.
        return answer(args, await askVendor(options.vendor, args, signal));
      case 'own-progress-counter': {
        // Its own notifications, counting from 1, beside the ones troupe sends.
        const token = session.ctx.mcpReq._meta?.progressToken;
        session.progress(0, 2, `looking up ${args.word}`);
        if (token !== undefined)
          await session.ctx.mcpReq.notify({
            method: 'notifications/progress',
            params: { progressToken: token, progress: 1, total: 2, message: 'asking the vendor' },
          });
        const text = await askVendor(options.vendor, args, signal);
        session.progress(2, 2, 'found');
        return answer(args, text);
      }
      default: {
        session.progress(0, 2, `looking up ${args.word}`);
        const text =
          options.viaRuntime === true
            ? await askModel(session, args)
            : await askVendor(options.vendor, args, signal);
        session.progress(2, 2, 'found');
        return answer(args, text);
      }
    }
  };
}

/** `register` for `checkToolContract`: `lookup` as a user's server registers it. */
export function registerLookup(options: LookupOptions = {}) {
  return (server: McpServer, runtime: Runtime): void => {
    const handler = handlerFor(options, runtime);
    const wrapped = withSession(runtime, handler, { lane: 'lookups', timeoutMs: 5_000 });
    if (options.bug === 'not-a-session') {
      // The handler called directly, with the SDK's signal: no session, no deadline, no metadata.
      server.registerTool('lookup', { inputSchema }, (args, ctx: ServerContext) =>
        handler(args, {
          signal: ctx.mcpReq.signal,
          sessionId: '',
          attempt: 1,
          progress: () => {},
          ctx,
          submit: (request, submitOptions) => runtime.submit(request, submitOptions),
        }),
      );
      return;
    }
    if (options.bug === 'strict-output-schema') {
      const outputSchema = z.object({ word: z.string(), letters: z.number() }).strict();
      server.registerTool('lookup', { inputSchema, outputSchema }, wrapped);
      return;
    }
    if (options.bug === 'rewrites-errors') {
      // Its own error text in place of troupe's, dropping the code and the session.
      server.registerTool('lookup', { inputSchema }, async (args, ctx) => {
        const result = await wrapped(args, ctx);
        return result.isError === true
          ? { content: [{ type: 'text', text: 'lookup failed' }], isError: true }
          : result;
      });
      return;
    }
    server.registerTool('lookup', { inputSchema }, wrapped);
  };
}
