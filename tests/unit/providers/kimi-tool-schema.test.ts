/**
 * Moonshot's tool-schema rule (`kimi-tool-schema.ts`): a property schema without `type` gets one
 * inferred from its values or keywords; the root, combinator and `$ref` nodes are left alone; the
 * caller's object is never changed; cyclic, shared and deep objects end. Then the rule in
 * `kimiPrepare`: function tools only, one note, `tools` replaced only when something was filled.
 */
import { describe, expect, it } from 'vitest';
import { kimiPrepare } from '../../../src/providers/kimi-rules.js';
import {
  fillMissingTypes,
  inferType,
  KIMI_SCHEMA_MAX_DEPTH,
  typeOfValues,
} from '../../../src/providers/kimi-tool-schema.js';
import type { ChatRequest, ToolDefinition } from '../../../src/providers/port.js';

type Schema = Record<string, unknown>;

/** The type a property gets at the root's `properties.p`. */
function typeOf(property: Schema): unknown {
  const { schema } = fillMissingTypes({ type: 'object', properties: { p: property } });
  return (schema.properties as Record<string, Schema>).p?.type;
}

describe('the type a property without one gets', () => {
  it.each([
    ['enum strings', { enum: ['smart', 'full'] }, 'string'],
    ['enum integers', { enum: [1, 2, 3] }, 'integer'],
    ['enum integers and floats', { enum: [1, 2.5] }, 'number'],
    ['enum floats', { enum: [0.5, 2.5] }, 'number'],
    ['enum booleans', { enum: [true, false] }, 'boolean'],
    ['enum null alone', { enum: [null] }, 'null'],
    ['enum mixed strings and numbers', { enum: ['a', 1] }, 'string'],
    ['enum mixed booleans and integers', { enum: [true, 1] }, 'string'],
    ['enum objects', { enum: [{ a: 1 }] }, 'object'],
    ['enum arrays', { enum: [[1], [2]] }, 'array'],
    ['const string', { const: 'x' }, 'string'],
    ['const integer', { const: 7 }, 'integer'],
    ['const float', { const: 0.5 }, 'number'],
    ['const null', { const: null }, 'null'],
    ['object keywords', { required: ['a'] }, 'object'],
    ['properties', { properties: { a: { type: 'string' } } }, 'object'],
    ['additionalProperties', { additionalProperties: false }, 'object'],
    ['array keywords', { minItems: 1 }, 'array'],
    ['items', { items: { type: 'string' } }, 'array'],
    ['string keywords', { pattern: '^a' }, 'string'],
    ['format', { format: 'uri' }, 'string'],
    ['minLength', { minLength: 2 }, 'string'],
    ['numeric keywords', { minimum: 0 }, 'number'],
    ['maximum', { maximum: 9 }, 'number'],
    ['multipleOf', { multipleOf: 2 }, 'number'],
    ['nothing to go on', { description: 'free text' }, 'string'],
    ['an empty enum (nothing to go on)', { enum: [] }, 'string'],
    // The values win over the keywords: an enum of integers with `minLength` is still integers.
    ['enum before keywords', { enum: [1, 2], minLength: 1 }, 'integer'],
  ])('%s', (_name, property, expected) => {
    expect(typeOf(property)).toBe(expected);
  });

  it('is taken from values that are not JSON as from mixed ones', () => {
    expect(typeOfValues([undefined])).toBe('string');
    expect(typeOfValues([1n])).toBe('string');
    expect(inferType({ const: undefined })).toBe('string');
  });
});

