/**
 * A troupe tool as a client meets it (`src/mcp/tool.ts`), called directly: arguments parsed and
 * refused in troupe's words, a run's outcome as the `tools/call` result, the definition `tools/list`
 * shows (annotations, task support, the description with this server's defaults and cap), and a
 * request's call context. No server and no transport: the integration tests run them end to end.
 */
import type { ServerContext } from '@modelcontextprotocol/server';
import { afterEach, describe, expect, it, vi } from 'vitest';
import * as z from 'zod';
import { runtimeError } from '../../../src/core/errors.js';
import { AnswerBudgetSpent } from '../../../src/mcp/answer-budget.js';
import { createMcpContext } from '../../../src/mcp/context.js';
import type { ToolErrorInfo } from '../../../src/mcp/errors.js';
import { TOOLS } from '../../../src/mcp/register.js';
import type { ToolCallContext } from '../../../src/mcp/run-session.js';
import {
  callContext,
  errorOutcome,
  invokeTool,
  parseArgs,
  type ToolOutcome,
  type TroupeTool,
  toCallToolResult,
  toolDefinition,
} from '../../../src/mcp/tool.js';
import { createSimulatedProvider } from '../../../src/providers/simulated.js';
import { createRuntime } from '../../../src/runtime/runtime.js';
import type { Runtime } from '../../../src/runtime/types.js';

const toolNamed = (name: string): TroupeTool => {
  const found = TOOLS.find((t) => t.name === name);
  if (found === undefined) throw new Error(`no tool ${name}`);
  return found;
};
const refusal = (tool: TroupeTool, args: unknown): string => {
  const parsed = parseArgs(tool, args);
  if (parsed.ok) throw new Error('expected a refusal');
  return parsed.outcome.text;
};

/** A tool of the test's own: `parseArgs` and `invokeTool` take any schema. */
function testTool(input: z.ZodType, run?: TroupeTool['run']): TroupeTool {
  return {
    name: 'chat',
    title: 'Test',
    description: 'A test tool.',
    input,
    output: z.object({ ok: z.boolean() }),
    longRunning: false,
    readOnly: true,
    run: run ?? (async () => ({ structured: { ok: true }, text: 'ran' })),
  };
}
const signal = new AbortController().signal;

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});
function context(options: { timeoutMs?: number; priority?: number; maxCallerPriority?: number } = {}) {
  const runtime = createRuntime({
    providers: [createSimulatedProvider({ name: 'sim', latencyMs: { min: 0, max: 0 } })],
    defaults: {
      model: 'sim-fast',
      ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
      ...(options.priority === undefined ? {} : { priority: options.priority }),
    },
  });
  const log: string[] = [];
  const mcp = createMcpContext({
    runtime,
    log: (line) => log.push(line),
    ...(options.maxCallerPriority === undefined ? {} : { maxCallerPriority: options.maxCallerPriority }),
  });
  cleanups.push(async () => {
    mcp.close();
    await runtime.shutdown({ deadlineMs: 0 });
  });
  return { runtime, mcp, log };
}

describe('parseArgs', () => {
  it('gives back the arguments as the schema reads them', () => {
    expect(parseArgs(toolNamed('chat'), { prompt: 'hi', priority: 3 })).toEqual({
      ok: true,
      args: { prompt: 'hi', priority: 3 },
    });
  });

  it('takes no arguments (`undefined` or `null`) as `{}`', () => {
    expect(parseArgs(toolNamed('list_models'), undefined)).toEqual({ ok: true, args: {} });
    expect(parseArgs(toolNamed('list_models'), null)).toEqual({ ok: true, args: {} });
  });

  it('refuses as a tool error naming INVALID_REQUEST, the tool and each problem', () => {
    const parsed = parseArgs(toolNamed('chat'), {});
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed.outcome.structured).toEqual({
      ok: false,
      error: expect.objectContaining({
        code: 'INVALID_REQUEST',
        message: 'Invalid arguments for chat: arguments: Expected `prompt` or `messages`, got neither',
        retryable: false,
      }),
    });
    // A problem of the arguments as a whole says no "got".
    expect(parsed.outcome.text.split('\n')[0]).toBe(
      'INVALID_REQUEST: Invalid arguments for chat: arguments: Expected `prompt` or `messages`, got neither',
    );
  });

  it('follows a refinement’s path into the arguments to say what came there', () => {
    expect(refusal(toolNamed('chat'), { messages: [{ role: 'user', content: null }] })).toContain(
      'Invalid arguments for chat: `messages.0.content`: Expected a string (null only on an assistant message), got `null`\n',
    );
    expect(
      refusal(toolNamed('chat'), { messages: [{ role: 'tool', content: 'x', tool_call_id: '' }] }),
    ).toContain(
      '`messages.0.tool_call_id`: Expected the id of the tool call this tool message answers, got `""` (string)\n',
    );
  });

  it('says "none" where the path leads past what came, even from no arguments at all', () => {
    const input = z
      .object({ a: z.object({ b: z.string().optional() }).optional() })
      .superRefine((args, ctx) => {
        if (args.a?.b === undefined)
          ctx.addIssue({ code: 'custom', path: ['a', 'b'], message: 'Expected `b`' });
      });
    const tool = testTool(input);
    for (const raw of [undefined, null, {}, { a: {} }, { a: { b: undefined } }]) {
      expect(refusal(tool, raw), JSON.stringify(raw)).toContain(
        'Invalid arguments for chat: `a.b`: Expected `b`, got none\n',
      );
    }
  });
});

