/**
 * What a host's model reads of each tool's arguments in `tools/list`: every argument is described,
 * an option the model-calling tools share reads the same in each, and a bound a description states
 * is the schema's own. Until 2026-12-07 `consensus` described none of its `priority`, `timeout_ms`,
 * `temperature`, `max_tokens`, `thinking` or `system`, `multi_file_chat` neither its `system` nor
 * `continuation_id`, and `cancel_session` not its `reason`.
 */
import { describe, expect, it } from 'vitest';
import { TOOLS } from '../../../src/mcp/register.js';
import { toolDefinition } from '../../../src/mcp/tool.js';

type Property = {
  description?: string;
  minimum?: number;
  maximum?: number;
  maxLength?: number;
  items?: { properties?: Record<string, Property> };
};
const propertiesOf = (name: string): Record<string, Property> => {
  const tool = TOOLS.find((t) => t.name === name);
  if (tool === undefined) throw new Error(`no tool ${name}`);
  return (toolDefinition(tool).inputSchema.properties ?? {}) as Record<string, Property>;
};

describe('tools/list: the tools’ arguments', () => {
  it('describes every argument of every tool, and each model of `consensus`', () => {
    const bare = TOOLS.flatMap((tool) =>
      Object.entries(propertiesOf(tool.name))
        .filter(([, p]) => (p.description ?? '').trim() === '')
        .map(([key]) => `${tool.name}.${key}`),
    );
    const models = propertiesOf('consensus').models?.items?.properties ?? {};
    for (const [key, p] of Object.entries(models)) if (!p.description) bare.push(`consensus.models.${key}`);
    expect(bare).toEqual([]);
  });

  it('describes an option the model-calling tools share the same in each', () => {
    const chat = propertiesOf('chat');
    const shared = ['temperature', 'max_tokens', 'thinking', 'priority', 'timeout_ms', 'extra', 'system'];
    for (const [name, keys] of [
      ['multi_file_chat', ['provider', 'model', ...shared]],
      ['consensus', shared],
    ] as const) {
      const theirs = propertiesOf(name);
      for (const key of keys) expect(theirs[key]?.description, `${name}.${key}`).toBe(chat[key]?.description);
    }
    const models = propertiesOf('consensus').models?.items?.properties ?? {};
    expect(models.provider?.description).toBe(chat.provider?.description);
    expect(models.model?.description).toBe(chat.model?.description);
  });

  it('states the bounds the schema holds it to', () => {
    for (const name of ['chat', 'multi_file_chat', 'consensus']) {
      const p = propertiesOf(name);
      const timeout = /at most (\d+)/.exec(p.timeout_ms?.description ?? '');
      expect(Number(timeout?.[1]), `${name}.timeout_ms`).toBe(p.timeout_ms?.maximum);
      const priority = /(\d+) \(lowest\) to (\d+) \(highest\)/.exec(p.priority?.description ?? '');
      expect([Number(priority?.[1]), Number(priority?.[2])]).toEqual([
        p.priority?.minimum,
        p.priority?.maximum,
      ]);
      const temperature = /(\d+) to (\d+)/.exec(p.temperature?.description ?? '');
      expect([Number(temperature?.[1]), Number(temperature?.[2])]).toEqual([
        p.temperature?.minimum,
        p.temperature?.maximum,
      ]);
    }
    const reason = propertiesOf('cancel_session').reason;
    expect(Number(/at most (\d+) characters/.exec(reason?.description ?? '')?.[1])).toBe(reason?.maxLength);
  });

  it('bounds a `continuation_id` at 256 characters, as names are (any length was echoed in its error)', () => {
    for (const tool of ['chat', 'multi_file_chat'])
      expect(propertiesOf(tool).continuation_id?.maxLength, tool).toBe(256);
  });
});
