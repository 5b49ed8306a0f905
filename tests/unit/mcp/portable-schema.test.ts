/**
 * Tool schemas pass a strict schema-portability check: no `type` arrays and no schema node (a
 * property, `items` or `additionalProperties`) without a validation keyword. These are the two
 * findings issue 18 reports from the MCP Inspector's strict mode (29 across the six tools before
 * this change); the rules are implemented here because the check could not be run from a package.
 */
import { describe, expect, it } from 'vitest';
import { portableSchema, VALIDATION_KEYWORDS } from '../../../src/mcp/portable-schema.js';
import { TOOLS } from '../../../src/mcp/register.js';
import { toolDefinition } from '../../../src/mcp/tool.js';

type Json = Record<string, unknown>;

/** The findings, as `path: problem`; an empty list passes. */
function portabilityFindings(node: unknown, path: string, out: string[] = []): string[] {
  if (node === null || typeof node !== 'object' || Array.isArray(node)) return out;
  const schema = node as Json;
  if (Array.isArray(schema.type)) out.push(`${path}: type array ${JSON.stringify(schema.type)}`);
  const check = (child: unknown, childPath: string) => {
    if (
      child !== null &&
      typeof child === 'object' &&
      !VALIDATION_KEYWORDS.some((k) => k in (child as Json))
    ) {
      out.push(`${childPath}: no validation keyword`);
    }
    portabilityFindings(child, childPath, out);
  };
  for (const [name, prop] of Object.entries((schema.properties ?? {}) as Json))
    check(prop, `${path}.${name}`);
  for (const key of ['items', 'additionalProperties'])
    if (key in schema) check(schema[key], `${path}.${key}`);
  for (const key of ['anyOf', 'oneOf', 'allOf']) {
    for (const [i, sub] of ((schema[key] ?? []) as unknown[]).entries()) check(sub, `${path}.${key}[${i}]`);
  }
  return out;
}

describe('tool schemas', () => {
  it.each(TOOLS.map((tool) => [tool.name, tool] as const))('%s has no portability findings', (name, tool) => {
    const definition = toolDefinition(tool);
    expect(portabilityFindings(definition.inputSchema, `${name}.input`)).toEqual([]);
    expect(portabilityFindings(definition.outputSchema, `${name}.output`)).toEqual([]);
  });

  // 29 findings when issue 18 was filed, as the Inspector reported; the count grows with the schemas
  // (finish reasons, web-search results), so the test asks for both kinds rather than a number.
  it('the check finds both kinds of finding in what zod emits before the rewrite', () => {
    const raw = TOOLS.flatMap((tool) => [
      ...portabilityFindings(
        tool.input['~standard'].jsonSchema.input({ target: 'draft-2020-12' }),
        tool.name,
      ),
      ...portabilityFindings(
        tool.output['~standard'].jsonSchema.output({ target: 'draft-2020-12' }),
        tool.name,
      ),
    ]);
    expect(raw.filter((f) => f.includes(': type array')).length).toBeGreaterThan(0);
    expect(raw.filter((f) => f.includes(': no validation keyword')).length).toBeGreaterThan(0);
  });
});

describe('portableSchema', () => {
  it('turns a type array into anyOf of single types, keeping the other keywords', () => {
    expect(
      portableSchema({ type: 'object', properties: { a: { type: ['string', 'null'], description: 'd' } } }),
    ).toEqual({
      type: 'object',
      properties: { a: { description: 'd', anyOf: [{ type: 'string' }, { type: 'null' }] } },
    });
  });

  it('gives an unconstrained property every JSON type, and open additionalProperties `true`', () => {
    const out = portableSchema({
      type: 'object',
      properties: { any: { description: 'x' }, map: { type: 'object', additionalProperties: {} } },
      additionalProperties: {},
    }) as Json;
    expect((out.properties as Json).any).toEqual({
      description: 'x',
      anyOf: ['string', 'number', 'boolean', 'object', 'array', 'null'].map((type) => ({ type })),
    });
    expect(((out.properties as Json).map as Json).additionalProperties).toBe(true);
    expect(out.additionalProperties).toBe(true);
  });

  it('rewrites inside items and anyOf, and leaves constrained schemas alone', () => {
    const constrained = { type: 'array', items: { type: 'string', minLength: 1 } };
    expect(portableSchema(constrained)).toEqual(constrained);
    expect(portableSchema({ type: 'array', items: { anyOf: [{ type: ['number', 'null'] }] } })).toEqual({
      type: 'array',
      items: { anyOf: [{ anyOf: [{ type: 'number' }, { type: 'null' }] }] },
    });
  });
});