describe('invokeTool', () => {
  const call: ToolCallContext = { signal };

  it('runs the tool on the parsed arguments', async () => {
    const run = vi.fn(async (args: unknown) => ({ structured: { ok: true, args }, text: 'done' }));
    const { mcp } = context();
    const outcome = await invokeTool(testTool(z.object({ n: z.number() }), run), { n: 1 }, mcp, call);
    expect(outcome).toEqual({ structured: { ok: true, args: { n: 1 } }, text: 'done' });
    expect(run).toHaveBeenCalledWith({ n: 1 }, mcp, call);
  });

  it('does not run a tool whose arguments are refused', async () => {
    const run = vi.fn(async () => ({ structured: { ok: true }, text: 'ran' }));
    const { mcp } = context();
    const outcome = await invokeTool(testTool(z.object({ n: z.number() }), run), { n: 'x' }, mcp, call);
    expect(outcome.structured.ok).toBe(false);
    expect(outcome.structured.error?.code).toBe('INVALID_REQUEST');
    expect(run).not.toHaveBeenCalled();
  });

  it('turns a throw into a tool error and logs it', async () => {
    const { mcp, log } = context();
    const thrown = await invokeTool(
      testTool(z.object({}), async () => {
        throw runtimeError('BACKEND_UNAVAILABLE', 'the backend is down');
      }),
      {},
      mcp,
      call,
    );
    expect(thrown.structured).toEqual({
      ok: false,
      error: expect.objectContaining({ code: 'BACKEND_UNAVAILABLE', message: 'the backend is down' }),
    });
    expect(thrown.text).toMatch(/^BACKEND_UNAVAILABLE: the backend is down\n/);
    const odd = await invokeTool(
      testTool(z.object({}), async () => {
        throw 'a string';
      }),
      {},
      mcp,
      call,
    );
    expect(odd.structured.ok).toBe(false);
    expect(log).toEqual([
      'troupe mcp: tool chat failed: the backend is down',
      'troupe mcp: tool chat failed: a string',
    ]);
  });

  it('lets a spent answer budget through, for a JSON-RPC error', async () => {
    const { mcp, log } = context();
    const spent = new AnswerBudgetSpent(10);
    const tool = testTool(z.object({}), async () => {
      throw spent;
    });
    await expect(invokeTool(tool, {}, mcp, call)).rejects.toBe(spent);
    expect(log).toEqual([]);
  });
});

describe('a tool’s outcome as its `tools/call` result', () => {
  it('carries the text and the structured value; only a failure is an error', () => {
    const ok: ToolOutcome = { structured: { ok: true, content: 'hi' }, text: 'hi' };
    expect(toCallToolResult(ok)).toStrictEqual({
      content: [{ type: 'text', text: 'hi' }],
      structuredContent: { ok: true, content: 'hi' },
    });
    const error: ToolErrorInfo = {
      code: 'QUEUE_FULL',
      message: 'full',
      hint: 'Retry later.',
      retryable: true,
    };
    expect(toCallToolResult(errorOutcome(error, { session: { sessionId: 's' } }))).toStrictEqual({
      content: [{ type: 'text', text: 'QUEUE_FULL: full\nRetry later.' }],
      structuredContent: { ok: false, error, session: { sessionId: 's' } },
      isError: true,
    });
    expect(errorOutcome(error)).toStrictEqual({
      structured: { ok: false, error },
      text: 'QUEUE_FULL: full\nRetry later.',
    });
  });
});

