/**
 * Moonshot's tool-schema rule: its validator refuses a tool whose parameter schema has a property
 * schema without `type` (400 "At path 'properties.X': type is not defined"), which JSON Schema
 * allows and MCP servers send (an enum-only `{ enum: ['smart', 'full'] }`). Moonshot's own client
 * fills the type in before sending (MoonshotAI/kimi-cli 995a180e); troupe does the same, with its
 * own walk. Pure.
 *
 * The root parameters object is a container and is left as it is. Every schema under `properties`,
 * `items` (one schema or a list), `additionalProperties` and the branches of `anyOf`, `oneOf` and
 * `allOf` gets a `type` when it has none, unless it is itself a combinator or a reference (it then
 * declares its shape without one). The type comes from `enum` or `const` values, else from the
 * keywords it uses, else `string`. The caller's object is never changed: what changes is copied.
 */

type Schema = Record<string, unknown>;

/** How deep the walk goes below the root, in schema levels; below that, sent as given. */
export const KIMI_SCHEMA_MAX_DEPTH = 64;

/** A node that gets no `type`: it declares its shape through these. */
const COMBINATORS = ['anyOf', 'oneOf', 'allOf', 'not', 'if', 'then', 'else', '$ref'] as const;

/** Keywords that only mean something for one type, checked in this order. */
const STRUCTURE: readonly (readonly [string, readonly string[]])[] = [
  [
    'object',
    [
      'properties',
      'additionalProperties',
      'patternProperties',
      'propertyNames',
      'required',
      'minProperties',
      'maxProperties',
    ],
  ],
  ['array', ['items', 'prefixItems', 'minItems', 'maxItems', 'uniqueItems', 'contains']],
  ['string', ['minLength', 'maxLength', 'pattern', 'format']],
  ['number', ['minimum', 'maximum', 'multipleOf', 'exclusiveMinimum', 'exclusiveMaximum']],
];

const BRANCHES = ['anyOf', 'oneOf', 'allOf'] as const;

/** One property schema that got a `type`: where (`properties.mode`) and which. */
export interface FilledType {
  readonly path: string;
  readonly type: string;
}

export interface TypeFill {
  /** The schema to send: the caller's own object when nothing was filled, else a copy. */
  readonly schema: Schema;
  readonly filled: readonly FilledType[];
}

interface Walk {
  readonly maxDepth: number;
  readonly filled: FilledType[];
  /** The nodes being walked: met again, an object refers to itself and is not walked twice. */
  readonly open: Set<object>;
  /** What each node became, so an object shared by several places is walked once. */
  readonly done: Map<object, unknown>;
}

/** Fills the missing `type`s of `schema`'s property schemas (see the module comment). */
export function fillMissingTypes(schema: Schema, maxDepth = KIMI_SCHEMA_MAX_DEPTH): TypeFill {
  const walk: Walk = { maxDepth, filled: [], open: new Set([schema]), done: new Map() };
  return { schema: children(schema, '', 1, walk), filled: walk.filled };
}

/** The type `values` share: one kind is that kind; integers with numbers, `number`; else `string`. */
export function typeOfValues(values: readonly unknown[]): string {
  const kinds = new Set(values.map(kindOf));
  if (kinds.size === 1 && !kinds.has(undefined)) return [...kinds][0] as string;
  if (kinds.size === 2 && kinds.has('integer') && kinds.has('number')) return 'number';
  return 'string';
}

function kindOf(value: unknown): string | undefined {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  switch (typeof value) {
    case 'boolean':
    case 'string':
    case 'object':
      return typeof value;
    case 'number':
      return Number.isInteger(value) ? 'integer' : 'number';
    default:
      // Not a JSON value (undefined, bigint, a function): as good as mixed.
      return undefined;
  }
}

/** The type a node without one is given. */
export function inferType(node: Schema): string {
  if (Array.isArray(node.enum) && node.enum.length > 0) return typeOfValues(node.enum);
  if ('const' in node) return typeOfValues([node.const]);
  for (const [type, keywords] of STRUCTURE) if (keywords.some((k) => node[k] !== undefined)) return type;
  return 'string';
}

function needsType(node: Schema): boolean {
  return node.type === undefined && !COMBINATORS.some((k) => node[k] !== undefined);
}

/** One property schema at `depth`: typed if it needs it, then its own children. */
function property(node: unknown, path: string, depth: number, walk: Walk): unknown {
  if (!isSchema(node) || depth > walk.maxDepth || walk.open.has(node)) return node;
  if (walk.done.has(node)) return walk.done.get(node);
  walk.open.add(node);
  let typed = node;
  if (needsType(node)) {
    const type = inferType(node);
    typed = { ...node, type };
    walk.filled.push({ path, type });
  }
  const result = children(typed, path, depth + 1, walk);
  walk.open.delete(node);
  walk.done.set(node, result);
  return result;
}

/** `node` with its child schemas walked; the same object when none changed. */
function children(node: Schema, path: string, depth: number, walk: Walk): Schema {
  const changes: [string, unknown][] = [];
  const at = (segment: string) => (path === '' ? segment : `${path}.${segment}`);
  const { properties, items, additionalProperties } = node;
  if (isSchema(properties)) {
    const entries = Object.entries(properties);
    const next = entries.map(([name, child]) => property(child, at(`properties.${name}`), depth, walk));
    // `fromEntries` defines each key, so a property named `__proto__` stays a property.
    if (next.some((child, i) => child !== entries[i]?.[1]))
      changes.push(['properties', Object.fromEntries(entries.map(([name], i) => [name, next[i]]))]);
  }
  if (Array.isArray(items)) {
    const next = items.map((child, i) => property(child, at(`items.${i}`), depth, walk));
    if (next.some((child, i) => child !== items[i])) changes.push(['items', next]);
  } else if (isSchema(items)) {
    const next = property(items, at('items'), depth, walk);
    if (next !== items) changes.push(['items', next]);
  }
  if (isSchema(additionalProperties)) {
    const next = property(additionalProperties, at('additionalProperties'), depth, walk);
    if (next !== additionalProperties) changes.push(['additionalProperties', next]);
  }
  for (const key of BRANCHES) {
    const branches = node[key];
    if (!Array.isArray(branches)) continue;
    const next = branches.map((child, i) => property(child, at(`${key}.${i}`), depth, walk));
    if (next.some((child, i) => child !== branches[i])) changes.push([key, next]);
  }
  return changes.length === 0 ? node : { ...node, ...Object.fromEntries(changes) };
}

/** A JSON Schema object: a plain object, not an array. */
export function isSchema(value: unknown): value is Schema {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
