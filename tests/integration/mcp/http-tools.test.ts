/**
 * The MCP server over Streamable HTTP with the real SDK client, both protocol eras: every tool,
 * progress, errors, concurrency.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { tempDir } from '../../support/temp-dir.js';
import { type Harness, startHarness, structured, text } from './harness.js';

let h: Harness;
let root: string;

beforeAll(async () => {
  root = tempDir('troupe-mcp-');
  await writeFile(join(root, 'a.txt'), 'alpha file');
  await writeFile(join(root, 'b.txt'), 'beta file');
  h = await startHarness({ context: { roots: [root], progressIntervalMs: 200 } });
});
afterAll(async () => {
  await h.close();
});

describe.each(['legacy', 'modern'] as const)('over HTTP (%s era)', (era) => {
  it('lists the six tools with input and output schemas', async () => {
    const client = await h.client(era);
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(
      ['cancel_session', 'chat', 'consensus', 'list_models', 'multi_file_chat', 'sessions'].sort(),
    );
    for (const tool of tools) {
      expect(tool.inputSchema.type).toBe('object');
      expect(tool.outputSchema?.type).toBe('object');
    }
    if (era === 'modern') expect(client.getProtocolEra()).toBe('modern');
  });

  it('chat answers with text, structured content and session metadata, and continues', async () => {
    const client = await h.client(era);
    const first = await client.callTool({
      name: 'chat',
      arguments: { prompt: 'hello troupe', model: 'sim-pro' },
    });
    expect(first.isError).toBeFalsy();
    const s = structured(first);
    expect(s.ok).toBe(true);
    expect(s.content).toContain('hello troupe');
    expect(s.session).toMatchObject({ provider: 'fast', model: 'sim-pro', state: 'done', attempts: 1 });
    expect(text(first)).toContain(s.session.sessionId);
    const second = await client.callTool({
      name: 'chat',
      arguments: { prompt: 'and again', continuation_id: s.continuation_id },
    });
    expect(structured(second).continuation_id).toBe(s.continuation_id);
    expect((await h.mcp.conversations.get(s.continuation_id))?.length).toBe(4);
  });

  it('multi_file_chat reads files under the root and refuses one outside', async () => {
    const client = await h.client(era);
    const ok = await client.callTool({
      name: 'multi_file_chat',
      arguments: { files: ['a.txt', 'b.txt'], prompt: 'compare' },
    });
    expect(structured(ok)).toMatchObject({ ok: true, files: ['a.txt', 'b.txt'], bytes: 19 });
    const outside = await client.callTool({
      name: 'multi_file_chat',
      arguments: { files: ['a.txt', '../../etc/passwd'], prompt: 'x' },
    });
    expect(outside.isError).toBe(true);
    expect(structured(outside).error.code).toBe('INVALID_REQUEST');
    expect(text(outside)).toMatch(/outside/);
  });

  it('consensus returns every answer and a partial result when one model fails', async () => {
    const client = await h.client(era);
    const result = await client.callTool({
      name: 'consensus',
      arguments: {
        prompt: 'which?',
        models: [{ model: 'sim-fast' }, { model: 'sim-pro' }, { provider: 'nope' }],
      },
    });
    const s = structured(result);
    expect(result.isError).toBeFalsy();
    expect(s).toMatchObject({ ok: true, succeeded: 2, failed: 1, partial: true });
    expect(s.answers[2].error.code).toBe('UNKNOWN_PROVIDER');
    expect(s.answers[0].session.state).toBe('done');
  });

  it('consensus where every model stalls mid-answer: an error result that keeps each model’s text, structured and in the text', async () => {
    const client = await h.client(era);
    const result = await client.callTool(
      {
        name: 'consensus',
        arguments: {
          prompt: 'halves only',
          models: [{ model: 'sim-fast' }, { model: 'sim-pro' }],
          timeout_ms: 1000,
          extra: { simulate: 'stall' },
        },
      },
      { onprogress: () => undefined },
    );
    expect(result.isError).toBe(true);
    const s = structured(result);
    expect(s.error.message).toMatch(/^Every model failed\. First: /);
    for (const answer of s.answers) {
      expect(answer.error.code).toBe('TIMED_OUT');
      expect(answer.partial_answer.content).toMatch(/^On "halves only": \S/);
      // Before 2026-12-04 the text of an all-failed consensus was the first error alone.
      expect(text(result)).toContain(answer.partial_answer.content);
    }
  });

  it('list_models, sessions and cancel_session answer', async () => {
    const client = await h.client(era);
    const models = structured(await client.callTool({ name: 'list_models', arguments: {} }));
    expect(models.providers.map((p: { name: string }) => p.name)).toEqual(['fast', 'slow']);
    const chat = structured(await client.callTool({ name: 'chat', arguments: { prompt: 'x' } }));
    const one = structured(
      await client.callTool({ name: 'sessions', arguments: { session_id: chat.session.sessionId } }),
    );
    expect(one.session).toMatchObject({ sessionId: chat.session.sessionId, state: 'done' });
    const all = structured(await client.callTool({ name: 'sessions', arguments: {} }));
    expect(all).toMatchObject({ ok: true, runtime_state: 'accepting' });
    expect(all.recent.length).toBeGreaterThan(0);
    const cancel = structured(
      await client.callTool({ name: 'cancel_session', arguments: { session_id: chat.session.sessionId } }),
    );
    expect(cancel).toMatchObject({ ok: true, cancelled: false });
  });

  it('invalid arguments and unknown models come back as clear error results', async () => {
    const client = await h.client(era);
    const invalid = await client.callTool({ name: 'chat', arguments: { prompt: 'x', priority: 12 } });
    expect(invalid.isError).toBe(true);
    expect(text(invalid)).toMatch(/^INVALID_REQUEST: .*`priority`.*12/);
    // A misspelt argument is refused by name, not dropped (the call would run without its limit).
    const typo = await client.callTool({ name: 'chat', arguments: { prompt: 'x', max_token: 5 } });
    expect(typo.isError).toBe(true);
    expect(text(typo)).toMatch(/^INVALID_REQUEST: .*got unknown `max_token`/);
    expect(text(typo)).toContain('`max_tokens`');
    const listed = await client.listTools();
    const chatTool = listed.tools.find((t) => t.name === 'chat');
    expect(chatTool?.inputSchema.additionalProperties).toBe(false);
    const neither = await client.callTool({ name: 'chat', arguments: {} });
    expect(text(neither)).toMatch(/prompt.*messages/);
    const unknown = await client.callTool({
      name: 'chat',
      arguments: { prompt: 'x', provider: 'fast', model: 'gpt-9' },
    });
    expect(unknown.isError).toBe(true);
    expect(structured(unknown).error.hint).toMatch(/list_models|Fix the arguments/);
    const noSession = await client.callTool({ name: 'cancel_session', arguments: { session_id: 'nope' } });
    expect(structured(noSession).error.code).toBe('UNKNOWN_SESSION');
  });

  it('a streamed chat that times out mid-answer returns the text written so far, in partial_answer and the text', async () => {
    const client = await h.client(era);
    // With a progress token the call streams; the simulated provider writes half its answer, then stalls.
    const result = await client.callTool(
      {
        name: 'chat',
        arguments: {
          prompt: 'half then nothing',
          provider: 'fast',
          timeout_ms: 400,
          extra: { simulate: 'stall' },
        },
      },
      { onprogress: () => undefined },
    );
    expect(result.isError).toBe(true);
    const s = structured(result);
    expect([s.error.code, s.session.state]).toEqual(['TIMED_OUT', 'timedOut']);
    expect(s.partial_answer.content).toMatch(/^On "half then nothing": \S/);
    expect(text(result)).toContain(`not a whole answer):]\n${s.partial_answer.content}`);
    // No conversation is kept for a turn without its answer.
    expect(s.continuation_id).toBeUndefined();
  });

  it('sends progress while a slow call runs', async () => {
    const client = await h.client(era);
    const updates: { progress: number; message?: string }[] = [];
    const result = await client.callTool(
      { name: 'chat', arguments: { prompt: 'slowly', provider: 'slow' } },
      { onprogress: (p) => updates.push(p) },
    );
    expect(structured(result).ok).toBe(true);
    expect(updates.length).toBeGreaterThanOrEqual(3); // state change + heartbeats every 200 ms over 1.5 s
    for (let i = 1; i < updates.length; i++)
      expect(updates[i]!.progress).toBeGreaterThan(updates[i - 1]!.progress);
    expect(updates.some((u) => /running/.test(u.message ?? ''))).toBe(true);
  });
});

it('60 concurrent calls: the fast ones finish while the slow ones still run', async () => {
  // The slow calls hang until the client cancels them, so a fast call that waited behind one
  // would never finish: no wall-clock comparison, whatever the machine's load.
  const client = await h.client('legacy');
  const slowEnded: boolean[] = [];
  const aborts = new AbortController();
  const slow = Array.from({ length: 4 }, (_, i) =>
    client
      .callTool(
        { name: 'chat', arguments: { prompt: `slow ${i}`, provider: 'slow', extra: { simulate: 'hang' } } },
        { signal: aborts.signal },
      )
      .then(
        () => 'answered',
        () => 'aborted',
      )
      .finally(() => slowEnded.push(true)),
  );
  const fast = Array.from({ length: 56 }, (_, i) =>
    client.callTool({ name: 'chat', arguments: { prompt: `call ${i}`, provider: 'fast' } }),
  );
  const results = await Promise.all(fast);
  expect(results.every((r) => structured(r).ok)).toBe(true);
  expect(results).toHaveLength(56);
  expect(slowEnded).toHaveLength(0);
  aborts.abort();
  expect(await Promise.all(slow)).toEqual(['aborted', 'aborted', 'aborted', 'aborted']);
});

describe('a stateless (2026-07-28) server converts each tool schema once per process', () => {
  it('twenty chat calls, each on a new McpServer, convert the chat input schema at most once', async () => {
    // Regression: the SDK converts a tool's input schema for every call it checks Mcp-Param-*
    // headers for, on a server made per request; that was about a sixth of a call's CPU time.
    const { chatTool } = await import('../../../src/mcp/tools/chat.js');
    const jsonSchema = (chatTool.input['~standard'] as unknown as { jsonSchema: { input: () => unknown } })
      .jsonSchema;
    const convert = vi.spyOn(jsonSchema, 'input');
    try {
      const client = await h.client('modern');
      for (let i = 0; i < 20; i++) {
        const result = await client.callTool({ name: 'chat', arguments: { prompt: `call ${i}` } });
        expect(structured(result).ok).toBe(true);
      }
      expect(convert.mock.calls.length).toBeLessThanOrEqual(1);
    } finally {
      convert.mockRestore();
    }
  });
});
