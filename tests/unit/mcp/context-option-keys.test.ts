/**
 * `createMcpContext`, and so `registerTools`, refuses an option or bound it does not take, naming
 * it. Before, from JavaScript a misspelt bound kept its default, silently: `files: { maxFileByte:
 * 1024 }` left multi_file_chat reading 256 KiB a file, `tasks: { maxTask: 5 }` kept 1000 tasks,
 * `conversations: { maxMessage: 3 }` kept 40 messages, and `createMcpContext({ progresIntervalMs })`
 * kept the 5 s heartbeat.
 */
import { McpServer } from '@modelcontextprotocol/server';
import { afterAll, describe, expect, it } from 'vitest';
import { createMcpContext, type McpContextOptions } from '../../../src/mcp/context.js';
import { type RegisterToolsOptions, registerTools } from '../../../src/mcp/register.js';
import { createRuntime } from '../../../src/runtime/runtime.js';

const runtime = createRuntime({ providers: [] });
afterAll(() => runtime.shutdown({ deadlineMs: 0 }));

const refused = (where: string, field: string) =>
  expect.objectContaining({
    code: 'INVALID_REQUEST',
    message: expect.stringContaining(`in \`${where}\`, got \`${field}\``),
  });

describe('createMcpContext and registerTools refuse what they do not take', () => {
  it.each([
    [{ files: { maxFileByte: 1024 } }, 'files', 'maxFileByte'],
    [{ tasks: { maxTask: 5 } }, 'tasks', 'maxTask'],
    [{ conversations: { maxMessage: 3 } }, 'conversations', 'maxMessage'],
  ])('registerTools %j', (options, where, field) => {
    const server = new McpServer({ name: 'mine', version: '1' });
    expect(() => registerTools(server, runtime, options as unknown as RegisterToolsOptions)).toThrow(
      refused(where, field),
    );
  });

  it('refuses `roots` or `tools` given as a bare string', () => {
    const server = new McpServer({ name: 'mine', version: '1' });
    expect(() =>
      registerTools(server, runtime, { roots: '/srv/docs' } as unknown as RegisterToolsOptions),
    ).toThrow(
      expect.objectContaining({
        code: 'INVALID_REQUEST',
        message: 'Expected `roots` to be an array of folder paths, got "/srv/docs"',
      }),
    );
    expect(() =>
      registerTools(server, runtime, { tools: 'chat' } as unknown as RegisterToolsOptions),
    ).toThrow(
      expect.objectContaining({
        code: 'INVALID_REQUEST',
        message: expect.stringContaining('Expected `tools` to be an array of tool names'),
      }),
    );
  });

  it('createMcpContext, at the top level', () => {
    expect(() =>
      createMcpContext({ runtime, progresIntervalMs: 50 } as unknown as McpContextOptions),
    ).toThrow(refused('createMcpContext options', 'progresIntervalMs'));
  });

  it('createMcpContext without its runtime names it, instead of failing on `subscribe` of undefined', () => {
    const cases: [unknown, string][] = [
      [{ tasks: {} }, 'got none'],
      [undefined, 'got none'],
      [{ runtime: null }, 'got null'],
      [{ runtime: {} }, 'got an object without run()'],
      [{ runtime: { run() {}, submit() {} } }, 'got an object without subscribe()'],
      [{ runtime: 'rt' }, 'got a string'],
    ];
    for (const [options, got] of cases) {
      expect(() => createMcpContext(options as McpContextOptions)).toThrow(
        expect.objectContaining({
          code: 'INVALID_REQUEST',
          message: expect.stringMatching(
            new RegExp(
              `^Expected \`runtime\` in \`createMcpContext options\`.*, ${got.replace(/[()]/g, '\\$&')}$`,
            ),
          ),
        }),
      );
    }
  });

  it('takes the documented bounds, and registerTools its own options beside them', () => {
    const context = createMcpContext({
      runtime,
      files: { maxFileBytes: 1024, maxTotalBytes: 4096, maxFiles: 2 },
      tasks: { maxTasks: 8, maxTasksPerOwner: 2, defaultTtlMs: 1000, pollIntervalMs: 500 },
      conversations: { maxMessages: 3, maxBytes: 1000, ttlMs: 1000 },
      log: () => {},
    });
    expect(context.files).toEqual({ maxFileBytes: 1024, maxTotalBytes: 4096, maxFiles: 2 });
    context.close();
    const server = new McpServer({ name: 'mine', version: '1' });
    const tools = registerTools(server, runtime, {
      tools: ['chat'],
      prefix: 'x_',
      files: { maxFileBytes: 1024 },
      log: () => {},
    });
    expect(tools.context.files.maxFileBytes).toBe(1024);
    tools.close();
  });
});
