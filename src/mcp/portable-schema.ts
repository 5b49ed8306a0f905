/**
 * Tool schemas every client can read. zod's JSON Schema is correct but uses two forms some hosts
 * reject or ignore, which the MCP Inspector's strict schema-portability check flags:
 * - a `type` array (`["string", "null"]` for a nullable field) becomes `anyOf` of single types;
 * - a schema with no validation keyword (`{}`: any value, from `z.unknown()` or a loose object's
 *   extra properties) becomes `anyOf` of the six JSON types, or `true` for `additionalProperties`.
 * Both rewrites accept exactly the values the original accepted.
 */

/** Keywords that say what a schema accepts; a schema with none of them accepts anything. */
export const VALIDATION_KEYWORDS = ['type', 'enum', 'const', '$ref', 'anyOf', 'oneOf', 'allOf', 'not'];

const ANY_JSON = ['string', 'number', 'boolean', 'object', 'array', 'null'].map((type) => ({ type }));

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function unconstrained(node: Json): boolean {
  return !VALIDATION_KEYWORDS.some((key) => key in node);
}

export function portableSchema<T>(schema: T): T {
  return rewrite(schema) as T;
}

function rewrite(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(rewrite);
  if (!isObject(node)) return node;
  const out: Json = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === 'properties' && isObject(value)) {
      out[key] = Object.fromEntries(Object.entries(value).map(([name, prop]) => [name, rewriteSchema(prop)]));
    } else if (key === 'additionalProperties' && isObject(value) && unconstrained(value)) {
      out[key] = true;
    } else if (['items', 'additionalProperties', 'not'].includes(key) && isObject(value)) {
      out[key] = rewriteSchema(value);
    } else if (['anyOf', 'oneOf', 'allOf', 'prefixItems'].includes(key) && Array.isArray(value)) {
      out[key] = value.map(rewriteSchema);
    } else if ((key === '$defs' || key === 'definitions') && isObject(value)) {
      out[key] = Object.fromEntries(Object.entries(value).map(([name, def]) => [name, rewriteSchema(def)]));
    } else {
      out[key] = value;
    }
  }
  return out;
}

/** One subschema: its children rewritten, then its own `type` array or emptiness. */
function rewriteSchema(node: unknown): unknown {
  const done = rewrite(node);
  if (!isObject(done)) return done;
  if (Array.isArray(done.type)) {
    const { type, ...rest } = done;
    return { ...rest, anyOf: (type as string[]).map((t) => ({ type: t })) };
  }
  if (unconstrained(done)) return { ...done, anyOf: ANY_JSON };
  return done;
}