describe('fillMissingTypes', () => {
  it('names each filled property by its path and keeps typed ones as they are', () => {
    const schema = {
      type: 'object',
      properties: { mode: { enum: ['smart', 'full'] }, n: { type: 'integer' } },
      required: ['mode'],
    };
    const fill = fillMissingTypes(schema);
    expect(fill.filled).toEqual([{ path: 'properties.mode', type: 'string' }]);
    expect(fill.schema).toEqual({
      type: 'object',
      properties: { mode: { enum: ['smart', 'full'], type: 'string' }, n: { type: 'integer' } },
      required: ['mode'],
    });
  });

  it('walks nested properties, items (one or a list) and additionalProperties', () => {
    const fill = fillMissingTypes({
      type: 'object',
      properties: {
        outer: { properties: { inner: { enum: [1, 2] } } },
        list: { type: 'array', items: { const: true } },
        tuple: { type: 'array', items: [{ type: 'string' }, { minimum: 0 }] },
        map: { type: 'object', additionalProperties: { format: 'date' } },
      },
    });
    expect(fill.filled).toEqual([
      { path: 'properties.outer', type: 'object' },
      { path: 'properties.outer.properties.inner', type: 'integer' },
      { path: 'properties.list.items', type: 'boolean' },
      { path: 'properties.tuple.items.1', type: 'number' },
      { path: 'properties.map.additionalProperties', type: 'string' },
    ]);
    const props = fill.schema.properties as Record<string, Schema>;
    expect(props.outer).toEqual({ type: 'object', properties: { inner: { enum: [1, 2], type: 'integer' } } });
    expect(props.list?.items).toEqual({ const: true, type: 'boolean' });
    expect(props.tuple?.items).toEqual([{ type: 'string' }, { minimum: 0, type: 'number' }]);
    expect(props.map?.additionalProperties).toEqual({ format: 'date', type: 'string' });
  });

  it('types the branches of anyOf, oneOf and allOf but not the combinator node itself', () => {
    const fill = fillMissingTypes({
      type: 'object',
      properties: {
        a: { anyOf: [{ enum: ['x'] }, { type: 'null' }] },
        o: { oneOf: [{ minimum: 1 }, { const: 'none' }] },
        all: { allOf: [{ required: ['k'] }] },
      },
    });
    expect(fill.filled).toEqual([
      { path: 'properties.a.anyOf.0', type: 'string' },
      { path: 'properties.o.oneOf.0', type: 'number' },
      { path: 'properties.o.oneOf.1', type: 'string' },
      { path: 'properties.all.allOf.0', type: 'object' },
    ]);
    const props = fill.schema.properties as Record<string, Schema>;
    expect(props.a).toEqual({ anyOf: [{ enum: ['x'], type: 'string' }, { type: 'null' }] });
    expect(props.a).not.toHaveProperty('type');
    expect(props.o).not.toHaveProperty('type');
    expect(props.all).not.toHaveProperty('type');
  });

  it.each([
    ['$ref', { $ref: '#/$defs/Mode' }],
    ['not', { not: { const: 1 } }],
    // Parsed, as a schema arrives: an object literal with `then` reads as a promise to the linter.
    ['if/then/else', JSON.parse('{"if":{"minimum":0},"then":{"maximum":9},"else":{"const":0}}') as Schema],
  ])('leaves a %s node without a type', (_name, property) => {
    const schema = { type: 'object', properties: { p: property } };
    const fill = fillMissingTypes(schema);
    expect(fill.filled).toEqual([]);
    expect(fill.schema).toBe(schema);
  });

  it('leaves the root as it is, typed or not', () => {
    const root = { properties: { a: { type: 'string' } }, required: ['a'] };
    expect(fillMissingTypes(root).schema).toBe(root);
    expect(fillMissingTypes({ enum: ['x'] }).schema).toEqual({ enum: ['x'] });
    const typeless = fillMissingTypes({ properties: { a: { enum: ['x'] } } });
    expect(typeless.schema).not.toHaveProperty('type');
    expect(typeless.filled).toEqual([{ path: 'properties.a', type: 'string' }]);
  });

  it('never changes the caller’s object, and shares what did not change', () => {
    const untouched = { type: 'string' };
    const schema = {
      type: 'object',
      properties: {
        mode: { enum: ['smart'] },
        nested: { type: 'object', properties: { m: { const: 1 } } },
        untouched,
      },
    };
    const before = structuredClone(schema);
    const fill = fillMissingTypes(schema);
    expect(schema).toEqual(before);
    expect(fill.schema).not.toBe(schema);
    const props = fill.schema.properties as Record<string, Schema>;
    expect(props.untouched).toBe(untouched);
    expect(props.nested).not.toBe(schema.properties.nested);
  });

  it('keeps a property named __proto__ a property', () => {
    const schema = JSON.parse('{"type":"object","properties":{"__proto__":{"enum":["a"]}}}') as Schema;
    const props = fillMissingTypes(schema).schema.properties as Schema;
    expect(Object.getPrototypeOf(props)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(props, '__proto__')?.value).toEqual({
      enum: ['a'],
      type: 'string',
    });
  });

  it('ends on a cyclic object, filling each node once', () => {
    const node: Schema = { enum: ['x'] };
    node.properties = { self: node };
    const root: Schema = { type: 'object', properties: { node } };
    (root.properties as Schema).back = root;
    const fill = fillMissingTypes(root);
    expect(fill.filled).toEqual([{ path: 'properties.node', type: 'string' }]);
    expect(node).not.toHaveProperty('type');
  });

  it('walks an object shared by many places once (no exponential walk)', () => {
    // 20 levels, each referring twice to the next: 2^20 paths, 21 objects, each filled once (at
    // 40 levels a walk of every path would not end in any useful time).
    let shared: Schema = { enum: [1] };
    for (let i = 0; i < 20; i++) shared = { properties: { a: shared, b: shared } };
    const fill = fillMissingTypes({ type: 'object', properties: { top: shared } });
    expect(fill.filled).toHaveLength(21);
    const top = (fill.schema.properties as Record<string, Schema>).top?.properties as Record<string, unknown>;
    expect(top.a).toBe(top.b);
  });

  it(`stops ${KIMI_SCHEMA_MAX_DEPTH} levels below the root and sends deeper ones as given`, () => {
    let deep: Schema = { enum: ['leaf'] };
    for (let i = 0; i < 100_000; i++) deep = { properties: { p: deep } };
    const fill = fillMissingTypes({ type: 'object', properties: { p: deep } });
    expect(fill.filled).toHaveLength(KIMI_SCHEMA_MAX_DEPTH);
    expect(fill.filled.at(-1)?.path.split('.properties.')).toHaveLength(KIMI_SCHEMA_MAX_DEPTH);
    const small = fillMissingTypes(
      { type: 'object', properties: { a: { properties: { b: { properties: { c: {} } } } } } },
      2,
    );
    expect(small.filled.map((f) => f.path)).toEqual(['properties.a', 'properties.a.properties.b']);
  });
});