describe('a tool as `tools/list` shows it', () => {
  it('hints that a model-calling tool is open-world and may run as a task, a reading one read-only', () => {
    const shown = Object.fromEntries(
      TOOLS.map((tool) => {
        const { annotations, execution } = toolDefinition(tool);
        return [tool.name, { annotations, execution }];
      }),
    );
    const calls = {
      annotations: { readOnlyHint: false, openWorldHint: true, idempotentHint: false },
      execution: { taskSupport: 'optional' },
    };
    const reads = { annotations: { readOnlyHint: true, openWorldHint: false, idempotentHint: true } };
    expect(shown).toStrictEqual({
      chat: calls,
      // It reads files, and calls a model about them.
      multi_file_chat: {
        annotations: { readOnlyHint: true, openWorldHint: true, idempotentHint: true },
        execution: { taskSupport: 'optional' },
      },
      consensus: calls,
      list_models: { ...reads, execution: undefined },
      sessions: { ...reads, execution: undefined },
      cancel_session: {
        annotations: { readOnlyHint: false, openWorldHint: false, idempotentHint: false },
        execution: undefined,
      },
    });
    expect('execution' in toolDefinition(toolNamed('sessions'))).toBe(false);
  });

  it('names and titles each tool, and without a server describes it as written', () => {
    for (const tool of TOOLS) {
      const shown = toolDefinition(tool);
      expect([shown.name, shown.title, shown.description]).toEqual([tool.name, tool.title, tool.description]);
      expect(shown.inputSchema.type).toBe('object');
      expect(shown.outputSchema.type).toBe('object');
    }
  });

  it('converts each schema once, and hands out a frozen copy no consumer can change', () => {
    // A schema of this test's own: converted here, whichever test ran first.
    const tool = testTool(
      z.object({ limits: z.object({ most: z.number().max(9) }), tags: z.array(z.string()) }),
    );
    const first = toolDefinition(tool);
    const again = toolDefinition(tool);
    expect(again.inputSchema).toBe(first.inputSchema);
    expect(again.outputSchema).toBe(first.outputSchema);
    const properties = first.inputSchema.properties as Record<string, { properties: Record<string, object> }>;
    const most = properties.limits?.properties.most as Record<string, unknown>;
    expect(() => {
      most.maximum = 99;
    }).toThrow(TypeError);
    expect(() => {
      (first.outputSchema as Record<string, unknown>).type = 'string';
    }).toThrow(TypeError);
    const required = first.inputSchema.required as string[];
    expect(() => required.push('extra')).toThrow(TypeError);
    expect(toolDefinition(tool).inputSchema.properties?.limits).toMatchObject({
      properties: { most: { type: 'number', maximum: 9 } },
    });
    expect(required).toEqual(['limits', 'tags']);
  });

  it('converts a schema used both ways once for each way: a defaulted field is optional in, always there out', () => {
    const both = z.object({ prompt: z.string(), priority: z.number().default(5) });
    const shown = toolDefinition({ ...testTool(both), output: both });
    expect(shown.inputSchema.required).toEqual(['prompt']);
    expect(shown.outputSchema.required).toEqual(['prompt', 'priority']);
  });

  it('states this server’s run deadline and priority for a call that gives none', () => {
    const { mcp } = context({ timeoutMs: 300_000, priority: 2 });
    for (const name of ['chat', 'multi_file_chat', 'consensus']) {
      const { description } = toolDefinition(toolNamed(name), mcp);
      expect(description, name).toMatch(
        / On this server a call that gives no `timeout_ms` has 300000 ms to run, and one that gives no `priority` runs at 2\.$/,
      );
    }
    // Tools that take neither say nothing of them.
    for (const name of ['list_models', 'sessions', 'cancel_session']) {
      expect(toolDefinition(toolNamed(name), mcp).description, name).toBe(toolNamed(name).description);
    }
  });

  it('says only what a tool takes: a deadline without a priority is no call’s default to state', () => {
    const { mcp } = context({ maxCallerPriority: 4 });
    const onlyTimeout = testTool(z.object({ timeout_ms: z.number().optional() }));
    expect(toolDefinition(onlyTimeout, mcp).description).toBe('A test tool.');
    const onlyPriority = testTool(z.object({ priority: z.number().optional() }));
    expect(toolDefinition(onlyPriority, mcp).description).toBe(
      'A test tool. On this server `priority` is at most 4 (calls with an admin token excepted); a higher one is refused.',
    );
  });

  it('states a cap below 9 on `priority`, where the tool takes one', () => {
    const capped = context({ maxCallerPriority: 8, timeoutMs: 60_000, priority: 5 }).mcp;
    expect(toolDefinition(toolNamed('chat'), capped).description).toBe(
      `${toolNamed('chat').description} On this server a call that gives no \`timeout_ms\` has 60000 ms to run, and one that gives no \`priority\` runs at 5. On this server \`priority\` is at most 8 (calls with an admin token excepted); a higher one is refused.`,
    );
    expect(toolDefinition(toolNamed('sessions'), capped).description).toBe(toolNamed('sessions').description);
    const open = context({ maxCallerPriority: 9 }).mcp;
    expect(toolDefinition(toolNamed('chat'), open).description).not.toMatch(/is at most/);
  });

  it('describes a tool for the server it is listed on, when its description depends on it', () => {
    const { mcp } = context();
    const tool: TroupeTool = { ...testTool(z.object({})), describe: (on) => `Says ${on.version}.` };
    expect(toolDefinition(tool, mcp).description).toBe(`Says ${mcp.version}.`);
    expect(toolDefinition(tool).description).toBe('A test tool.');
  });

  it('reads a runtime’s defaults once, though a stateless server lists its tools on every request', () => {
    const { runtime, mcp } = context();
    const status = vi.spyOn(runtime as Runtime, 'status');
    toolDefinition(toolNamed('chat'), mcp);
    toolDefinition(toolNamed('consensus'), mcp);
    expect(status).toHaveBeenCalledTimes(1);
  });
});