describe('kimiPrepare’s tool-schema rule', () => {
  const request = (tools: readonly ToolDefinition[], extra?: Schema): ChatRequest => ({
    model: 'moonshot-v1-8k',
    messages: [{ role: 'user', content: 'q' }],
    tools,
    ...(extra ? { extra } : {}),
  });
  const fn = (name: string, parameters: Schema): ToolDefinition => ({
    type: 'function',
    function: { name, parameters },
  });

  it('fills the function tools’ properties and says so in one note', () => {
    const tools = [
      fn('lookup', { type: 'object', properties: { mode: { enum: ['smart', 'full'] }, n: { minimum: 1 } } }),
      fn('typed', { type: 'object', properties: { q: { type: 'string' } } }),
      { type: 'builtin_function', function: { name: '$web_search' } },
    ];
    const { request: sent, notes } = kimiPrepare(request(tools), undefined);
    expect(notes).toEqual([
      'filled in `type` for 2 tool parameter properties: Moonshot refuses a property without one (`lookup` `properties.mode` as string, `lookup` `properties.n` as number)',
    ]);
    expect(sent.tools?.[0]?.function?.parameters).toEqual({
      type: 'object',
      properties: { mode: { enum: ['smart', 'full'], type: 'string' }, n: { minimum: 1, type: 'number' } },
    });
    expect(sent.tools?.[1]).toBe(tools[1]);
    expect(sent.tools?.[2]).toBe(tools[2]);
    expect(tools[0]?.function?.parameters).toEqual({
      type: 'object',
      properties: { mode: { enum: ['smart', 'full'] }, n: { minimum: 1 } },
    });
  });

  it('names at most three properties and counts the rest', () => {
    const properties = Object.fromEntries(['a', 'b', 'c', 'd', 'e'].map((k) => [k, { enum: [k] }]));
    const { notes } = kimiPrepare(request([fn('tool', { type: 'object', properties })]), undefined);
    expect(notes).toEqual([
      'filled in `type` for 5 tool parameter properties: Moonshot refuses a property without one (`tool` `properties.a` as string, `tool` `properties.b` as string, `tool` `properties.c` as string, 2 more)',
    ]);
  });

  it('says 1 property, and clips long names', () => {
    // 64 characters, the longest name Moonshot takes.
    const long = 'x'.repeat(64);
    const { notes } = kimiPrepare(
      request([fn(long, { type: 'object', properties: { m: { const: 1 } } })]),
      undefined,
    );
    expect(notes).toEqual([
      `filled in \`type\` for 1 tool parameter property: Moonshot refuses a property without one (\`${'x'.repeat(59)}…\` \`properties.m\` as integer)`,
    ]);
  });

  it('leaves the tools as they are when nothing needs a type, or they are not function tools', () => {
    const tools = [
      fn('typed', { type: 'object', properties: { q: { type: 'string' } } }),
      { type: 'builtin_function', function: { name: '$web_search', parameters: { properties: { x: {} } } } },
      { type: 'function', function: { name: 'bare' } },
    ];
    const prepared = kimiPrepare(request(tools), undefined);
    expect(prepared.notes).toEqual([]);
    expect(prepared.request.tools).toBe(tools);
  });

  it('reads tools given in extra as the body would send them', () => {
    const tools = [fn('tool', { type: 'object', properties: { m: { enum: ['a'] } } })];
    const { request: sent } = kimiPrepare(
      { model: 'moonshot-v1-8k', messages: [{ role: 'user', content: 'q' }], extra: { tools } },
      undefined,
    );
    expect(sent.tools?.[0]?.function?.parameters).toEqual({
      type: 'object',
      properties: { m: { enum: ['a'], type: 'string' } },
    });
    expect(sent.extra).toBeUndefined();
  });
});