describe('callContext: the tool’s view of a request', () => {
  function request(over: { meta?: object; http?: object; sessionId?: string } = {}) {
    const sent: unknown[] = [];
    const logged: unknown[] = [];
    const controller = new AbortController();
    const ctx = {
      ...(over.sessionId === undefined ? {} : { sessionId: over.sessionId }),
      ...(over.http === undefined ? {} : { http: over.http }),
      mcpReq: {
        id: 7,
        signal: controller.signal,
        ...(over.meta === undefined ? {} : { _meta: over.meta }),
        notify: async (notification: unknown) => {
          sent.push(notification);
        },
        log: async (...args: unknown[]) => {
          logged.push(args);
          throw new Error('the client is gone');
        },
      },
    } as unknown as ServerContext;
    return { ctx, sent, logged, signal: controller.signal };
  }

  it('takes the request’s signal and id, and the local caller, and nothing it was not given', () => {
    const { ctx, signal: requestSignal } = request();
    const call = callContext(ctx);
    expect(call.signal).toBe(requestSignal);
    expect(call.requestId).toBe('7');
    expect(call.caller).toEqual({ key: 'local', admin: false });
    expect(Object.keys(call).sort()).toEqual(['caller', 'log', 'requestId', 'signal']);
  });

  it('takes the signal it is given in place of the request’s (a task’s, a tracked call’s)', () => {
    const own = new AbortController().signal;
    expect(callContext(request().ctx, own).signal).toBe(own);
  });

  it('sends progress to the client only when it asked for it, with its token', async () => {
    const { ctx, sent } = request({ meta: { progressToken: 'tok' } });
    const call = callContext(ctx);
    await call.progress?.(3, '3 chars');
    expect(sent).toEqual([
      { method: 'notifications/progress', params: { progressToken: 'tok', progress: 3, message: '3 chars' } },
    ]);
    expect(callContext(request({ meta: {} }).ctx).progress).toBeUndefined();
  });

  it('logs to the client as `troupe`, and a client gone is no failure of the call', async () => {
    const { ctx, logged } = request();
    callContext(ctx).log?.('warning', { retry: 1 });
    expect(logged).toEqual([['warning', { retry: 1 }, 'troupe']]);
    // The rejection is caught: an unhandled one would fail this test run.
    await new Promise((resolve) => setImmediate(resolve));
  });

  it('keeps the HTTP request a call came in, and the caller its session names', () => {
    const req = { headers: {} };
    const call = callContext(request({ http: { req }, sessionId: 'abc' }).ctx);
    expect(call.httpRequest).toBe(req);
    expect(call.caller).toEqual({ key: 'mcp:abc', admin: false });
    expect('httpRequest' in callContext(request({ http: {} }).ctx)).toBe(false);
  });
});
